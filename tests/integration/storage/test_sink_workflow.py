"""The sink stores closing-the-loop records: acts, exception moves, alert handling, money."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from builders import alert_raised, alert_resolved, at, exception, outcome
from psycopg_pool import AsyncConnectionPool

from ecm.api.readmodel import ReadModel
from ecm.api.workflowreads import WorkflowReads
from ecm.contracts import (
    ActorRole,
    AlertAcknowledged,
    AlertHandled,
    AlertMonitoringSet,
    ExceptionExplained,
    ExceptionStatusChanged,
    ReasonCode,
    ReasonCodesPublished,
    VisitOutcomeRecordedV2,
)
from ecm.kpi import Period
from ecm.kpi.queries import kpis
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)
WEEK = Period.iso_week("2024-W23")


@pytest.fixture
def clean(conn: psycopg.Connection) -> psycopg.Connection:
    yield conn
    conn.execute("TRUNCATE workflow_acts, alert_history, reason_code_lists, alert_monitoring")


def _explained(event_id: str = "act-1") -> ExceptionExplained:
    return ExceptionExplained(
        event_id=event_id, occurred_at=at(MON, 14), visit_id="V2", provider_id="P1", by="u1",
        by_role=ActorRole.PROVIDER, exception_id="V2:no_check_in",
        reason_code="phone_battery_dead", note="flat battery")  # fmt: skip


def _moved(status: str, event_id: str, hour: int, code: str | None) -> ExceptionStatusChanged:
    return ExceptionStatusChanged(
        event_id=event_id, occurred_at=at(MON, hour), exception_id="V2:no_check_in",
        kind="no_check_in", visit_id="V2", provider_id="P1", status=status, code=code,
        by="u1", by_role=ActorRole.PROVIDER, learned_at=at(MON, hour, 1))  # fmt: skip


def _handled(action: str, tier: str, hour: int, **fields: Any) -> AlertHandled:
    return AlertHandled(
        event_id=f"V2:{action}:{tier}", occurred_at=at(MON, hour), alert_id="V2:missed",
        kind="missed", visit_id="V2", provider_id="P1", client_id="C1", action=action,
        tier=tier, learned_at=at(MON, hour, 2), **{"by": "ecm", "by_role": "system", **fields})


def _in_dispute(visit_id: str) -> VisitOutcomeRecordedV2:
    base = outcome(visit_id, MON).model_dump()
    base.update(schema_version=2, event_id=f"out2-{visit_id}", verification="in_dispute",
                verified_gbp=Decimal("0.00"), disputed_gbp=base["payable_gbp"])
    return VisitOutcomeRecordedV2.model_validate(base)


def _one(conn: psycopg.Connection, sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def test_an_explanation_and_its_status_are_stored_once_however_often_sent(
    clean: psycopg.Connection,
) -> None:
    sink = OutcomeSink(clean)
    batch = [exception("V2", "no_check_in", at(MON, 11)), _explained(),
             _moved("explained", "act-1:status", 14, "phone_battery_dead")]
    first = sink.write(batch)
    again = sink.write(batch)

    assert (first.workflow_acts, again.workflow_acts) == (1, 0)
    assert again.visit_exceptions == 0
    assert _one(clean, "SELECT event_type, code, by_user, note FROM workflow_acts") == (
        "exception_explained", "phone_battery_dead", "u1", "flat battery")
    assert _one(clean, "SELECT status, reason_code, explained_at, decided_at"
                       " FROM visit_exceptions") == (
        "explained", "phone_battery_dead", at(MON, 14), None)


def test_a_decision_moves_the_exception_and_an_older_move_resent_does_not_undo_it(
    clean: psycopg.Connection,
) -> None:
    sink = OutcomeSink(clean)
    explained = _moved("explained", "act-1:status", 14, "phone_battery_dead")
    accepted = _moved("accepted", "act-2:status", 16, "accepted_reason")
    sink.write([exception("V2", "no_check_in", at(MON, 11)), explained, accepted])
    sink.write([explained])  # a redelivery of the older record alone

    assert _one(clean, "SELECT status, status_code, reason_code, explained_at, decided_at"
                       " FROM visit_exceptions") == (
        "accepted", "accepted_reason", "phone_battery_dead", at(MON, 14), at(MON, 16))


def test_alert_handling_updates_the_alert_and_its_timeline_keeps_fact_and_learned_times(
    clean: psycopg.Connection, dsn: str,
) -> None:
    sink = OutcomeSink(clean)
    raised, resolved = alert_raised("V2", at(MON, 11)), alert_resolved("V2", at(MON, 12))
    ack = AlertAcknowledged(
        event_id="ack-1", occurred_at=at(MON, 11, 10), visit_id="V2", provider_id="P1",
        by="oncall", by_role=ActorRole.PROVIDER, alert_id="V2:missed",
        action_taken="phoned the carer")  # fmt: skip
    learned = {raised.event_id: at(MON, 11, 0) + timedelta(seconds=3),
               resolved.event_id: at(MON, 13)}
    batch = [raised, _handled("escalated", "council_duty", 11), ack,
             _handled("acknowledged", "council_duty", 11, by="oncall", by_role="provider",
                      caused_by="ack-1"),
             _handled("closed", "council_duty", 12, by="oncall", by_role="provider",
                      code="carer_sent"),
             resolved]
    sink.write(batch, learned)
    again = sink.write(batch, learned)

    assert again.alerts == again.alert_history == again.workflow_acts == 0
    assert _one(clean, "SELECT tier, acknowledged_by, action_taken, outcome_code, closed_at,"
                       " escalated_at, monitor_only, resolved_at, resolved_learned_at"
                       " FROM alerts") == (
        "council_duty", "oncall", "phoned the carer", "carer_sent", at(MON, 12), at(MON, 11),
        False, at(MON, 12), at(MON, 13))
    timeline = sorted((t["occurred_at"], t["action"], t["learned_at"])
                      for t in _alert_timeline(dsn, "V2:missed"))
    assert [t[1] for t in timeline] == ["acknowledged", "escalated", "raised", "closed",
                                        "resolved"]
    assert timeline[-1] == (at(MON, 12), "resolved", at(MON, 13))


def _alert_timeline(dsn: str, alert_id: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with AsyncConnectionPool(dsn, open=False, min_size=1, max_size=1) as pool:
            return await WorkflowReads(ReadModel(pool)).alert_timeline(alert_id)
    return asyncio.run(read())


def test_a_monitor_only_record_before_its_raise_makes_the_alert_monitor_only(
    clean: psycopg.Connection,
) -> None:
    OutcomeSink(clean).write([_handled("monitor_only", "provider_on_call", 11),
                              alert_raised("V2", at(MON, 11))])
    assert _one(clean, "SELECT monitor_only, raised_at FROM alerts") == (True, at(MON, 11))


def test_money_follows_verification_in_the_weekly_kpis(clean: psycopg.Connection) -> None:
    OutcomeSink(clean).write([outcome("V1", MON), _in_dispute("V2")])

    (row,) = kpis(clean, WEEK, "week")
    assert row["visits_verified"] == 1
    assert row["verified_gbp"] + row["disputed_gbp"] == row["payable_gbp"]
    assert row["disputed_gbp"] == _one(clean, "SELECT payable_gbp FROM visit_outcomes"
                                              " WHERE visit_id = 'V2'")[0]


def test_reason_codes_and_monitoring_are_stored_like_reference_data(
    clean: psycopg.Connection,
) -> None:
    codes = ReasonCodesPublished(
        event_id="codes-1", occurred_at=at(MON, 8), code_list_id="KCC", effective_from=MON,
        codes=(ReasonCode(code="phone_battery_dead", label="Phone battery dead",
                          purpose="explanation"),))  # fmt: skip
    monitoring = AlertMonitoringSet(
        event_id="mon-1", occurred_at=at(MON, 8), monitoring_id="M1", client_id="C1",
        starts=at(MON, 0), until=at(MON, 23), set_by="duty1", reason="in hospital")
    sink = OutcomeSink(clean)
    sink.write([codes, monitoring])
    assert sink.write([codes, monitoring]).reference == 0

    assert _one(clean, "SELECT codes -> 0 ->> 'code' FROM reason_code_lists") == (
        "phone_battery_dead",)
    assert _one(clean, "SELECT client_id, set_by FROM alert_monitoring") == ("C1", "duty1")
