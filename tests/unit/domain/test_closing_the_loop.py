"""Closing the loop in the judgement: exception statuses, verification and money, late
corrections, frustrated visits and alert handling (docs/rules.md, "Closing the loop")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ecm import contracts as c
from ecm.domain.judgement import Judgement, judge
from ecm.domain.kpis import visit_measures
from ecm.domain.outcome import VisitStatus
from ecm.domain.reference import MonitoringPeriod, ReferenceData
from ecm.domain.visit import NO_ALERTS, VisitState
from ecm.domain.workflow import CodeList, ExceptionStatus
from ecm.visits.translate import reference_record

from .builders import (
    CODES,
    acknowledged,
    at,
    check_in,
    check_out,
    closed,
    corrected,
    correction_decided,
    decided,
    escalated,
    explained,
    frustrated,
    planned,
    reference,
    with_codes,
)

GPS = "V1:gps_distance:K1"
FAR = {"lat": 51.2027, "lon": 1.0}  # ~300 m from C1's registered location


def judged(*events, ref: ReferenceData | None = None, watermark: datetime | None = None,
           inclusive: bool = True) -> Judgement:
    state = VisitState("V1")
    for event in events:
        state.apply(event)
    return judge(state.facts(), NO_ALERTS, ref or with_codes(reference()),
                 watermark or at(24 * 60), inclusive)


def far_visit(*acts):
    """A completed one-hour visit checked in ~300 m away: a gps_distance exception."""
    return (planned(), check_in(0, **FAR), check_out(60), *acts)


def test_an_open_exception_holds_the_visits_money_in_dispute() -> None:
    outcome = judged(*far_visit()).outcome
    assert outcome is not None and outcome.payable == Decimal("21.00")
    assert outcome.in_dispute and outcome.needs_decision
    assert (outcome.verified_gbp, outcome.disputed_gbp) == (Decimal("0.00"), Decimal("21.00"))


def test_an_explained_and_accepted_exception_verifies_the_visit() -> None:
    judgement = judged(*far_visit(explained(GPS, 120), decided(GPS, 180)))
    assert judgement.workflow is not None
    assert judgement.workflow.statuses[GPS] is ExceptionStatus.ACCEPTED
    assert [m.status for m in judgement.workflow.moves] == [ExceptionStatus.EXPLAINED,
                                                            ExceptionStatus.ACCEPTED]
    outcome = judgement.outcome
    assert outcome is not None and not outcome.in_dispute
    assert (outcome.verified_gbp, outcome.disputed_gbp) == (Decimal("21.00"), Decimal("0.00"))


@pytest.mark.parametrize(
    ("acts", "status", "in_dispute"),
    [
        ((), ExceptionStatus.OPEN, True),
        ((explained(GPS, 120),), ExceptionStatus.EXPLAINED, True),
        ((explained(GPS, 120), decided(GPS, 180, accepted=False, code="not_credible")),
         ExceptionStatus.REJECTED, True),
        ((explained(GPS, 120), decided(GPS, 180, accepted=False, code="not_credible"),
          explained(GPS, 200, code="phone_battery_dead"), decided(GPS, 240)),
         ExceptionStatus.ACCEPTED, False),
    ],
)
def test_the_status_of_an_exception_follows_its_acts_in_event_time(acts, status, in_dispute):
    judgement = judged(*far_visit(*reversed(acts)))  # arrival order does not matter
    assert judgement.workflow is not None and judgement.workflow.statuses[GPS] is status
    assert judgement.outcome is not None and judgement.outcome.in_dispute is in_dispute
    assert judgement.refused == {}


@pytest.mark.parametrize(
    ("act", "field", "reason"),
    [
        (explained(GPS, 120, role="contract_manager"), "by_role",
         "a contract_manager may not explain"),
        (explained(GPS, 120, provider="P2"), "provider_id", "the visit is provider P1's"),
        (explained(GPS, 120, code="no_such_code"), "reason_code", "is not a explanation code"),
        (explained(GPS, 120, code="other"), "note", "requires a note"),
        (explained("V1:manual_entry:K1", 120), "exception_id", "not an exception this visit"),
        (explained("V1:insufficient_travel_time:K1", 120), "exception_id",
         "insufficient_travel_time is a finding about the carer's rota"),
        (decided("V1:insufficient_travel_time:K1", 120), "exception_id",
         "it cannot be explained or decided"),
        (decided(GPS, 120), "exception_id", "not explained yet"),
        (decided(GPS, 120, role="provider"), "by_role", "a provider may not decide"),
    ],
)
def test_an_act_the_workflow_refuses_changes_nothing_and_says_why(act, field, reason) -> None:
    judgement = judged(*far_visit(act))
    refusal = judgement.refused[act.event_id]
    assert refusal.field == field and reason in refusal.reason
    assert judgement.workflow is not None and judgement.workflow.statuses[GPS] is \
        ExceptionStatus.OPEN


def test_an_explanation_whose_code_cannot_settle_the_kind_is_refused() -> None:
    codes = CodeList("narrow", date(2026, 1, 1), None, tuple(
        c for c in CODES.codes if c.code != "traffic"))
    act = explained("V1:no_check_out:K1", 200, code="phone_battery_dead")
    judgement = judged(planned(), check_in(0), act, ref=with_codes(reference(), codes))
    assert "cannot explain a no_check_out exception" in judgement.refused[act.event_id].reason


def test_without_a_code_list_in_force_every_explanation_is_refused() -> None:
    act = explained(GPS, 120)
    refusal = judged(*far_visit(act), ref=reference()).refused[act.event_id]
    assert refusal.field == "reason_code" and "no list of codes" in refusal.reason


def test_facts_that_settle_an_exception_settle_it_whatever_its_status() -> None:
    # Checked in, never out: no_check_out, explained; the check-out then arrives late.
    exception = "V1:no_check_out:K1"
    before = judged(planned(), check_in(0), explained(exception, 200))
    assert before.workflow is not None
    assert before.workflow.statuses[exception] is ExceptionStatus.EXPLAINED
    after = judged(planned(), check_in(0), explained(exception, 200), check_out(60))
    assert after.workflow is None or exception not in after.workflow.statuses
    assert after.outcome is not None and not after.outcome.in_dispute


def test_an_informational_exception_never_holds_payment() -> None:
    duplicate = check_in(0, eid="in-again")
    outcome = judged(planned(), check_in(0), duplicate, check_out(60)).outcome
    assert outcome is not None and not outcome.in_dispute and not outcome.needs_decision
    assert outcome.verified_gbp == Decimal("21.00")


# Late corrections: the visit is on Monday 16 November; 7 days is the default.
def late_fix(days: float) -> object:
    return corrected(False, 60, days * 24 * 60)


def test_a_correction_within_the_limit_counts_at_once() -> None:
    fix = late_fix(7)  # Monday 23rd: 7 local days after
    outcome = judged(planned(), check_in(0), fix, watermark=at(8 * 24 * 60)).outcome
    assert outcome is not None and outcome.status is VisitStatus.COMPLETED
    assert outcome.held_corrections == ()


def test_a_late_correction_is_held_until_approved_and_the_original_stays() -> None:
    fix = late_fix(8)
    held = judged(planned(), check_in(0), fix, watermark=at(9 * 24 * 60)).outcome
    assert held is not None and held.held_corrections == (fix.event_id,)
    assert held.status is VisitStatus.NO_CHECKOUT and held.corrections == ()
    assert held.in_dispute and held.needs_decision
    approved = judged(planned(), check_in(0), fix, correction_decided(fix.event_id, 9 * 24 * 60),
                      watermark=at(10 * 24 * 60)).outcome
    assert approved is not None and approved.status is VisitStatus.COMPLETED
    assert approved.held_corrections == () and approved.corrections[0].original is None
    assert approved.payable == Decimal("21.00")
    assert approved.in_dispute  # until the manual_entry exception it raises is accepted


def test_a_rejected_late_correction_never_counts_and_is_no_longer_held() -> None:
    fix = late_fix(8)
    judgement = judged(planned(), check_in(0), fix,
                       correction_decided(fix.event_id, 9 * 24 * 60, accepted=False))
    assert judgement.outcome is not None
    assert judgement.outcome.status is VisitStatus.NO_CHECKOUT
    assert judgement.outcome.held_corrections == () and judgement.outcome.corrections == ()


@pytest.mark.parametrize(
    ("decision", "reason"),
    [
        (correction_decided("no-such-fix", 100), "not a call-time correction held"),
        (correction_decided("fix-V1-K1-False-11520", 100, role="duty_officer"),
         "a duty_officer may not decide correction"),
    ],
)
def test_a_decision_on_a_correction_not_held_is_refused(decision, reason) -> None:
    judgement = judged(planned(), check_in(0), late_fix(8), decision)
    assert reason in judgement.refused[decision.event_id].reason


def test_a_second_decision_on_the_same_correction_is_refused() -> None:
    fix = late_fix(8)
    second = correction_decided(fix.event_id, 9 * 24 * 60 + 5, accepted=False)
    judgement = judged(planned(), check_in(0), fix, correction_decided(fix.event_id, 9 * 24 * 60),
                       second)
    assert judgement.refused[second.event_id].reason == "already accepted"


def test_a_late_correction_window_is_a_contract_rule() -> None:
    ref = with_codes(reference())
    rules = c.ContractRulesSetV2(
        event_id="rules-2", occurred_at=datetime(2026, 1, 1, tzinfo=UTC), rules_id="R2",
        effective_from=date(2026, 1, 1), rules=c.ContractRulesV2(late_correction_days=10))
    record = reference_record(rules)
    assert record is not None
    ref.add(record)
    outcome = judged(planned(), check_in(0), late_fix(8), ref=ref).outcome
    assert outcome is not None and outcome.held_corrections == ()


# Frustrated visits.
def share_rules(share: str) -> ReferenceData:
    ref = with_codes(reference())
    rules = c.ContractRulesSetV2(
        event_id="rules-f", occurred_at=datetime(2026, 1, 1, tzinfo=UTC), rules_id="RF",
        effective_from=date(2026, 1, 1),
        rules=c.ContractRulesV2(frustrated_pay_share=Decimal(share)))
    record = reference_record(rules)
    assert record is not None
    ref.add(record)
    return ref


@pytest.mark.parametrize(
    ("share", "payable"),
    [("0", "0.00"),
     ("0.5", "10.50"),  # the planned hour pays 4 quarters x £21 / 4 = £21.00; half is £10.50
     ("1", "21.00")],
)
def test_a_frustrated_visit_pays_its_share_of_the_planned_call(share, payable) -> None:
    judgement = judged(planned(), frustrated(10), ref=share_rules(share))
    outcome = judgement.outcome
    assert outcome is not None and outcome.status is VisitStatus.FRUSTRATED
    assert outcome.payable == Decimal(payable) and outcome.delivered_seconds == 0
    assert outcome.frustrated_reason == "no_answer" and not outcome.in_dispute
    measures = visit_measures(outcome)
    assert measures.frustrated and not measures.missed and not measures.completed
    assert measures.verified_gbp == Decimal(payable)


def test_a_frustrated_visit_resolves_its_arrival_alert_as_frustrated() -> None:
    judgement = judged(planned(), frustrated(40))
    alerts = [(a.kind.value, a.raised, a.resolution) for a in judgement.record]
    assert alerts == [("not_arrived", True, None), ("not_arrived", False, "frustrated")]


def test_a_visit_frustrated_before_the_arrival_deadline_raises_no_alert() -> None:
    judgement = judged(planned(), frustrated(10))
    assert judgement.record == () and judgement.wake is None


@pytest.mark.parametrize(
    ("act", "reason"),
    [(frustrated(10, code="traffic"), "is not a frustration code"),
     (frustrated(10, role="duty_officer"), "a duty_officer may not report frustrated")],
)
def test_a_frustration_report_the_workflow_refuses_counts_for_nothing(act, reason) -> None:
    judgement = judged(planned(), act)
    assert reason in judgement.refused[act.event_id].reason
    assert judgement.outcome is not None and judgement.outcome.status is VisitStatus.MISSED


def test_only_the_first_frustration_report_counts() -> None:
    second = frustrated(20)
    judgement = judged(planned(), frustrated(10), second)
    assert "already reported frustrated" in judgement.refused[second.event_id].reason


# Alerts: not_arrived of the 09:00 visit is raised at 09:30.
def moves(judgement: Judgement) -> list[tuple[str, str, datetime]]:
    assert judgement.workflow is not None
    return [(m.action, m.tier.value, m.at) for m in judgement.workflow.alerts]


def test_an_unacknowledged_alert_escalates_to_the_council_then_the_manager() -> None:
    assert moves(judged(planned(), watermark=at(44))) == []
    assert moves(judged(planned(), watermark=at(45))) == [
        ("escalated", "council_duty", at(45))]
    assert judged(planned(), watermark=at(45)).wake == (at(60), "escalation")
    assert moves(judged(planned(), watermark=at(60))) == [
        ("escalated", "council_duty", at(45)), ("escalated", "manager", at(60))]


def test_an_alert_acknowledged_in_time_does_not_escalate() -> None:
    judgement = judged(planned(), acknowledged(40), watermark=at(100))
    assert moves(judgement) == [("acknowledged", "provider_on_call", at(40))]
    assert judgement.workflow is not None and judgement.workflow.wake is None


def test_an_acknowledgement_after_the_timeout_comes_after_the_escalation() -> None:
    judgement = judged(planned(), acknowledged(50, role="duty_officer"), watermark=at(100))
    assert moves(judgement) == [("escalated", "council_duty", at(45)),
                                ("acknowledged", "council_duty", at(50))]


def test_a_manual_escalation_moves_the_next_timeout_on() -> None:
    judgement = judged(planned(), escalated(35, "council_duty"), watermark=at(100))
    assert moves(judgement) == [("escalated", "council_duty", at(35)),
                                ("escalated", "manager", at(60))]


def test_a_closed_alert_never_escalates_and_cannot_be_closed_twice() -> None:
    again = closed(41)
    judgement = judged(planned(), closed(40), again, watermark=at(100))
    assert moves(judgement) == [("closed", "provider_on_call", at(40))]
    assert judgement.refused[again.event_id].reason == "already closed (carer_sent)"


def test_an_alert_settled_by_a_check_in_before_its_timeout_does_not_escalate() -> None:
    judgement = judged(planned(), check_in(40), check_out(100), watermark=at(200))
    assert judgement.workflow is not None and moves(judgement) == []


@pytest.mark.parametrize(
    ("act", "field", "reason"),
    [
        (acknowledged(20), "alert_id", "not raised yet"),
        (acknowledged(40, kind="missed"), "alert_id", "not raised yet"),
        (acknowledged(40, kind="no_checkout"), "alert_id", "no such alert"),
        (acknowledged(40, role="contract_manager"), "by_role", "may not acknowledge"),
        (escalated(40, "council_duty", role="provider"), "by_role", "may not escalate"),
        (escalated(40, "provider_on_call"), "to_tier", "already with provider_on_call"),
        (closed(40, code="client_safe"), "outcome_code", "is not a alert_outcome code"),
    ],
)
def test_an_alert_act_the_workflow_refuses(act, field, reason) -> None:
    refusal = judged(planned(), act, watermark=at(100)).refused[act.event_id]
    assert refusal.field == field and reason in refusal.reason


def monitored(ref: ReferenceData, until_minute: float = 600, event_id="m1",
              recorded: float = 0) -> ReferenceData:
    ref.add(MonitoringPeriod("M1", "C1", None, at(-60), at(until_minute), "duty-1",
                             "family staying", at(recorded), event_id))
    return ref


def test_an_alert_due_while_monitoring_applies_is_monitor_only_and_never_escalates() -> None:
    judgement = judged(planned(), ref=monitored(with_codes(reference())), watermark=at(200))
    assert moves(judgement) == [("monitor_only", "provider_on_call", at(30)),
                                ("monitor_only", "provider_on_call", at(120))]
    assert judgement.workflow is not None and judgement.workflow.wake is None


def test_a_later_monitoring_record_with_the_same_id_replaces_the_period() -> None:
    ref = monitored(with_codes(reference()))
    monitored(ref, until_minute=0, event_id="m2", recorded=5)  # ended before the alerts
    assert moves(judged(planned(), ref=ref, watermark=at(46))) == [
        ("escalated", "council_duty", at(45))]


def test_the_code_list_in_force_is_the_latest_effective_on_the_acts_day() -> None:
    ref = with_codes(reference())
    newer = CodeList("kent-2", date(2026, 11, 16), None, tuple(
        code for code in CODES.codes if code.code != "traffic"))
    with_codes(ref, newer)
    assert ref.codes(date(2026, 11, 15)) == CODES and ref.codes(date(2026, 11, 16)) == newer
    act = explained(GPS, 120)  # on the 16th: "traffic" is no longer on the list
    assert "is not a explanation code" in judged(*far_visit(act), ref=ref).refused[
        act.event_id].reason


def test_the_escalation_timings_are_contract_rules() -> None:
    ref = with_codes(reference())
    rules = c.ContractRulesSetV2(
        event_id="rules-e", occurred_at=datetime(2026, 1, 1, tzinfo=UTC), rules_id="RE",
        effective_from=date(2026, 1, 1),
        rules=c.ContractRulesV2(escalate_to_council_after_minutes=5,
                                escalate_to_manager_after_minutes=10))
    record = reference_record(rules)
    assert record is not None
    ref.add(record)
    assert moves(judged(planned(), ref=ref, watermark=at(100))) == [
        ("escalated", "council_duty", at(35)), ("escalated", "manager", at(40))]


def test_judging_a_visit_with_acts_twice_gives_equal_judgements() -> None:
    events = (planned(), check_in(50, **FAR), check_out(110), explained(GPS, 120),
              acknowledged(40), acknowledged(41, kind="no_checkout"))
    first, second = judged(*events), judged(*events)
    assert replace(first, refused={}) == replace(second, refused={})
    assert {k: str(v) for k, v in first.refused.items()} == {
        k: str(v) for k, v in second.refused.items()} == {
        "ack-V1-no_checkout-41": "alert_id: no such alert was raised for this visit"}
