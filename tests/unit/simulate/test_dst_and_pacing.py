from __future__ import annotations

from datetime import date, timedelta

import pytest

from ecm.contracts import VisitPlanned, parse_event
from ecm.simulate import Line, SimulationConfig
from ecm.simulate.clock import local_ts, to_local
from ecm.simulate.emit import paced

from .conftest import run_lines


@pytest.mark.parametrize("start", [date(2026, 10, 19), date(2026, 3, 23)])
def test_a_week_across_a_clock_change_is_valid_and_keeps_wall_clock_times(start: date) -> None:
    lines, _ = run_lines(SimulationConfig(seed=1, scale=0.01, weeks=2, start=start))
    planned = [
        e
        for x in lines
        if x.event_type == "visit_planned" and isinstance(e := parse_event(x.payload), VisitPlanned)
    ]
    offsets = {e.planned_start.utcoffset() for e in planned}
    assert offsets == {timedelta(0), timedelta(hours=1)}
    by_slot: dict[tuple[str, str], set[str]] = {}
    for e in planned:
        by_slot.setdefault((e.client_id, e.visit_id[-1]), set()).add(
            e.planned_start.strftime("%H:%M")
        )
    unchanged = sum(len(times) == 1 for times in by_slot.values())
    assert unchanged / len(by_slot) > 0.9  # runs keep their wall-clock times across the change


def test_local_times_on_the_autumn_change_day_are_25_hours_apart() -> None:
    day = date(2026, 10, 25)
    assert local_ts(day + timedelta(days=1), 0) - local_ts(day, 0) == 25 * 3600
    assert to_local(local_ts(day, 7 * 60)).isoformat() == "2026-10-25T07:00:00+00:00"


def test_live_mode_sleeps_until_each_arrival_scaled_by_speed() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    lines = [
        Line(0.0, b"{}", "reference", "k", "lot_defined"),
        Line(600.0, b"{}", "visit-events", "v", "visit_planned"),
        Line(1200.0, b"{}", "visit-events", "v", "carer_checked_in"),
    ]
    out = list(paced(lines, speed=60.0, clock=lambda: now[0], sleep=sleep))
    assert out == lines
    assert slept == [10.0]
