"""Recalculation over an extract: a rate and a rule published for the past, compared."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecm import contracts as c
from ecm.cli import app
from ecm.recalc.diff import compare, figures_of
from ecm.recalc.rejudge import Period, rejudge_extract
from ecm.replay import run

FIXTURE = Path(__file__).parents[2] / "fixtures" / "week_2026_w47.jsonl"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))

# Published on 1 December, effective from 1 November: L1's rate goes up by a pound, and
# the on-time window of every lot narrows to 5 minutes.
NEW_RATE = {"event_type": "rate_card_published", "event_id": "r-rc1-v2",
            "occurred_at": "2026-12-01T09:00:00Z", "rate_card_id": "RC-L1", "lot_id": "L1",
            "service": "home_care", "hourly_rate": "22.00",
            "rurality_weighting": {"rural_village_dispersed": "1.10"},
            "effective_from": "2026-11-01"}
NEW_RULE = {"event_type": "contract_rules_set", "event_id": "rules-5min",
            "occurred_at": "2026-12-01T09:00:00Z", "rules_id": "tight-window",
            "effective_from": "2026-11-01", "rules": {"punctuality_window_minutes": 5}}


def _lines(*extra: dict[str, object]) -> list[bytes]:
    return FIXTURE.read_bytes().splitlines() + [json.dumps(e).encode() for e in extra]


def _stored() -> dict[str, c.VisitOutcomeRecorded]:
    return {o.visit_id: o for o in run(_lines(), until=NOW).outcomes}


def test_nothing_published_for_the_past_changes_nothing() -> None:
    diff = compare(_stored(), rejudge_extract(_lines(), WEEK, NOW))
    assert diff.visits == [] and diff.visits_judged == len(_stored())
    assert diff.payable_after == diff.payable_before


def test_a_rate_published_for_the_past_changes_the_money_of_the_lots_visits_only() -> None:
    stored = _stored()
    diff = compare(stored, rejudge_extract(_lines(NEW_RATE), WEEK, NOW))
    changed = {v.visit_id: v for v in diff.visits}
    assert changed
    for visit_id, change in changed.items():
        assert stored[visit_id].lot_id == "L1"
        assert "judged_by" in change.changes
        assert change.after.judged_by is not None and "RC-L1@2026-11-01" in change.after.judged_by
    paid = [v for v in changed.values() if v.before and v.before.payable_gbp > 0]
    assert paid and all(v.payable_delta > 0 and "payable_gbp" in v.changes for v in paid)
    expected = sum((v.payable_delta for v in changed.values()), Decimal(0))
    assert diff.payable_after - diff.payable_before == expected


def test_a_rule_published_for_the_past_turns_visits_late_and_says_which_rules() -> None:
    diff = compare(_stored(), rejudge_extract(_lines(NEW_RULE), WEEK, NOW))
    moved = [v for v in diff.visits if "punctuality" in v.changes]
    assert moved, "a 5-minute window makes some on-time arrivals early or late"
    assert all(v.before and v.before.punctuality == "on_time" for v in moved)
    assert all(v.after.judged_by and "tight-window@2026-11-01" in v.after.judged_by
               for v in diff.visits)


def test_per_provider_totals_add_up_to_the_whole() -> None:
    diff = compare(_stored(), rejudge_extract(_lines(NEW_RATE, NEW_RULE), WEEK, NOW))
    providers = diff.providers.values()
    assert sum(p.visits_judged for p in providers) == diff.visits_judged
    assert sum(p.visits_changed for p in providers) == len(diff.visits)
    assert sum((p.payable_delta for p in providers), Decimal(0)) == (
        diff.payable_after - diff.payable_before)


def test_an_outcome_of_version_1_compares_neither_trust_nor_rules() -> None:
    new = run(_lines(), until=NOW).outcomes[0]
    fields = new.model_dump(include=set(c.VisitOutcomeRecorded.model_fields))
    old = c.VisitOutcomeRecorded(**{**fields, "schema_version": 1})
    assert figures_of(old).trust_score is None
    assert compare({old.visit_id: old}, [new]).visits == []


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="to: 2026-11-01 is before from: 2026-11-16"):
        Period(date(2026, 11, 16), date(2026, 11, 1))


def test_ecm_recalc_run_against_a_baseline_file_writes_the_report(tmp_path: Path) -> None:
    replay_out = tmp_path / "before"
    assert CliRunner().invoke(app, ["replay", str(FIXTURE), "--out", str(replay_out),
                                    "--until", "2026-12-01T12:00:00+00:00"]).exit_code in (0, 1)
    extract = tmp_path / "extract.jsonl"
    extract.write_bytes(b"\n".join(_lines(NEW_RATE)) + b"\n")
    result = CliRunner().invoke(app, [
        "recalc", "--from", "2026-11-16", "--to", "2026-11-22", "--events", str(extract),
        "--baseline", str(replay_out / "outcomes.jsonl"), "--out", str(tmp_path / "diff"),
        "--by", "cm-1", "--now", "2026-12-01T12:00:00+0000"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "diff" / "providers.csv").open() as handle:
        providers = list(csv.DictReader(handle))
    assert any(Decimal(p["payable_delta"]) > 0 for p in providers)
    with (tmp_path / "diff" / "visits.csv").open() as handle:
        visits = list(csv.DictReader(handle))
    assert visits and all("RC-L1@2026-11-01" in v["judged_by_after"] for v in visits)
    summary = (tmp_path / "diff" / "summary.md").read_text()
    assert ("this comparison was made without a database, so it was not recorded and "
            "cannot be applied." in summary)
    assert "ecm recalc apply" not in summary


@pytest.mark.parametrize(("changed", "applied_at", "says"), [
    (3, None, "Nothing has changed yet"),
    (0, None, "Nothing to apply: no visit's figures change."),
    (3, datetime(2026, 12, 2, 9, 30, tzinfo=UTC), "Applied 2026-12-02 09:30 UTC by cm-2"),
])
def test_a_recorded_recalculation_says_where_it_stands(
        changed: int, applied_at: datetime | None, says: str) -> None:
    from ecm.recalc.report import stands

    text = stands("recalc-1", changed, applied_at, "cm-2" if applied_at else None)
    assert text.startswith(says)
    assert ("ecm recalc apply recalc-1" in text) == (changed > 0 and applied_at is None)
