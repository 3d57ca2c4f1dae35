"""Two clocks, one answer: a week through the real broker equals ``ecm replay`` of it.

Each test publishes a generated multi-provider week (with duplicates, out-of-order
deliveries and malformed lines) with watermark ticks, runs real ``ecm worker``
processes against the real broker and database, and compares what they stored with
the in-process replay: every outcome, every alert, the open exceptions and every KPI.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from pipeline import (
    Derived,
    Pipeline,
    from_database,
    from_replay,
    replay_outcomes_normalised,
    weeks_of,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def assert_same(expected: Derived, got: Derived) -> None:
    """Every outcome, alert ("at risk" warnings included), open exception, KPI and rota
    realism row the same."""
    want = replay_outcomes_normalised(expected)
    assert set(got.outcomes) == set(want), "the same visits"
    different = [v for v in want if want[v] != got.outcomes[v]]
    assert not different, f"{len(different)} outcomes differ, e.g. {different[:3]}; " + ", ".join(
        f"{key}: replay {want[different[0]].get(key)!r} != stored "
        f"{got.outcomes[different[0]].get(key)!r}"
        for key in sorted(set(want[different[0]]) | set(got.outcomes[different[0]]))
        if want[different[0]].get(key) != got.outcomes[different[0]].get(key))
    assert got.alerts == expected.alerts
    assert got.exceptions == expected.exceptions
    assert got.kpis == expected.kpis
    assert expected.rota, "the week has planned carers"
    assert got.rota == expected.rota


def test_a_week_through_the_broker_gives_exactly_the_replay_results(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    expected = from_replay(simulated_week, tmp_path / "replay")
    pipeline.publish(simulated_week)
    pipeline.start_worker("1")
    pipeline.wait_until_idle()
    assert_same(expected, from_database(pipeline.dsn, weeks_of(expected)))


def test_workers_without_their_sink_and_ecm_sink_apart_give_the_replay_results(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    expected = from_replay(simulated_week, tmp_path / "replay")
    pipeline.publish(simulated_week)
    pipeline.start_worker("1", sink=False)
    pipeline.start_sink()
    pipeline.wait_until_idle()
    assert_same(expected, from_database(pipeline.dsn, weeks_of(expected)))


def test_a_worker_killed_mid_week_and_restarted_loses_and_repeats_nothing(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    expected = from_replay(simulated_week, tmp_path / "replay")
    pipeline.publish(simulated_week)
    total = pipeline.lag()
    pipeline.start_worker("1")
    pipeline.wait_for_progress(below=total * 2 // 3)
    pipeline.kill_worker("1", signal.SIGKILL)
    pipeline.start_worker("1")
    pipeline.wait_until_idle()
    assert_same(expected, from_database(pipeline.dsn, weeks_of(expected)))


def test_when_one_of_two_workers_stops_the_other_takes_over_its_partitions(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    expected = from_replay(simulated_week, tmp_path / "replay")
    pipeline.publish(simulated_week)
    total = pipeline.lag()
    pipeline.start_worker("1")
    pipeline.start_worker("2")
    pipeline.wait_for_members(2)  # worker 2 owns partitions before it goes
    pipeline.wait_for_progress(below=total * 2 // 3)
    pipeline.kill_worker("2", signal.SIGTERM)
    pipeline.wait_until_idle()
    _assert_same_or_tell(pipeline, expected)


def test_a_worker_stopped_a_second_after_joining_hands_back_all_it_took(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    """Partitions move twice within seconds, mid-replay: to worker 2, then back."""
    expected = from_replay(simulated_week, tmp_path / "replay")
    pipeline.publish(simulated_week)
    total = pipeline.lag()
    pipeline.start_worker("1")
    pipeline.wait_for_progress(below=total * 4 // 5)
    pipeline.start_worker("2")
    pipeline.wait_for_members(2)
    time.sleep(1)
    pipeline.kill_worker("2", signal.SIGTERM)
    pipeline.wait_until_idle()
    _assert_same_or_tell(pipeline, expected)


def _assert_same_or_tell(pipeline: Pipeline, expected: Derived) -> None:
    """``assert_same``; on failure, with what the broker holds about the first visit named."""
    got = from_database(pipeline.dsn, weeks_of(expected))
    try:
        assert_same(expected, got)
    except AssertionError as failure:
        differing = [v for v in sorted(got.outcomes) if v in str(failure)]
        raise AssertionError(f"{failure}\n{pipeline.story(differing[0])}"
                             if differing else failure) from None
