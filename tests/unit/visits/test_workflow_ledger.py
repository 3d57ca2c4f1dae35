"""The ledger publishes what acts do: exception statuses, alert handling, version 2 outcomes,
and sets aside the acts the workflow refuses (docs/rules.md, "Closing the loop")."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ecm import contracts as c
from ecm.domain.reference import ReferenceData
from ecm.visits import ledger as visit_ledger
from ecm.visits.ledger import DictStore, EncodedVisits
from ecm.visits.translate import reference_record, visit_event

from .test_ledger import START, _plan, at

GPS = "V1:gps_distance:K1"


class VisitLedger(visit_ledger.VisitLedger):
    """The ledger, given wire events translated as the agents do (with the reference data)."""

    def on_event(self, position, event, watermark):
        return super().on_event(position, visit_event(event, self.reference), watermark)


def _reference(monitoring: bool = False) -> ReferenceData:
    ref = ReferenceData()
    events: list[c.ReferenceEvent] = [
        c.ClientRegistered(event_id="r-c1", occurred_at=START - timedelta(days=30),
                           client_id="C1", lot_id="L1", rurality=c.Rurality.URBAN,
                           location=c.Location(lat=51.2, lon=1.0),
                           effective_from=date(2026, 1, 1)),
        c.CarerRegistered(event_id="r-k1", occurred_at=START - timedelta(days=30),
                          carer_id="K1", provider_id="P1", effective_from=date(2026, 1, 1)),
        c.RateCardPublished(event_id="r-rc", occurred_at=START - timedelta(days=30),
                            rate_card_id="RC", lot_id="L1", service=c.Service.HOME_CARE,
                            hourly_rate=Decimal("21.00"), effective_from=date(2026, 1, 1)),
        c.ReasonCodesPublished(
            event_id="r-codes", occurred_at=START - timedelta(days=30), code_list_id="kent-1",
            effective_from=date(2026, 1, 1),
            codes=(c.ReasonCode(code="traffic", label="Traffic",
                                purpose=c.CodePurpose.EXPLANATION),
                   c.ReasonCode(code="evidence_accepted", label="Evidence seen",
                                purpose=c.CodePurpose.RESOLUTION),
                   c.ReasonCode(code="carer_sent", label="Carer sent",
                                purpose=c.CodePurpose.ALERT_OUTCOME))),
    ]
    if monitoring:
        events.append(c.AlertMonitoringSet(
            event_id="r-mon", occurred_at=START - timedelta(days=1), monitoring_id="M1",
            client_id="C1", starts=START - timedelta(days=1), until=START + timedelta(days=1),
            set_by="duty-1", reason="Family staying"))
    for event in events:
        record = reference_record(event)
        assert record is not None
        ref.add(record)
    return ref


def _far_check_in() -> c.CarerCheckedIn:
    return c.CarerCheckedIn(event_id="V1.in", occurred_at=START, provider_id="P1",
                            visit_id="V1", client_id="C1", carer_id="K1",
                            method=c.CheckMethod.APP_GPS,
                            location=c.Location(lat=51.2027, lon=1.0))


def _check_out() -> c.CarerCheckedOut:
    return c.CarerCheckedOut(event_id="V1.out", occurred_at=START + timedelta(minutes=30),
                             provider_id="P1", visit_id="V1", client_id="C1", carer_id="K1",
                             method=c.CheckMethod.APP_GPS)


def _explain(minutes: int = 60, role: c.ActorRole = c.ActorRole.PROVIDER,
             event_id: str = "explain-1") -> c.ExceptionExplained:
    return c.ExceptionExplained(event_id=event_id, occurred_at=START + timedelta(minutes=minutes),
                                visit_id="V1", provider_id="P1", by="office-1", by_role=role,
                                exception_id=GPS, reason_code="traffic")


def _decide(minutes: int = 90) -> c.ExceptionDecided:
    return c.ExceptionDecided(event_id="decide-1", occurred_at=START + timedelta(minutes=minutes),
                              visit_id="V1", provider_id="P1", by="cm-1",
                              by_role=c.ActorRole.CONTRACT_MANAGER, exception_id=GPS,
                              decision=c.Decision.ACCEPTED, resolution_code="evidence_accepted")


def _ledger(monitoring: bool = False, store: EncodedVisits | None = None) -> VisitLedger:
    return VisitLedger(_reference(monitoring), store or EncodedVisits(DictStore()))


def _far_visit(ledger: VisitLedger) -> list[c.ContractEvent]:
    ledger.on_event(at(0), _plan(), None)
    ledger.on_event(at(1), _far_check_in(), START)
    return ledger.on_event(at(2), _check_out(), START + timedelta(minutes=30)).records


def _of(records: list[c.ContractEvent], model: type) -> list:
    return [r for r in records if isinstance(r, model)]


def test_an_open_exception_makes_the_outcome_version_2_and_in_dispute() -> None:
    ledger = _ledger()
    [outcome] = _of(_far_visit(ledger), c.VisitOutcomeRecorded)
    assert isinstance(outcome, c.VisitOutcomeRecordedV2)
    # 30 minutes paid at 0.60 x £21 = £12.60, all of it in dispute
    assert (outcome.verification, outcome.verified_gbp, outcome.disputed_gbp) == (
        c.Verification.IN_DISPUTE, Decimal("0.00"), Decimal("12.60"))
    assert ledger.on_watermark(at(3), START + timedelta(minutes=40)).records == []


def test_an_explanation_and_a_decision_publish_status_changes_and_verify_the_money() -> None:
    ledger = _ledger()
    _far_visit(ledger)
    learned = START + timedelta(minutes=65)
    explained = ledger.on_event(at(3), _explain(), learned)
    [status] = _of(explained.records, c.ExceptionStatusChanged)
    assert (status.event_id, status.status, status.code, status.caused_by) == (
        "explain-1:status", c.ExceptionStatus.EXPLAINED, "traffic", "explain-1")
    assert (status.occurred_at, status.learned_at) == (START + timedelta(minutes=60), learned)
    assert _of(explained.records, c.VisitOutcomeRecorded) == []  # still in dispute

    decided = ledger.on_event(at(4), _decide(), START + timedelta(minutes=95))
    [status] = _of(decided.records, c.ExceptionStatusChanged)
    assert status.event_id == "decide-1:status" and status.status is c.ExceptionStatus.ACCEPTED
    [outcome] = _of(decided.records, c.VisitOutcomeRecordedV2)
    assert (outcome.verification, outcome.verified_gbp, outcome.disputed_gbp) == (
        c.Verification.VERIFIED, Decimal("12.60"), Decimal("0.00"))
    for record in (*explained.records, *decided.records):  # every record is a valid event
        assert c.parse_event(c.dump_event(record)) == record


def test_a_redelivered_act_publishes_nothing_new() -> None:
    ledger = _ledger()
    _far_visit(ledger)
    ledger.on_event(at(3), _explain(), START + timedelta(minutes=65))
    again = ledger.on_event(at(4), _explain(), START + timedelta(minutes=70))
    assert again.records == [] and again.refused == []


def test_a_refused_act_is_set_aside_with_its_reason_and_not_kept() -> None:
    ledger = _ledger()
    _far_visit(ledger)
    act = _explain(role=c.ActorRole.DUTY_OFFICER)
    emission = ledger.on_event(at(3), act, START + timedelta(minutes=65))
    assert emission.records == []
    [(event, refusal)] = emission.refused
    assert event.event_id == "explain-1" and refusal.field == "by_role"
    [visit] = list(ledger.visits())
    assert "explain-1" not in visit.state.events
    # The same id, sent again by someone who may, is judged afresh.
    assert ledger.on_event(at(4), _explain(), START + timedelta(minutes=70)).refused == []


def test_an_act_about_a_visit_ecm_does_not_know_is_refused_and_nothing_is_stored() -> None:
    ledger = _ledger()
    emission = ledger.on_event(at(0), _explain(), None)
    assert emission.refused[0][1].field == "visit_id"
    assert list(ledger.visits()) == []


def test_an_unacknowledged_alert_escalates_when_its_deadline_rings() -> None:
    ledger = _ledger()
    ledger.on_event(at(0), _plan(), START - timedelta(hours=1))
    raised = ledger.on_deadline(at(1), "V1", START + timedelta(minutes=31))
    assert [r.event_type for r in raised.records] == ["alert_raised"]
    due = START + timedelta(minutes=45)  # raised at 08:30, escalated 15 minutes later
    assert ledger.next_deadline(0) == due
    assert ledger.pop_due(0, due + timedelta(seconds=1)) == {"V1": "escalation"}
    now = due + timedelta(seconds=1)
    [handled] = _of(ledger.on_deadline(at(2), "V1", now).records, c.AlertHandled)
    assert (handled.event_id, handled.action, handled.tier, handled.by, handled.by_role) == (
        "alert:V1:not_arrived:escalated:council_duty", c.AlertAction.ESCALATED,
        c.AlertTier.COUNCIL_DUTY, "ecm", c.ActorRole.SYSTEM)
    assert (handled.occurred_at, handled.learned_at) == (due, now)
    assert ledger.on_deadline(at(3), "V1", now).records == []  # said once


def test_an_acknowledged_alert_does_not_escalate() -> None:
    ledger = _ledger()
    ledger.on_event(at(0), _plan(), START - timedelta(hours=1))
    ledger.on_deadline(at(1), "V1", START + timedelta(minutes=31))
    ack = c.AlertAcknowledged(event_id="ack-1", occurred_at=START + timedelta(minutes=33),
                              visit_id="V1", provider_id="P1", by="oncall-1",
                              by_role=c.ActorRole.PROVIDER, alert_id="V1:not_arrived",
                              action_taken="Carer is on the way")
    emission = ledger.on_event(at(2), ack, START + timedelta(minutes=33))
    [handled] = _of(emission.records, c.AlertHandled)
    assert (handled.event_id, handled.action, handled.note) == (
        "ack-1:handled", c.AlertAction.ACKNOWLEDGED, "Carer is on the way")
    assert ledger.next_deadline(0) == START + timedelta(minutes=120)  # missed, no escalation
    later = ledger.on_watermark(at(3), START + timedelta(minutes=100))
    assert _of(later.records, c.AlertHandled) == []


def test_a_monitor_only_alert_is_announced_immediately_before_its_raise() -> None:
    ledger = _ledger(monitoring=True)
    ledger.on_event(at(0), _plan(), START - timedelta(hours=1))
    emission = ledger.on_watermark(at(1), START + timedelta(hours=3))
    kinds = [(r.event_type, getattr(r, "action", None), getattr(r, "alert_id", None))
             for r in emission.records if r.event_type in ("alert_handled", "alert_raised")]
    assert kinds == [
        ("alert_handled", c.AlertAction.MONITOR_ONLY, "V1:not_arrived"),
        ("alert_raised", None, "V1:not_arrived"),
        ("alert_handled", c.AlertAction.MONITOR_ONLY, "V1:missed"),
        ("alert_raised", None, "V1:missed"),
    ]


def test_an_exception_settled_by_later_facts_says_so_in_its_status() -> None:
    ledger = _ledger()
    ledger.on_event(at(0), _plan(), START - timedelta(hours=1))
    ledger.on_event(at(1), c.CarerCheckedIn(
        event_id="V1.in", occurred_at=START, provider_id="P1", visit_id="V1", client_id="C1",
        carer_id="K1", method=c.CheckMethod.NFC), START)
    ledger.on_watermark(at(2), START + timedelta(hours=2))  # no_check_out raised
    settled = ledger.on_event(at(3), _check_out(), START + timedelta(hours=3))
    [status] = _of(settled.records, c.ExceptionStatusChanged)
    assert (status.event_id, status.status, status.learned_at) == (
        "exception:V1:no_check_out:K1:settled", c.ExceptionStatus.SETTLED,
        START + timedelta(hours=3))


def test_after_a_restart_workflow_records_are_published_again_unchanged() -> None:
    store = EncodedVisits(DictStore())
    before = _ledger(store=store)
    _far_visit(before)
    first = before.on_event(at(3), _explain(), START + timedelta(minutes=65))
    after = _ledger(store=store)
    again = after.on_event(at(3), _explain(), START + timedelta(minutes=99))
    assert _of(again.again, c.ExceptionStatusChanged) == _of(first.records,
                                                             c.ExceptionStatusChanged)
    assert again.records == []


def test_a_decision_arriving_before_its_explanation_is_refused_not_held() -> None:
    results = []
    for acts in ((_explain(), _decide()), (_decide(), _explain())):
        ledger = _ledger()
        _far_visit(ledger)
        refused = []
        for offset, act in enumerate(acts, start=3):
            refused += ledger.on_event(at(offset), act, START + timedelta(minutes=100)).refused
        [visit] = list(ledger.visits())
        results.append((visit.published.outcome, len(refused)))
    # Arriving first, the decision is refused (nothing to decide yet): it is dead-lettered.
    assert results[0][1] == 0 and results[1][1] == 1
