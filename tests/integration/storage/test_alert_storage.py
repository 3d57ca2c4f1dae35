"""Each fact of an alert stored once (storage migration 0023), its timeline told as before.

Before 0023 every raise, resolution and ``AlertHandled`` was a row of ``alert_history``,
the first record of each event id kept; the timeline was those rows. That is the oracle
here: the timeline read now (``alert_history`` and the raise and resolution of the
``alerts`` row) must equal it, however the records are batched or redelivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from builders import at
from psycopg_pool import AsyncConnectionPool

from ecm.api.readmodel import ReadModel
from ecm.api.workflowreads import WorkflowReads
from ecm.contracts import AlertHandled, AlertRaised, AlertResolved, ContractEvent
from ecm.storage.migrate import migrate
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)
ALERT = "V7:not_arrived"
Alert = AlertRaised | AlertResolved | AlertHandled


@pytest.fixture
def clean(conn: psycopg.Connection) -> psycopg.Connection:
    yield conn
    conn.execute("TRUNCATE workflow_acts, alert_history")


def _raised(when: datetime, event_id: str = f"{ALERT}:raised") -> AlertRaised:
    return AlertRaised(
        event_id=event_id, occurred_at=when, alert_id=ALERT, kind="not_arrived",
        visit_id="V7", provider_id="P1", client_id="C1", lot_id="L1", due_at=at(MON, 9))


def _resolved(when: datetime, resolution: str = "checked_in",
              event_id: str = f"{ALERT}:resolved") -> AlertResolved:  # fmt: skip
    return AlertResolved(
        event_id=event_id, occurred_at=when, alert_id=ALERT, kind="not_arrived", visit_id="V7",
        provider_id="P1", resolution=resolution)


def _handled(action: str, tier: str, when: datetime, event_id: str, **fields: Any) -> AlertHandled:
    return AlertHandled(
        event_id=event_id, occurred_at=when, alert_id=ALERT, kind="not_arrived", visit_id="V7",
        provider_id="P1", client_id="C1", action=action, tier=tier,
        learned_at=when + timedelta(minutes=5), **{"by": "ecm", "by_role": "system", **fields})


ESCALATED = _handled("escalated", "council_duty", at(MON, 9, 15),
                     f"alert:{ALERT}:escalated:council_duty",
                     note="not acknowledged within 15 minutes")
ACKNOWLEDGED = _handled("acknowledged", "council_duty", at(MON, 9, 20), "ack-1:handled",
                        by="oncall", by_role="provider", caused_by="ack-1",
                        note="phoned the carer")


def _learned(events: Sequence[Alert]) -> dict[str, datetime]:
    """When ecm published each raise and resolution: a minute after it happened."""
    return {e.event_id: e.occurred_at + timedelta(minutes=1)
            for e in events if not isinstance(e, AlertHandled)}


def _as_before(batches: Sequence[Sequence[Alert]]) -> list[tuple[Any, ...]]:
    """The timeline as alert_history told it before 0023: each event id's first record."""
    first: dict[str, tuple[Any, ...]] = {}
    for batch in batches:
        learned = _learned(batch)
        for e in batch:
            if isinstance(e, AlertHandled):
                row = (e.event_id, e.action.value, e.tier.value, e.by, e.by_role.value, e.code,
                       e.note, e.occurred_at, e.learned_at)
            elif isinstance(e, AlertRaised):
                row = (e.event_id, "raised", "provider_on_call", "ecm", "system", None, None,
                       e.occurred_at, learned[e.event_id])
            else:
                row = (e.event_id, "resolved", None, "ecm", "system", e.resolution, None,
                       e.occurred_at, learned[e.event_id])
            first.setdefault(e.event_id, row)
    return sorted(first.values(), key=lambda r: (r[7], r[8], r[0]))


def _reads(dsn: str, call: str, key: str) -> Any:
    async def read() -> Any:
        async with AsyncConnectionPool(dsn, open=False, min_size=1, max_size=1) as pool:
            return await getattr(WorkflowReads(ReadModel(pool)), call)(key)
    return asyncio.run(read())


def _timeline(dsn: str) -> list[tuple[Any, ...]]:
    entries = _reads(dsn, "alert_timeline", ALERT)
    return [(t["event_id"], t["action"], t["tier"], t["by"], t["by_role"], t["code"],
             t["note"], t["occurred_at"], t["learned_at"]) for t in entries]  # fmt: skip


def _sink(conn: psycopg.Connection, batches: Sequence[Sequence[ContractEvent]]) -> list[int]:
    sink = OutcomeSink(conn)
    return [sink.write(b, _learned(b)).alert_history for b in batches]  # type: ignore[arg-type]


SEQUENCES = {
    "one batch": [[_raised(at(MON, 9)), ESCALATED, ACKNOWLEDGED, _resolved(at(MON, 9, 40))]],
    "a batch each": [[_raised(at(MON, 9))], [ESCALATED], [ACKNOWLEDGED],
                     [_resolved(at(MON, 9, 40))]],
    "resolved before raised": [[_resolved(at(MON, 9, 40))], [_raised(at(MON, 9)), ESCALATED]],
    "resolution moved earlier": [[_raised(at(MON, 9)), _resolved(at(MON, 9, 40))],
                                 [_resolved(at(MON, 9, 30), "cancelled")]],
    "raise moved earlier": [[_raised(at(MON, 9, 5))], [_raised(at(MON, 9))]],
    "raise told later ignored": [[_raised(at(MON, 9))], [_raised(at(MON, 9, 5))]],
    "other event ids": [[_raised(at(MON, 9), "ar-1"), _resolved(at(MON, 10), event_id="as-1")],
                        [_raised(at(MON, 8, 50), "ar-2"),
                         _resolved(at(MON, 10), event_id="as-2")]],
}


@pytest.mark.parametrize("name", SEQUENCES)
def test_an_alerts_timeline_is_as_before_and_a_redelivery_changes_nothing(
    clean: psycopg.Connection, dsn: str, name: str
) -> None:
    batches = SEQUENCES[name]
    _sink(clean, batches)
    told = _timeline(dsn)
    stored = clean.execute("SELECT * FROM alert_history ORDER BY 1, 2").fetchall()
    alert = clean.execute("SELECT * FROM alerts").fetchall()

    again = _sink(clean, batches)

    assert told == _as_before(batches)
    assert again == [0] * len(batches)
    assert clean.execute("SELECT * FROM alert_history ORDER BY 1, 2").fetchall() == stored
    assert clean.execute("SELECT * FROM alerts").fetchall() == alert
    assert _timeline(dsn) == told


def test_a_raise_and_resolution_as_ecm_sends_them_are_not_copied_to_the_history(
    clean: psycopg.Connection,
) -> None:
    _sink(clean, SEQUENCES["a batch each"])

    assert clean.execute("SELECT event_id, action FROM alert_history ORDER BY 2").fetchall() == [
        ("ack-1:handled", "acknowledged"), (None, "escalated")]
    assert clean.execute("SELECT raised_event_id, resolved_event_id FROM alerts").fetchall() == [
        (None, None)]


def test_a_visits_story_tells_its_alerts_raise_handling_and_resolution(
    clean: psycopg.Connection, dsn: str
) -> None:
    _sink(clean, SEQUENCES["a batch each"])

    story = _reads(dsn, "visit_story", "V7")["items"]

    assert [(s["what"], s["payload"]["by"], s["payload"]["code"]) for s in story] == [
        ("alert:raised", "ecm", None), ("alert:escalated", "ecm", None),
        ("alert:acknowledged", "oncall", None), ("alert:resolved", "ecm", "checked_in")]


def test_the_migration_keeps_only_the_history_rows_the_alerts_row_does_not_hold(
    clean: psycopg.Connection, dsn: str
) -> None:
    # As stored before 0023: every record a history row, the event ids on the alerts row.
    raised, first, moved = (_raised(at(MON, 9)), _resolved(at(MON, 9, 40)),
                            _resolved(at(MON, 9, 30), "cancelled"))
    clean.execute(
        "INSERT INTO alerts (alert_id, kind, visit_id, provider_id, client_id, lot_id, due_at,"
        " raised_at, raised_event_id, raised_learned_at, resolved_at, resolution,"
        " resolved_event_id, resolved_learned_at, tier)"
        " VALUES (%s, 'not_arrived', 'V7', 'P1', 'C1', 'L1', %s, %s, %s, %s, %s, %s, %s, %s,"
        " 'council_duty')",
        (ALERT, at(MON, 9), at(MON, 9), raised.event_id, at(MON, 9, 1), moved.occurred_at,
         "cancelled", moved.event_id, at(MON, 9, 31)))  # fmt: skip
    old = _as_before([[raised, ESCALATED, ACKNOWLEDGED, first], [moved]])
    for row in old:
        clean.execute("INSERT INTO alert_history (event_id, action, tier, by_user, by_role,"
                      " code, note, occurred_at, learned_at, alert_id)"
                      " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", (*row, ALERT))
    clean.execute("DELETE FROM schema_migrations WHERE version = '0023'")

    assert migrate(dsn) == ["0023"]

    # The raise is read from the alerts row; the first resolution told stays a row.
    assert clean.execute("SELECT event_id, action FROM alert_history ORDER BY 2").fetchall() == [
        ("ack-1:handled", "acknowledged"), (None, "escalated"),
        (f"{ALERT}:resolved", "resolved")]
    assert clean.execute("SELECT raised_event_id, resolved_event_id FROM alerts").fetchall() == [
        (None, None)]
    assert _timeline(dsn) == old
