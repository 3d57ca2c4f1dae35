"""The simulator's ground truth: planned carers on the wire, gaps made too short, causes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecm import contracts as c
from ecm.cli import app
from ecm.simulate import SimulationConfig, simulate
from ecm.simulate.rota import squeezes_gaps
from ecm.simulate.truth import names_planned_carers, truth_path

CONFIG = SimulationConfig(seed=5, scale=0.03, weeks=1, malformed_rate=0.0)


@pytest.fixture(scope="module")
def run() -> tuple[list[c.ContractEvent], list[dict[str, Any]]]:
    truth: list[dict[str, Any]] = []
    events = [c.parse_event(line.payload) for line in simulate(CONFIG, truth=truth.extend)]
    return events, truth


def test_providers_that_name_carers_send_version_2_plans_and_the_others_version_1(
    run: tuple[list[c.ContractEvent], list[dict[str, Any]]],
) -> None:
    events, _ = run
    plans = [e for e in events if isinstance(e, c.VisitPlanned)]
    named = [e for e in plans if isinstance(e, c.VisitPlannedV2)]
    assert {names_planned_carers(e.provider_id) for e in named} == {True}
    assert all(not isinstance(e, c.VisitPlannedV2) for e in plans
               if not names_planned_carers(e.provider_id))
    assert len(named) > 0.8 * len(plans)
    assert all(len(e.planned_carer_ids) == e.carers_required for e in named)


def test_only_squeezing_providers_make_gaps_too_short_on_purpose_and_they_are(
    run: tuple[list[c.ContractEvent], list[dict[str, Any]]],
) -> None:
    _, truth = run
    gaps = [t for t in truth if t["record"] == "gap"]
    deliberate = [t for t in gaps if t["deliberate"]]
    assert len(deliberate) > 20
    assert {squeezes_gaps(t["provider_id"]) for t in deliberate} == {True}
    short = sum(t["too_short"] for t in deliberate)
    assert short >= 0.95 * len(deliberate)  # a later change can give one its time back
    assert all(t["gap_minutes"] < t["travel_minutes"] for t in deliberate if t["too_short"])


def test_every_late_or_missed_visit_says_why(
    run: tuple[list[c.ContractEvent], list[dict[str, Any]]],
) -> None:
    events, truth = run
    visits = [t for t in truth if t["record"] == "visit"]
    causes = Counter(t["cause"] for t in visits)
    assert {"previous_overran", "carer_late", "rota_gap_too_short"} <= set(causes)
    assert all(t["outcome"] in ("late", "missed") and t["cause"] for t in visits)
    checked_in = {e.visit_id for e in events if isinstance(e, c.CarerCheckedIn)}
    for t in visits:
        assert (t["visit_id"] in checked_in) == (t["outcome"] == "late"), t
        assert (t["lateness_minutes"] is None) == (t["outcome"] == "missed")
        assert t["lateness_minutes"] is None or t["lateness_minutes"] >= 15


def test_a_stand_in_named_by_a_rota_change_is_the_planned_carer_in_the_truth(
    run: tuple[list[c.ContractEvent], list[dict[str, Any]]],
) -> None:
    events, truth = run
    recrewed = {e.visit_id: e.planned_carer_ids for e in events
                if isinstance(e, c.VisitChangedV2) and e.planned_carer_ids is not None}
    assert recrewed
    planned = {t["visit_id"]: tuple(t["planned_carer_ids"]) for t in truth
               if t["record"] == "visit"}
    assert all(planned[v] == carers for v, carers in recrewed.items() if v in planned)


def test_the_cli_writes_the_same_ground_truth_next_to_the_events(tmp_path: Path) -> None:
    truths = []
    for name in ("a.jsonl", "b.jsonl"):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["simulate", "--seed", "3", "--scale", "0.01",
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert truth_path(str(out)) == tmp_path / name.replace(".jsonl", ".truth.jsonl")
        truths.append(truth_path(str(out)).read_bytes())
    assert truths[0] == truths[1] and truths[0]
    assert all(json.loads(line)["record"] in ("visit", "gap") for line in truths[0].splitlines())
