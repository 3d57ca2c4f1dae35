"""At risk through the one handler: the visit before tells the visit after, in event time.

V1 (09:00-10:00, carer K1) is followed on K1's rota by V2 (10:30): K1 must leave V1 by
10:35. Whatever order the report and the ticks reach V2 in, V2 raises at 10:35.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.builders import T0, at, check_in, check_out, reference, with_codes

from ecm import contracts as c
from ecm.domain import events as d
from ecm.domain.atrisk import NextStop, next_visit_event
from ecm.visits.ledger import DictStore, Emission, Position, VisitLedger

POSITION = Position(0, "replay", 0)


def plan(visit: str, start: int, client: str) -> d.VisitPlanned:
    begin = at(start)
    return d.VisitPlanned(f"plan-{visit}", T0 - timedelta(days=1), visit, "P1", client,
                          "home_care", "standard", begin, begin + timedelta(minutes=60), 1,
                          False, None, ("K1",))


NEXT = next_visit_event("K1", "V1", "P1", NextStop("V2", "P1", at(90), 15, 600),
                        T0 - timedelta(hours=12))


def alerts(records: list[c.ContractEvent]) -> list[tuple[str, str, int, datetime]]:
    return [(r.event_type, r.kind.value, r.schema_version, r.occurred_at) for r in records
            if isinstance(r, c.AlertRaised | c.AlertResolved) and r.visit_id == "V2"]


class Flow:
    """One ledger; facts for other visits delivered when asked (as a worker's hop would)."""

    def __init__(self) -> None:
        self.ledger = VisitLedger(with_codes(reference()), DictStore())
        self.records: list[c.ContractEvent] = []
        self.held: list[d.CarerWhereabouts] = []

    def take(self, emission: Emission) -> None:
        self.records += emission.records
        self.held += emission.whereabouts

    def event(self, event: d.VisitEvent, watermark: datetime | None) -> None:
        self.take(self.ledger.on_event(POSITION, event, watermark))

    def tick(self, watermark: datetime) -> None:
        self.take(self.ledger.on_watermark(POSITION, watermark))

    def deliver(self) -> None:
        held, self.held = self.held, []
        for fact in held:
            self.event(fact, self.ledger.watermark(0))


def test_the_visit_after_raises_at_risk_when_the_carer_is_still_at_the_visit_before() -> None:
    flow = Flow()
    flow.tick(at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), NEXT, check_in(0)):
        flow.event(event, at(-60))
    flow.tick(at(95))
    assert flow.held == []  # 10:35 has not passed yet
    flow.tick(at(100))
    [report] = flow.held
    assert (report.visit_id, report.occurred_at) == ("V2", at(95))
    flow.deliver()
    assert alerts(flow.records) == [("alert_raised", "at_risk", 2, at(95))]
    flow.event(check_in(108, visit="V2", client="C2"), at(100))
    assert alerts(flow.records)[-1] == ("alert_resolved", "at_risk", 2, at(108))


def test_a_report_that_arrives_after_later_ticks_still_raises_at_its_instant() -> None:
    flow = Flow()
    flow.tick(at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), NEXT, check_in(0)):
        flow.event(event, at(-60))
    flow.tick(at(100))
    held = list(flow.held)
    flow.held = []
    flow.tick(at(115))
    flow.held = held
    flow.deliver()
    assert alerts(flow.records) == [("alert_raised", "at_risk", 2, at(95))]


def test_a_report_delivered_twice_changes_nothing_the_second_time() -> None:
    flow = Flow()
    flow.tick(at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), NEXT, check_in(0)):
        flow.event(event, at(-60))
    flow.tick(at(100))
    [report] = flow.held
    flow.deliver()
    before = len(flow.records)
    flow.event(report, at(100))
    assert len(flow.records) == before


def test_the_next_visit_word_arriving_after_the_instant_sends_the_report_at_once() -> None:
    flow = Flow()
    flow.tick(at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), check_in(0)):
        flow.event(event, at(-60))
    flow.tick(at(100))
    assert flow.held == []
    flow.event(NEXT, at(100))
    [report] = flow.held
    assert report.occurred_at == at(95)


def test_a_carer_who_left_in_time_sends_nothing_and_not_arrived_is_untouched() -> None:
    flow = Flow()
    flow.tick(at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), NEXT, check_in(0), check_out(60)):
        flow.event(event, at(-60))
    flow.tick(at(200))
    flow.deliver()
    assert alerts(flow.records) == [("alert_raised", "not_arrived", 1, at(120))]


def test_a_late_word_is_judged_with_what_was_known_at_the_instant_not_later() -> None:
    """The word of the next visit reaches V1 after a check-in typed in by hand did.

    At 10:35 ecm had no sign of K1 at V1 (the check-in at 09:50 arrived at 11:10): the
    report says so, at 10:35, as it does when the word came the evening before.
    """
    manual = check_in(50, method="manual")
    prompt, late = Flow(), Flow()
    for flow in (prompt, late):
        flow.tick(at(-60))
        for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2")):
            flow.event(event, at(-60))
    prompt.event(NEXT, at(-60))
    for flow in (prompt, late):
        flow.tick(at(100))
        flow.tick(at(130))
        flow.event(manual, at(130))
    late.event(NEXT, at(130))
    [early_report] = prompt.held
    [late_report] = late.held
    assert early_report == late_report
    assert (late_report.occurred_at, late_report.reason) == (at(95), "not_arrived_before")


def test_a_late_report_is_judged_with_what_the_visit_after_knew_at_its_instant() -> None:
    report = d.CarerRunningLate("late-V2", at(95), "V2", "P1", "K1", "V1", at(90),
                                "still_checked_in")
    manual = check_in(93, visit="V2", client="C2", method="manual")  # typed in at 11:10
    prompt, late = Flow(), Flow()
    for flow in (prompt, late):
        flow.tick(at(-60))
        flow.event(plan("V2", 90, "C2"), at(-60))
        flow.tick(at(100))
    prompt.event(report, at(100))
    for flow in (prompt, late):
        flow.tick(at(130))
        flow.event(manual, at(130))
    late.event(report, at(130))
    at_risk = [a for a in alerts(late.records) if a[1] == "at_risk"]
    assert at_risk == [a for a in alerts(prompt.records) if a[1] == "at_risk"] == [
        ("alert_raised", "at_risk", 2, at(95)), ("alert_resolved", "at_risk", 2, at(95))]


def test_when_each_fact_was_received_survives_the_store() -> None:
    from ecm.visits.state import StoredVisit

    flow = Flow()
    flow.tick(at(-60))
    flow.event(plan("V1", 0, "C1"), at(-60))
    flow.event(check_in(50, method="manual"), at(130))
    stored = flow.ledger.store.get("V1")
    assert stored is not None
    again = StoredVisit.decode(stored.encode())
    assert again.state.known == stored.state.known == {
        "plan-V1": at(-60), "in-V1-K1-50": at(130)}


def test_a_gated_worker_sends_the_warning_only_once_the_rota_gate_has_passed_it() -> None:
    # Workers replaying an extract (ecm.visits.gate): V1's warning is due at 10:35 by its
    # partition's ticks, but the carers' side has only been heard up to 10:00.
    ledger = VisitLedger(with_codes(reference()), DictStore(), gated=True)
    ledger.on_watermark(POSITION, at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), NEXT, check_in(0)):
        ledger.on_event(POSITION, event, at(-60))
    assert ledger.on_watermark(POSITION, at(120)).whereabouts == []  # nothing heard yet
    assert ledger.on_gate(POSITION, at(60)).whereabouts == []
    assert ledger.next_deadline(0) != at(95)  # waiting for the gate, not for a tick
    [report] = ledger.on_gate(POSITION, at(96)).whereabouts
    assert (report.visit_id, report.occurred_at) == ("V2", at(95))
    assert ledger.on_gate(POSITION, at(200)).whereabouts == []  # sent once


def test_a_gated_worker_that_restarts_still_sends_the_warning_it_held() -> None:
    store: DictStore = DictStore()
    first = VisitLedger(with_codes(reference()), store, gated=True)
    first.on_watermark(POSITION, at(-60))
    for event in (plan("V1", 0, "C1"), plan("V2", 90, "C2"), NEXT, check_in(0)):
        first.on_event(POSITION, event, at(-60))
    first.on_watermark(POSITION, at(120))
    first.on_event(POSITION, check_in(110, visit="V2", client="C2"), at(120))  # V1 stored
    again = VisitLedger(with_codes(reference()), store, gated=True)
    again.rebuild_index({0})
    [report] = again.on_gate(POSITION, at(96)).whereabouts
    assert (report.visit_id, report.occurred_at) == ("V2", at(95))
