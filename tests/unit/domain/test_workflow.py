"""The two state machines people move, code checking and who may do what, table by table.

Every transition of ``ecm.domain.workflow`` is listed: each exception status with each
move, each alert state with each act and tier, so a change to a rule changes a row here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ecm.domain.workflow import (
    ADMIN,
    CONTRACT_MANAGER,
    DUTY_OFFICER,
    MAY,
    PROVIDER,
    ROTA_FINDINGS,
    Act,
    AlertHandling,
    AlertTier,
    Code,
    CodeList,
    CodePurpose,
    EscalationTimings,
    ExceptionStatus,
    Refused,
    acknowledge,
    check_code,
    check_disputable,
    close,
    decide,
    escalate,
    explain,
    may,
    next_escalation,
)

S = ExceptionStatus
RAISED = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
LATER = RAISED + timedelta(minutes=5)

# status -> (after explain, after an accepting decision, after a rejecting decision);
# a string is the start of the refusal's reason.
EXCEPTION_TABLE = {
    S.OPEN: (S.EXPLAINED, "not explained yet", "not explained yet"),
    S.EXPLAINED: ("already explained", S.ACCEPTED, S.REJECTED),
    S.ACCEPTED: ("already accepted", "already accepted", "already accepted"),
    S.REJECTED: (S.EXPLAINED, "already rejected", "already rejected"),
    S.SETTLED: ("already settled", "already settled", "already settled"),
}
MOVES = {
    "explain": explain,
    "accept": lambda status: decide(status, True),
    "reject": lambda status: decide(status, False),
}


def test_the_exception_table_covers_every_status() -> None:
    assert set(EXCEPTION_TABLE) == set(ExceptionStatus)


@pytest.mark.parametrize("status", list(ExceptionStatus))
@pytest.mark.parametrize("move", list(MOVES))
def test_each_exception_status_allows_or_refuses_each_move(status, move) -> None:
    expected = EXCEPTION_TABLE[status][list(MOVES).index(move)]
    if isinstance(expected, ExceptionStatus):
        assert MOVES[move](status) is expected
    else:
        with pytest.raises(Refused) as refused:
            MOVES[move](status)
        assert refused.value.field == "exception_id"
        assert refused.value.reason.startswith(expected)


def test_a_rejected_explanation_may_be_explained_again_and_then_accepted() -> None:
    status = decide(explain(decide(explain(S.OPEN), False)), True)
    assert status is S.ACCEPTED


# Alerts: the states an alert can be in, by what has happened to it.
OPEN = AlertHandling()
ACKED = AlertHandling(acknowledged_at=LATER, acknowledged_by="oncall-1")
CLOSED = AlertHandling(closed_at=LATER, outcome_code="client_safe")
AT_COUNCIL = AlertHandling(tier=AlertTier.COUNCIL_DUTY)
AT_MANAGER = AlertHandling(tier=AlertTier.MANAGER)
MONITORED = AlertHandling(monitor_only=True)
STATES = {"open": OPEN, "acknowledged": ACKED, "closed": CLOSED, "with council": AT_COUNCIL,
          "with manager": AT_MANAGER, "monitor only": MONITORED}

# state -> acknowledge, close: allowed (True) or the refusal's reason
ACK_CLOSE_TABLE = {
    "open": (True, True),
    "acknowledged": ("already acknowledged by oncall-1", True),
    "closed": ("already closed", "already closed (client_safe)"),
    "with council": (True, True),
    "with manager": (True, True),
    "monitor only": (True, True),
}
# state -> tiers a manual escalation may go to
ESCALATE_TABLE = {
    "open": {AlertTier.COUNCIL_DUTY, AlertTier.MANAGER},
    "acknowledged": {AlertTier.COUNCIL_DUTY, AlertTier.MANAGER},
    "closed": set(),
    "with council": {AlertTier.MANAGER},
    "with manager": set(),
    "monitor only": {AlertTier.COUNCIL_DUTY, AlertTier.MANAGER},
}


@pytest.mark.parametrize("state", list(STATES))
def test_acknowledging_each_alert_state(state) -> None:
    expected = ACK_CLOSE_TABLE[state][0]
    if expected is True:
        after = acknowledge(STATES[state], "duty-1", LATER)
        assert (after.acknowledged_at, after.acknowledged_by) == (LATER, "duty-1")
        assert after.tier is STATES[state].tier
    else:
        with pytest.raises(Refused, match=expected):
            acknowledge(STATES[state], "duty-1", LATER)


@pytest.mark.parametrize("state", list(STATES))
def test_closing_each_alert_state(state) -> None:
    expected = ACK_CLOSE_TABLE[state][1]
    if expected is True:
        after = close(STATES[state], "carer_sent", LATER)
        assert after.closed and after.outcome_code == "carer_sent"
    else:
        with pytest.raises(Refused) as refused:
            close(STATES[state], "carer_sent", LATER)
        assert refused.value.reason == expected


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("tier", list(AlertTier))
def test_escalating_each_alert_state_to_each_tier(state, tier) -> None:
    if tier in ESCALATE_TABLE[state]:
        assert escalate(STATES[state], tier).tier is tier
    else:
        with pytest.raises(Refused) as refused:
            escalate(STATES[state], tier)
        assert refused.value.field in ("alert_id", "to_tier")


TIMINGS = EscalationTimings(15, 30)


@pytest.mark.parametrize(
    ("state", "timings", "expected"),
    [
        ("open", TIMINGS, (AlertTier.COUNCIL_DUTY, RAISED + timedelta(minutes=15))),
        ("with council", TIMINGS, (AlertTier.MANAGER, RAISED + timedelta(minutes=30))),
        ("with manager", TIMINGS, None),
        ("acknowledged", TIMINGS, None),
        ("closed", TIMINGS, None),
        ("monitor only", TIMINGS, None),
        ("open", EscalationTimings(20, 60), (AlertTier.COUNCIL_DUTY,
                                             RAISED + timedelta(minutes=20))),
        # a manager timing shorter than the council's waits for the council's
        ("with council", EscalationTimings(20, 10), (AlertTier.MANAGER,
                                                     RAISED + timedelta(minutes=20))),
    ],
)
def test_next_escalation(state, timings, expected) -> None:
    assert next_escalation(STATES[state], RAISED, timings) == expected


CODES = CodeList("kent-1", date(2026, 11, 1), None, (
    Code("phone_battery_dead", "explanation", settles=frozenset({"manual_entry"})),
    Code("traffic", "explanation"),
    Code("other", "explanation", note_required=True),
    Code("evidence_accepted", "resolution"),
    Code("carer_sent", "alert_outcome"),
    Code("no_answer", "frustration"),
))


@pytest.mark.parametrize(
    ("codes", "purpose", "code", "note", "kind", "refused"),
    [
        (CODES, CodePurpose.EXPLANATION, "traffic", None, "gps_distance", None),
        (CODES, CodePurpose.EXPLANATION, "phone_battery_dead", None, "manual_entry", None),
        (CODES, CodePurpose.EXPLANATION, "phone_battery_dead", None, "gps_distance",
         ("reason_code", "cannot explain a gps_distance exception")),
        (CODES, CodePurpose.EXPLANATION, "other", "Carer's car broke down", None, None),
        (CODES, CodePurpose.EXPLANATION, "other", None, None, ("note", "requires a note")),
        (CODES, CodePurpose.EXPLANATION, "other", "   ", None, ("note", "requires a note")),
        (CODES, CodePurpose.EXPLANATION, "carer_sent", None, None,
         ("reason_code", "is not a explanation code")),
        (CODES, CodePurpose.RESOLUTION, "evidence_accepted", None, None, None),
        (CODES, CodePurpose.ALERT_OUTCOME, "carer_sent", None, None, None),
        (CODES, CodePurpose.FRUSTRATION, "no_answer", None, None, None),
        (CODES, CodePurpose.FRUSTRATION, "unknown", None, None,
         ("reason_code", "is not a frustration code")),
        (None, CodePurpose.EXPLANATION, "traffic", None, None,
         ("reason_code", "no list of codes is in force")),
    ],
)
def test_check_code(codes, purpose, code, note, kind, refused) -> None:
    if refused is None:
        assert check_code(codes, purpose, code, note, field="reason_code", kind=kind).code == code
    else:
        with pytest.raises(Refused) as error:
            check_code(codes, purpose, code, note, field="reason_code", kind=kind)
        assert error.value.field == refused[0] and refused[1] in error.value.reason


def test_a_code_list_applies_between_its_dates() -> None:
    ended = replace(CODES, effective_to=date(2026, 11, 30))
    assert [ended.applies_on(date(2026, 11, d)) for d in (1, 30)] == [True, True]
    assert not ended.applies_on(date(2026, 10, 31)) and not ended.applies_on(date(2026, 12, 1))


# act -> roles that may do it (an administrator may do anything)
MAY_TABLE = {
    Act.EXPLAIN: {PROVIDER, ADMIN},
    Act.DECIDE: {CONTRACT_MANAGER, ADMIN},
    Act.DECIDE_CORRECTION: {CONTRACT_MANAGER, ADMIN},
    Act.REPORT_FRUSTRATED: {PROVIDER, ADMIN},
    Act.ACKNOWLEDGE: {PROVIDER, DUTY_OFFICER, ADMIN},
    Act.ESCALATE: {DUTY_OFFICER, CONTRACT_MANAGER, ADMIN},
    Act.CLOSE_ALERT: {PROVIDER, DUTY_OFFICER, ADMIN},
    Act.SET_MONITORING: {DUTY_OFFICER, CONTRACT_MANAGER, ADMIN},
}


def test_the_may_table_covers_every_act() -> None:
    assert set(MAY_TABLE) == set(Act) == set(MAY)


@pytest.mark.parametrize("act", list(Act))
@pytest.mark.parametrize("role", [PROVIDER, CONTRACT_MANAGER, DUTY_OFFICER, ADMIN, "system",
                                  "nobody"])
def test_who_may_do_what(act, role) -> None:
    assert may(role, act) is (role in MAY_TABLE[act])


def test_a_rota_finding_is_neither_explained_nor_decided_and_says_why() -> None:
    from ecm.contracts import ExceptionKindV3
    from ecm.domain.exceptions import ExceptionKind

    assert ROTA_FINDINGS == {ExceptionKind.INSUFFICIENT_TRAVEL_TIME.value}
    with pytest.raises(Refused) as refused:
        check_disputable("insufficient_travel_time")
    assert refused.value.field == "exception_id"
    assert "finding about the carer's rota" in refused.value.reason
    for kind in ExceptionKindV3:  # every kind a visit holds stays disputable
        if kind.value not in ROTA_FINDINGS:
            check_disputable(kind.value)
