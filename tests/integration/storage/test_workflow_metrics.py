"""Every gauge of the workflow collector, read from a real PostgreSQL the sink wrote to.

Times are relative to now: the gauges look at the last 30 days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from builders import alert_raised, alert_resolved, exception, outcome
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ecm.contracts import (
    ActorRole,
    AlertHandled,
    AlertKind,
    AlertRaised,
    ContractEvent,
    ExceptionDecided,
    ExceptionExplained,
    ExceptionStatusChanged,
    VisitExceptionRaised,
    VisitOutcomeRecordedV2,
)
from ecm.kpi.workflow_metrics import WorkflowCollector
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
BASE = NOW - timedelta(days=2)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
Samples = dict[tuple[tuple[str, str], ...], float]


@pytest.fixture
def clean(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    yield conn
    conn.execute("TRUNCATE workflow_acts, alert_history, reason_code_lists, alert_monitoring")


def _scrape(dsn: str) -> dict[str, Samples]:
    registry = CollectorRegistry()
    registry.register(WorkflowCollector(dsn))
    families: dict[str, Samples] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            families.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return families


# --------------------------------------------------------------------------- exceptions


def _raised(visit_id: str, provider_id: str, at: datetime) -> VisitExceptionRaised:
    return exception(visit_id, "no_check_in", at).model_copy(update={"provider_id": provider_id})


def _explained(visit_id: str, provider_id: str, act: str, at: datetime) -> ExceptionExplained:
    return ExceptionExplained(
        event_id=act, occurred_at=at, visit_id=visit_id, provider_id=provider_id, by="u1",
        by_role=ActorRole.PROVIDER, exception_id=f"{visit_id}:no_check_in",
        reason_code="phone_battery_dead")  # fmt: skip


def _decided(visit_id: str, provider_id: str, act: str, at: datetime,
             decision: str = "accepted") -> ExceptionDecided:  # fmt: skip
    return ExceptionDecided(
        event_id=act, occurred_at=at, visit_id=visit_id, provider_id=provider_id, by="cm1",
        by_role=ActorRole.CONTRACT_MANAGER, exception_id=f"{visit_id}:no_check_in",
        decision=decision, resolution_code=f"explanation_{decision}")  # fmt: skip


def _moved(act: ExceptionExplained | ExceptionDecided, status: str) -> ExceptionStatusChanged:
    """What the engine publishes when it accepts ``act`` (id ``{act}:status``)."""
    code = act.reason_code if isinstance(act, ExceptionExplained) else act.resolution_code
    return ExceptionStatusChanged(
        event_id=f"{act.event_id}:status", occurred_at=act.occurred_at,
        exception_id=act.exception_id, kind="no_check_in", visit_id=act.visit_id,
        provider_id=act.provider_id, status=status, code=code, by=act.by,
        by_role=act.by_role, caused_by=act.event_id, learned_at=act.occurred_at + MINUTE)


def _accepted(*acts: tuple[ExceptionExplained | ExceptionDecided, str]) -> list[ContractEvent]:
    return [event for act, status in acts for event in (act, _moved(act, status))]


def _exception_story() -> list[ContractEvent]:
    """Four exceptions with acts: first explanations, decisions, re-explanations, refusals."""
    old = NOW - timedelta(days=40)
    return [
        # V1 (P1): explained after 1 h, rejected 1 h later, explained again, accepted.
        _raised("V1", "P1", BASE),
        *_accepted((_explained("V1", "P1", "v1-e1", BASE + HOUR), "explained"),
                   (_decided("V1", "P1", "v1-d1", BASE + 2 * HOUR, "rejected"), "rejected"),
                   (_explained("V1", "P1", "v1-e2", BASE + 5 * HOUR), "explained"),
                   (_decided("V1", "P1", "v1-d2", BASE + 6 * HOUR), "accepted")),
        # V2 (P2): an explanation and a decision the engine refused (no move published).
        _raised("V2", "P2", BASE),
        _explained("V2", "P2", "v2-e1", BASE + HOUR),
        _decided("V2", "P2", "v2-d1", BASE + 2 * HOUR),
        # V3 (P1): explained after 3 h; a decision the engine refused.
        _raised("V3", "P1", BASE),
        *_accepted((_explained("V3", "P1", "v3-e1", BASE + 3 * HOUR), "explained")),
        _decided("V3", "P1", "v3-d1", BASE + 4 * HOUR),
        # V4 (P2): explained after 2 h, accepted 4 h later.
        _raised("V4", "P2", BASE),
        *_accepted((_explained("V4", "P2", "v4-e1", BASE + 2 * HOUR), "explained"),
                   (_decided("V4", "P2", "v4-d1", BASE + 6 * HOUR), "accepted")),
        # V5 (P1): explained and decided 39 days ago: outside the 30 days.
        _raised("V5", "P1", old),
        *_accepted((_explained("V5", "P1", "v5-e1", old + HOUR), "explained"),
                   (_decided("V5", "P1", "v5-d1", old + 2 * HOUR), "accepted")),
    ]


def test_time_to_explain_runs_from_the_raise_to_the_first_explanation_the_engine_accepted(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write(_exception_story())
    gauges = _scrape(dsn)

    # V1 1 h (its first explanation, not the second), V4 2 h, V3 3 h; V2 refused, V5 old.
    assert gauges["ecm_workflow_time_to_explain_seconds"] == {
        (("quantile", "0.5"),): 7200.0, (("quantile", "0.9"),): 10080.0}
    assert gauges["ecm_workflow_provider_time_to_explain_seconds"] == {
        (("provider_id", "P1"), ("quantile", "0.5")): 7200.0,
        (("provider_id", "P1"), ("quantile", "0.9")): 10080.0,
        (("provider_id", "P2"), ("quantile", "0.5")): 7200.0,
        (("provider_id", "P2"), ("quantile", "0.9")): 7200.0,
    }


def test_time_to_decide_runs_from_that_explanation_to_the_first_decision_on_it(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write(_exception_story())
    gauges = _scrape(dsn)

    # V1: 1 h to its rejection; V4: 4 h; V3's refused decision does not count.
    assert gauges["ecm_workflow_time_to_decide_seconds"] == {
        (("quantile", "0.5"),): 9000.0, (("quantile", "0.9"),): 13320.0}
    assert gauges["ecm_workflow_provider_time_to_decide_seconds"] == {
        (("provider_id", "P1"), ("quantile", "0.5")): 3600.0,
        (("provider_id", "P1"), ("quantile", "0.9")): 3600.0,
        (("provider_id", "P2"), ("quantile", "0.5")): 14400.0,
        (("provider_id", "P2"), ("quantile", "0.9")): 14400.0,
    }


def test_without_moves_stored_yet_the_spans_come_from_the_moves_times(
    clean: psycopg.Connection, dsn: str
) -> None:
    explained = _explained("V6", "P1", "v6-e1", BASE + HOUR)
    OutcomeSink(clean).write([_raised("V6", "P1", BASE), _moved(explained, "explained")])
    assert _scrape(dsn)["ecm_workflow_time_to_explain_seconds"] == {
        (("quantile", "0.5"),): 3600.0, (("quantile", "0.9"),): 3600.0}


def test_exceptions_are_counted_by_provider_status_reason_and_age(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write(_exception_story())
    assert _scrape(dsn)["ecm_workflow_exceptions"] == {
        (("age", "1d_3d"), ("provider_id", "P1"), ("reason_code", "phone_battery_dead"),
         ("status", "accepted")): 1.0,
        (("age", "1d_3d"), ("provider_id", "P1"), ("reason_code", "phone_battery_dead"),
         ("status", "explained")): 1.0,
        (("age", "1d_3d"), ("provider_id", "P2"), ("reason_code", "none"),
         ("status", "open")): 1.0,
        (("age", "1d_3d"), ("provider_id", "P2"), ("reason_code", "phone_battery_dead"),
         ("status", "accepted")): 1.0,
        (("age", "gt_7d"), ("provider_id", "P1"), ("reason_code", "phone_battery_dead"),
         ("status", "accepted")): 1.0,
    }  # fmt: skip


def test_with_nothing_explained_no_duration_is_exported(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write([_raised("V1", "P1", BASE)])
    gauges = _scrape(dsn)
    assert "ecm_workflow_time_to_explain_seconds" not in gauges
    assert "ecm_workflow_provider_time_to_decide_seconds" not in gauges


# --------------------------------------------------------------------------- alerts


def _alert(visit_id: str, at: datetime, kind: AlertKind = AlertKind.MISSED) -> AlertRaised:
    raised = alert_raised(visit_id, at)
    return raised.model_copy(update={"alert_id": f"{visit_id}:{kind.value}", "kind": kind})


def _handled(raised: AlertRaised, action: str, tier: str, at: datetime,
             **fields: Any) -> AlertHandled:  # fmt: skip
    """An ``alert_handled`` record; by default ecm's own (an escalation on timeout)."""
    who = {"by": "ecm", "by_role": "system", **fields}
    return AlertHandled(
        event_id=f"{raised.alert_id}:{action}:{tier}", occurred_at=at, alert_id=raised.alert_id,
        kind=raised.kind, visit_id=raised.visit_id, provider_id="P1", client_id="C1",
        action=action, tier=tier, learned_at=at + MINUTE, **who)  # fmt: skip


def _timed_out(raised: AlertRaised, *tiers: str) -> list[AlertHandled]:
    """The engine's escalations on timeout, 15 minutes apart (the contract's minutes)."""
    return [_handled(raised, "escalated", tier, raised.occurred_at + (i + 1) * 15 * MINUTE)
            for i, tier in enumerate(tiers)]


def _acknowledged(raised: AlertRaised, tier: str, after: timedelta) -> AlertHandled:
    return _handled(raised, "acknowledged", tier, raised.occurred_at + after, by="oncall",
                    by_role="provider", note="phoned the carer")


def _alert_story() -> list[ContractEvent]:
    """Alerts escalated, acknowledged in and out of time, closed, resolved, monitor-only."""
    council = _alert("V10", BASE)                      # escalated, nobody acknowledged
    manager = _alert("V11", BASE)                      # escalated twice, nobody acknowledged
    in_time = _alert("V12", BASE)                      # acknowledged before any timeout
    late = _alert("V13", BASE)                         # acknowledged after a timeout
    resolved = _alert("V14", BASE)                     # escalated, then a late check-in
    closed = _alert("V15", BASE)                       # escalated, then closed
    monitored = _alert("V16", BASE)                    # monitor-only, escalated by hand
    by_hand = _alert("V18", BASE)                      # escalated by hand, then acknowledged
    not_arrived = _alert("V19", BASE, AlertKind.NOT_ARRIVED)
    # Raised 20 minutes ago, under a service rule escalating after 45: not escalated yet.
    recent = _alert("V20", NOW - 20 * MINUTE)
    duty = {"by": "d1", "by_role": "duty_officer"}
    return [
        council, *_timed_out(council, "council_duty"),
        manager, *_timed_out(manager, "council_duty", "manager"),
        in_time, _acknowledged(in_time, "provider_on_call", 10 * MINUTE),
        late, *_timed_out(late, "council_duty"), _acknowledged(late, "council_duty", 20 * MINUTE),
        resolved, *_timed_out(resolved, "council_duty"),
        alert_resolved("V14", BASE + HOUR),
        closed, *_timed_out(closed, "council_duty"),
        _handled(closed, "closed", "council_duty", BASE + 40 * MINUTE, code="client_safe", **duty),
        _handled(monitored, "monitor_only", "provider_on_call", BASE), monitored,
        _handled(monitored, "escalated", "manager", BASE + 5 * MINUTE, **duty),
        by_hand, _handled(by_hand, "escalated", "manager", BASE + 5 * MINUTE, **duty),
        _acknowledged(by_hand, "manager", 20 * MINUTE),
        not_arrived, *_timed_out(not_arrived, "council_duty"),
        recent,
    ]


def test_unacknowledged_alerts_past_escalation_are_those_the_engine_escalated(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write(_alert_story())
    assert _scrape(dsn)["ecm_alerts_unacknowledged_past_escalation"] == {
        (("kind", "missed"), ("tier", "council_duty")): 1.0,
        (("kind", "missed"), ("tier", "manager")): 1.0,
        (("kind", "not_arrived"), ("tier", "council_duty")): 1.0,
    }


def test_an_old_alert_the_engine_never_escalated_is_not_past_escalation(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write([_alert("V9", NOW - 3 * HOUR)])
    gauges = _scrape(dsn)
    assert gauges.get("ecm_alerts_unacknowledged_past_escalation", {}) == {}
    assert gauges["ecm_workflow_metrics_up"] == {(): 1.0}


def test_an_acknowledgement_is_within_target_unless_the_engine_escalated_first(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write(_alert_story())
    assert _scrape(dsn)["ecm_workflow_alerts_acknowledged"] == {
        (("kind", "missed"), ("within_target", "true")): 2.0,   # V12, and V18 (by hand)
        (("kind", "missed"), ("within_target", "false")): 1.0,  # V13
    }


def test_escalated_and_closed_alerts_are_counted_by_tier_and_outcome(
    clean: psycopg.Connection, dsn: str
) -> None:
    OutcomeSink(clean).write(_alert_story())
    gauges = _scrape(dsn)
    assert gauges["ecm_workflow_alerts_escalated"] == {
        (("kind", "missed"), ("tier", "council_duty")): 4.0,  # V10, V13, V14, V15
        (("kind", "missed"), ("tier", "manager")): 3.0,       # V11, V16, V18
        (("kind", "not_arrived"), ("tier", "council_duty")): 1.0,
    }
    assert gauges["ecm_workflow_alerts_closed"] == {
        (("kind", "missed"), ("outcome_code", "client_safe")): 1.0}


# --------------------------------------------------------------------------- visits, up


def _in_dispute(visit_id: str, day: Any) -> VisitOutcomeRecordedV2:
    base = outcome(visit_id, day).model_dump()
    base.update(schema_version=2, event_id=f"out2-{visit_id}", verification="in_dispute",
                verified_gbp=Decimal("0.00"), disputed_gbp=base["payable_gbp"])
    return VisitOutcomeRecordedV2.model_validate(base)


def test_the_verified_ratio_is_the_share_of_recent_visits_verified_per_provider(
    clean: psycopg.Connection, dsn: str
) -> None:
    yesterday = (NOW - timedelta(days=1)).date()
    OutcomeSink(clean).write([
        outcome("V1", yesterday), _in_dispute("V2", yesterday),
        outcome("V3", yesterday, provider_id="P2"),
        _in_dispute("V4", yesterday - timedelta(days=40)),  # outside the 30 days
    ])  # fmt: skip
    assert _scrape(dsn)["ecm_workflow_visits_verified_ratio"] == {
        (("provider_id", "P1"),): 0.5, (("provider_id", "P2"),): 1.0}


def test_up_is_0_and_nothing_else_is_exported_when_the_database_cannot_be_read(
    dsn: str,
) -> None:
    unreachable = dsn.replace("dbname=", "dbname=ecm_no_such_database_")
    assert unreachable != dsn
    assert _scrape(unreachable) == {"ecm_workflow_metrics_up": {(): 0.0}}
