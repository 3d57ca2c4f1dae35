"""Recalculation against the real database: noted when due, recorded, then applied once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from ecm import contracts as c
from ecm.kpi import Period as KpiPeriod
from ecm.kpi import weekly_kpis
from ecm.recalc import store
from ecm.recalc.diff import compare
from ecm.recalc.rejudge import Period, rejudge, rejudge_extract
from ecm.replay import parse_line, run
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

FIXTURE = Path(__file__).parents[2] / "fixtures" / "week_2026_w47.jsonl"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NEW_RATE = {"event_type": "rate_card_published", "event_id": "r-rc1-v2",
            "occurred_at": "2026-12-01T09:00:00Z", "rate_card_id": "RC-L1", "lot_id": "L1",
            "service": "home_care", "hourly_rate": "22.00",
            "rurality_weighting": {"rural_village_dispersed": "1.10"},
            "effective_from": "2026-11-01"}
FUTURE_RULE = {"event_type": "contract_rules_set", "event_id": "rules-next-year",
               "occurred_at": "2026-12-01T09:00:00Z", "rules_id": "next-year",
               "effective_from": "2027-01-01", "rules": {"punctuality_window_minutes": 10}}


def _events(lines: list[bytes]) -> list[c.ContractEvent]:
    events: list[c.ContractEvent] = []
    for raw in lines:
        try:
            events.append(parse_line(raw))
        except c.ContractError:
            continue  # the fixture has invalid lines on purpose
    return events


def _payable(conn: psycopg.Connection) -> Decimal:
    return sum((Decimal(r["payable_gbp"]) for r in weekly_kpis(conn, KpiPeriod.iso_week(
        "2026-W47"))), Decimal(0))


@pytest.fixture
def stored(conn: psycopg.Connection) -> psycopg.Connection:
    """The fixture week stored as the worker's sink stores it, judged as at NOW."""
    lines = FIXTURE.read_bytes().splitlines()
    result = run(lines, until=NOW)
    sink = OutcomeSink(conn)
    sink.write(_events(lines))
    sink.write([*result.outcomes, *result.alerts, *result.exceptions])
    conn.execute("TRUNCATE recalculations_due, recalculation_visits, recalculation_providers,"
                 " recalculations")
    return conn


def test_a_rate_published_for_the_past_is_noted_due_and_a_future_rule_is_not(
        stored: psycopg.Connection) -> None:
    OutcomeSink(stored).write([c.parse_event(NEW_RATE), c.parse_event(FUTURE_RULE)])
    due = store.due(stored)
    assert [(d.kind, d.record_id, d.effective_from.isoformat()) for d in due] == [
        ("rate_card", "RC-L1", "2026-11-01")]


def test_visits_judged_again_from_the_database_equal_those_judged_from_the_extract(
        stored: psycopg.Connection) -> None:
    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    period = Period(store.due(stored)[0].effective_from)
    from_db = rejudge(list(store.reference_records(stored)),
                      list(store.visit_events(stored, period)), period, NOW)
    lines = [*FIXTURE.read_bytes().splitlines(), json.dumps(NEW_RATE).encode()]
    assert from_db == rejudge_extract(lines, period, NOW)


def test_a_recalculation_is_recorded_then_applied_once_and_only_then_moves_the_kpis(
        stored: psycopg.Connection) -> None:
    before = _payable(stored)
    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    period = Period(store.due(stored)[0].effective_from)
    outcomes = rejudge(list(store.reference_records(stored)),
                       list(store.visit_events(stored, period)), period, NOW)
    diff = compare(store.stored_outcomes(stored, period), outcomes)
    assert diff.visits and diff.payable_after > diff.payable_before

    recalculation_id = store.record(stored, diff, period, reason="RC-L1 uplift", source="db",
                                    by="cm-1", covers=["r-rc1-v2"])
    assert store.due(stored) == []  # covered
    assert _payable(stored) == before  # recorded, not applied: nothing moved
    rows = stored.execute("SELECT visit_id, payable_before, payable_after FROM"
                          " recalculation_visits WHERE recalculation_id = %s",
                          (recalculation_id,)).fetchall()
    assert {r[0] for r in rows} == {v.visit_id for v in diff.visits}

    done = store.apply(stored, recalculation_id, by="cm-2")
    assert set(done.replaced) == {v.visit_id for v in diff.visits} and done.left == ()
    assert _payable(stored) == before + diff.payable_after - diff.payable_before
    assert compare(store.stored_outcomes(stored, period), outcomes).visits == []
    [listed] = store.recalculations(stored)
    assert (listed.applied_by, listed.visits_changed) == ("cm-2", len(diff.visits))
    # the record of what the figures were stays
    kept = stored.execute("SELECT count(*) FROM recalculation_visits WHERE recalculation_id"
                          " = %s", (recalculation_id,)).fetchone()
    assert kept == (len(diff.visits),)
    with pytest.raises(store.RecalculationError, match="was applied at"):
        store.apply(stored, recalculation_id, by="cm-2")


def test_a_visit_judged_again_by_the_worker_after_the_record_is_left_as_it_is(
        stored: psycopg.Connection) -> None:
    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    period = Period(store.due(stored)[0].effective_from)
    outcomes = rejudge(list(store.reference_records(stored)),
                       list(store.visit_events(stored, period)), period, NOW)
    diff = compare(store.stored_outcomes(stored, period), outcomes)
    recalculation_id = store.record(stored, diff, period, reason="uplift", source="db", by="a",
                                    covers=[])
    moved = diff.visits[0]
    newer = moved.outcome.model_copy(update={"event_id": "worker-newer",
                                             "occurred_at": NOW})
    OutcomeSink(stored).write([newer])
    done = store.apply(stored, recalculation_id, by="cm-2")
    assert moved.visit_id in done.left and moved.visit_id not in done.replaced


def test_a_recorded_recalculation_reads_back_as_it_was_computed(
        stored: psycopg.Connection) -> None:
    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    period = Period(date(2026, 11, 1))
    covers = [d.event_id for d in store.covered_by(stored, period)]
    recalculation_id, diff = store.recalculate(stored, period, NOW, reason="uplift", by="cm-1",
                                               covers=covers)
    recorded, loaded = store.load(stored, recalculation_id)
    assert (recorded.reason, recorded.created_by, recorded.visits_changed) == (
        "uplift", "cm-1", len(diff.visits))
    assert loaded.visits == diff.visits and loaded.providers == diff.providers
    assert store.due(stored) == []


def test_the_sink_records_a_recalculation_of_what_is_due_once_it_has_settled(
        stored: psycopg.Connection) -> None:
    assert store.recalculate_due(stored, NOW, by="ecm sink", settle_seconds=0) is None
    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    # noticed just now: its siblings may still be on their way
    assert store.recalculate_due(stored, NOW, by="ecm sink", settle_seconds=3600) is None
    assert not store.automatic_running(stored)
    with psycopg.connect(stored.info.dsn, password="ecm", autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (store.AUTOMATIC_LOCK,))
        assert store.automatic_running(stored)  # another sink: no child is started
        assert store.recalculate_due(stored, NOW, by="ecm sink", settle_seconds=0) is None
        # released by the other sink itself: a closed connection's backend may hold its
        # locks for a moment after the client has gone
        other.execute("SELECT pg_advisory_unlock(%s)", (store.AUTOMATIC_LOCK,))
    assert not store.automatic_running(stored)
    done = store.recalculate_due(stored, NOW, by="ecm sink", settle_seconds=0)
    assert done is not None
    recalculation_id, diff = done
    assert diff.visits and diff.payable_after > diff.payable_before
    [listed] = store.recalculations(stored)
    assert (listed.recalculation_id, listed.created_by, listed.applied_at) == (
        recalculation_id, "ecm sink", None)
    assert listed.reason == ("automatic: rate_card RC-L1 effective 2026-11-01, recorded"
                             " 2026-12-01")
    assert store.due(stored) == []
    assert store.recalculate_due(stored, NOW, by="ecm sink", settle_seconds=0) is None


def test_a_change_noted_while_a_recalculation_runs_stays_due(
        stored: psycopg.Connection) -> None:
    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    period = Period(date(2026, 11, 1))
    outcomes = rejudge(list(store.reference_records(stored)),
                       list(store.visit_events(stored, period)), period, NOW)
    later = {**NEW_RATE, "event_id": "r-rc1-v3", "hourly_rate": "23.00"}
    OutcomeSink(stored).write([c.parse_event(later)])  # not judged under by `outcomes`
    store.record(stored, compare(store.stored_outcomes(stored, period), outcomes), period,
                 reason="uplift", source="db", by="cm-1", covers=["r-rc1-v2"])
    assert [d.event_id for d in store.due(stored)] == ["r-rc1-v3"]


def test_applying_a_recalculation_that_does_not_exist_names_it(conn: psycopg.Connection) -> None:
    with pytest.raises(store.RecalculationError, match="recalculation_id: nope does not exist"):
        store.apply(conn, "nope", by="cm-1")


def test_ecm_recalc_due_run_list_and_apply_from_the_command_line(
        stored: psycopg.Connection, dsn: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ecm.cli import app

    OutcomeSink(stored).write([c.parse_event(NEW_RATE)])
    cli = CliRunner()
    due = cli.invoke(app, ["recalc", "due", "--dsn", dsn])
    assert "rate_card RC-L1 effective 2026-11-01" in due.output
    ran = cli.invoke(app, ["recalc", "--due", "--by", "cm-1", "--reason", "uplift",
                           "--out", str(tmp_path), "--now", "2026-12-01T12:00:00+0000",
                           "--dsn", dsn])
    assert ran.exit_code == 0, ran.output
    recalculation_id = ran.output.split("recorded ")[1].split()[0]
    assert "Nothing has changed yet" in (tmp_path / "summary.md").read_text()
    shown = cli.invoke(app, ["recalc", "show", recalculation_id, "--out",
                             str(tmp_path / "shown"), "--dsn", dsn])
    assert shown.exit_code == 0, shown.output
    for name in ("visits.csv", "providers.csv", "summary.md"):  # as first written
        assert (tmp_path / "shown" / name).read_text() == (tmp_path / name).read_text()
    listed = cli.invoke(app, ["recalc", "list", "--dsn", dsn])
    assert recalculation_id in listed.output and "not applied" in listed.output
    applied = cli.invoke(app, ["recalc", "apply", recalculation_id, "--by", "cm-2",
                               "--dsn", dsn])
    assert applied.exit_code == 0 and "outcomes replaced" in applied.output
    again = cli.invoke(app, ["recalc", "apply", recalculation_id, "--by", "cm-2", "--dsn", dsn])
    assert again.exit_code == 1 and "was applied at" in again.output
    cli.invoke(app, ["recalc", "show", recalculation_id, "--out", str(tmp_path / "after"),
                     "--dsn", dsn])
    assert "by cm-2: the stored outcomes and the KPIs show" in (
        tmp_path / "after" / "summary.md").read_text()
    missing = cli.invoke(app, ["recalc", "show", "nope", "--out", str(tmp_path), "--dsn", dsn])
    assert missing.exit_code == 1 and "recalculation_id: nope does not exist" in missing.output
    assert "no retroactive change is due" in cli.invoke(
        app, ["recalc", "due", "--dsn", dsn]).output


def test_the_sinks_own_role_may_store_a_backdated_rate_note_it_and_record_it(
        stored: psycopg.Connection, dsn: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    params.update(user="ecm_sink", password="ecm")
    with psycopg.connect(make_conninfo(**params), autocommit=True) as sink_conn:
        OutcomeSink(sink_conn).write([c.parse_event(NEW_RATE)])
        assert [d.event_id for d in store.due(stored)] == ["r-rc1-v2"]
        done = store.recalculate_due(sink_conn, NOW, by="ecm sink", settle_seconds=0)
    assert done is not None and store.due(stored) == []
