"""At risk: a planned carer who cannot reach their next visit on time is known early.

Visit V1 (09:00-10:00, carer K1) comes before V2 (planned 10:30) on K1's rota; the
rota says K1 must leave V1 by 10:35 (10:30 + the 15-minute window - 10 minutes of
travel). The shortest stay at V1 that is not a short visit is 48 minutes (0.8 x 60), so K1
checking in after 09:47 cannot leave by 10:35 without a short visit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ecm.domain import events as d
from ecm.domain.atrisk import NextStop, Reason, leave_by, next_visit_event, onward
from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.judgement import Judgement, judge
from ecm.domain.visit import NO_ALERTS, AlertMemory, VisitState

from .builders import T0, acknowledged, at, cancelled, check_in, check_out, reference, with_codes

NEXT_START = at(90)  # 10:30
LEAVE_BY = at(95)  # 10:35


def plan(visit="V1", start=0, minutes=60, carers=("K1",), client="C1", eid=None,
         occurred=None) -> d.VisitPlanned:
    begin = at(start)
    return d.VisitPlanned(eid or f"plan-{visit}", occurred or T0 - timedelta(days=1), visit,
                          "P1", client, "home_care", "standard", begin,
                          begin + timedelta(minutes=minutes), 1, False, None, tuple(carers))


def next_visit(carer="K1", visit="V1", travel_minutes=10) -> d.NextVisitPlanned:
    stop = NextStop("V2", "P1", NEXT_START, 15, travel_minutes * 60)
    return next_visit_event(carer, visit, "P1", stop, T0 - timedelta(hours=12))


def report(minute: float, start=NEXT_START, carer="K1", reason="still_checked_in"):
    return d.CarerRunningLate(f"late-{minute}-{carer}", at(minute), "V2", "P1", carer, "V1",
                              start, reason)


def judged(visit: str, *events, watermark: datetime = END_OF_TIME, memory=NO_ALERTS,
           inclusive: bool = True) -> Judgement:
    state = VisitState(visit)
    for event in events:
        state.apply(event)
    return judge(state.facts(), memory, with_codes(reference()), watermark, inclusive)


def test_leave_by_is_the_next_start_plus_the_window_less_the_travel() -> None:
    assert leave_by(NEXT_START, 15, 600) == LEAVE_BY
    assert next_visit().leave_by == LEAVE_BY


# The visit before: when does it say the carer cannot make it, and why?
@pytest.mark.parametrize(
    ("calls", "due", "reason", "fires"),
    [
        ([check_in(0), check_out(60)], LEAVE_BY, Reason.STILL_CHECKED_IN, False),
        ([check_in(0), check_out(95)], LEAVE_BY, Reason.STILL_CHECKED_IN, False),
        ([check_in(0), check_out(96)], LEAVE_BY, Reason.STILL_CHECKED_IN, True),
        ([check_in(0)], LEAVE_BY, Reason.STILL_CHECKED_IN, True),
        ([check_in(47)], LEAVE_BY, Reason.STILL_CHECKED_IN, True),
        ([check_in(47), check_out(94)], LEAVE_BY, Reason.STILL_CHECKED_IN, False),
        ([check_in(48)], at(48), Reason.CHECKED_IN_LATE, True),
        ([check_in(100)], at(100), Reason.CHECKED_IN_LATE, True),
        ([], LEAVE_BY, Reason.NOT_ARRIVED, True),
        ([check_out(90, method="manual")], LEAVE_BY, Reason.NOT_ARRIVED, False),
        ([check_out(96)], LEAVE_BY, Reason.NOT_ARRIVED, True),
        ([cancelled("client", -60)], LEAVE_BY, Reason.NOT_ARRIVED, False),
        ([cancelled("provider", 30)], LEAVE_BY, Reason.NOT_ARRIVED, False),
        ([cancelled("provider", 96)], LEAVE_BY, Reason.NOT_ARRIVED, True),
    ],
)
def test_the_visit_before_knows_when_its_carer_can_no_longer_be_on_time(
    calls, due, reason, fires
) -> None:
    state = VisitState("V1")
    for event in (plan(), next_visit(), *calls):
        state.apply(event)
    [line] = onward(state.facts(), reference().policy("L1", "home_care", T0.date()))
    assert (line.due_at, line.reason, line.fires) == (due, reason, fires)


def test_a_carer_the_visit_no_longer_names_or_without_a_next_visit_has_no_onward_line() -> None:
    policy = reference().policy("L1", "home_care", T0.date())
    others = VisitState("V1")
    for event in (plan(carers=("K2",)), next_visit()):
        others.apply(event)
    assert onward(others.facts(), policy) == []
    last = VisitState("V1")
    later = next_visit_event("K1", "V1", "P1", None, T0 - timedelta(hours=1), seq=2)
    for event in (plan(), next_visit(), later):
        last.apply(event)
    assert [line for line in onward(last.facts(), policy) if line.fires] == []


# Which word of the rota counts: the one in force when the journey was lost.
def word(seq: int, said: float | None, start: float = 90, travel_minutes: int = 10,
         nxt: str | None = "V2") -> d.NextVisitPlanned:
    """The rota's word ``seq`` to V1 about K1, said when the watermark was at ``said``."""
    stop = None if nxt is None else NextStop(nxt, "P1", at(start), 15, travel_minutes * 60)
    return next_visit_event("K1", "V1", "P1", stop, T0 - timedelta(hours=12), seq,
                            said_at=None if said is None else at(said))


@pytest.mark.parametrize(
    ("words", "sent"),
    [
        # One word: the carer, at V1 until 10:40, had to leave by 10:35 to reach V2.
        ([word(1, -60)], ("V2", at(95), at(90))),
        # V2 moved to 11:30 at 10:00, before the carer had to leave: no warning.
        ([word(1, -60), word(2, 60, start=150)], None),
        # ... moved only at 10:40, after the carer had to leave: the warning stands.
        ([word(1, -60), word(2, 100, start=150)], ("V2", at(95), at(90))),
        # The carer's next visit became V3 (10:32, leave by 10:37) at 10:00: V3 is warned.
        ([word(1, -60), word(2, 60, start=92, nxt="V3")], ("V3", at(97), at(92))),
        # V2 moved to 10:00 (leave by 10:05) at 10:10: the word came after the carer had to
        # leave, so the warning is as of 10:05 and V2's new start.
        ([word(1, -60), word(2, 70, start=60)], ("V2", at(65), at(60))),
        # The last visit of the carer's day from 10:00: no next visit to warn.
        ([word(1, -60), word(2, 60, nxt=None)], None),
        # A word said before any watermark replaces the one before it from the start.
        ([word(1, None), word(2, None, start=92)], ("V2", at(97), at(92))),
    ],
)
def test_the_word_in_force_when_the_journey_was_lost_decides_the_warning(words, sent) -> None:
    events = (plan(), *words, check_in(0), check_out(100))
    for order in (events, tuple(reversed(events))):  # whatever order the words arrived in
        judgement = judged("V1", *order)
        got = [(r.visit_id, r.occurred_at, r.planned_start) for r in judgement.reported]
        assert got == ([] if sent is None else [sent])


def test_of_two_words_about_one_next_visit_the_first_decided_is_the_warning() -> None:
    # Word 1: leave by 10:35; word 2 (said at 10:40): V2 moved to 10:40, leave by 10:45.
    # Both journeys are lost; the warning decided first (10:35) is the one sent, whether
    # the visit is judged at 10:41, at 11:00 or at the end, and whatever it heard first.
    events = (plan(), word(1, -60), word(2, 100, start=100), check_in(0))
    for watermark in (at(101), at(120), END_OF_TIME):
        [sent] = judged("V1", *events, watermark=watermark).reported
        assert (sent.occurred_at, sent.planned_start) == (at(95), at(90))


def test_a_warning_decided_after_the_gate_waits_for_it() -> None:
    # Workers replaying an extract: the visit may send a warning only once every word the
    # rota said before it was decided has arrived (the gate).
    state = VisitState("V1")
    for event in (plan(), word(1, -60), check_in(0)):
        state.apply(event)
    policy = with_codes(reference())
    held = judge(state.facts(), NO_ALERTS, policy, at(120), gate=at(95))
    assert held.reported == () and held.held == at(95)
    free = judge(state.facts(), NO_ALERTS, policy, at(120), gate=at(96))
    assert [r.occurred_at for r in free.reported] == [at(95)] and free.held is None
    ungated = judge(state.facts(), NO_ALERTS, policy, at(120))
    assert ungated.reported == free.reported and ungated.held is None


def test_reports_decided_together_go_out_in_the_order_of_their_instants() -> None:
    # A double-handed visit, both carers going on to V2: K2 checks in at 10:20, too late
    # to stay the shortest visit and leave by 10:35 (report at 10:20); K1 is still checked
    # in at 10:35 (report at 10:35). Judged only once both have passed (a worker releasing
    # what the gate held), the earlier goes first, as one judgement at each instant would
    # have sent them: V2 is at risk from the first report it receives.
    events = (plan(carers=("K1", "K2")), next_visit("K1"), next_visit("K2"),
              check_in(0, carer="K1"), check_in(80, carer="K2"))
    sent = judged("V1", *events, watermark=at(120)).reported
    assert [(r.carer_id, r.occurred_at, r.reason) for r in sent] == [
        ("K2", at(80), "checked_in_late"), ("K1", at(95), "still_checked_in")]


def test_a_travel_unknown_gives_no_time_to_leave_by() -> None:
    stop = NextStop("V2", "P1", NEXT_START, 15, None)
    assert next_visit_event("K1", "V1", "P1", stop, T0).leave_by is None


def test_the_visit_before_sends_one_report_at_the_instant_and_wakes_for_it() -> None:
    events = (plan(), next_visit(), check_in(0))
    before = judged("V1", *events, watermark=at(95), inclusive=False)
    assert before.reported == () and before.wake == (LEAVE_BY, "onward")
    fired = judged("V1", *events, watermark=at(95), inclusive=True)
    [sent] = fired.reported
    assert (sent.visit_id, sent.carer_id, sent.occurred_at, sent.planned_start, sent.reason) == (
        "V2", "K1", LEAVE_BY, NEXT_START, "still_checked_in")
    again = judged("V1", *events, watermark=at(200), memory=fired.memory)
    assert again.reported == () and again.reports == fired.reported


def test_the_onward_warning_is_not_an_alert_of_the_visit_before() -> None:
    judgement = judged("V1", plan(), next_visit(), check_in(0), check_out(120))
    assert all(c.kind.value != "at_risk" for c in judgement.record)
    assert len(judgement.reports) == 1


# The visit after: the at_risk alert.
def alerts_of(judgement: Judgement) -> list[tuple[str, bool, datetime, str | None]]:
    return [(c.kind.value, c.raised, c.at, c.resolution) for c in judgement.record]


V2 = plan("V2", start=90, client="C2")
UNWARNED = [("not_arrived", True, at(120), None), ("missed", True, at(210), None)]


@pytest.mark.parametrize(
    ("events", "alerts"),
    [
        ([report(95), check_in(110, visit="V2", client="C2")],
         [("at_risk", True, at(95), None), ("at_risk", False, at(110), "checked_in")]),
        ([report(95)],
         [("at_risk", True, at(95), None), ("not_arrived", True, at(120), None),
          ("missed", True, at(210), None)]),
        ([report(95), check_in(93, visit="V2", client="C2")], []),
        ([report(95), cancelled("hospital_admission", 100, visit="V2")],
         [("at_risk", True, at(95), None), ("at_risk", False, at(100), "cancelled")]),
        ([report(95, start=at(80))], UNWARNED),
        ([report(95, carer="K2")], UNWARNED),
        ([report(120)], UNWARNED),
        ([report(80, reason="checked_in_late"), report(95)],
         [("at_risk", True, at(80), None), ("not_arrived", True, at(120), None),
          ("missed", True, at(210), None)]),
    ],
)
def test_the_visit_after_is_at_risk_from_the_first_report_that_applies(events, alerts) -> None:
    got = [a for a in alerts_of(judged("V2", V2, *events)) if a[0] != "no_checkout"]
    assert sorted(got, key=lambda a: (a[2], not a[1])) == sorted(
        alerts, key=lambda a: (a[2], not a[1]))


def test_a_rota_change_after_the_warning_resolves_it() -> None:
    change = d.VisitChanged("chg", at(100), "V2", "P1", at(120), at(180), 1, False, None)
    got = alerts_of(judged("V2", V2, report(95), change))
    assert ("at_risk", False, at(100), "rota_changed") in got


def test_a_report_about_a_plan_changed_before_it_does_not_apply() -> None:
    change = d.VisitChanged("chg", at(60), "V2", "P1", at(120), at(180), 1, False, None)
    got = alerts_of(judged("V2", V2, change, report(95)))
    assert all(a[0] != "at_risk" for a in got)


def test_a_report_never_delays_not_arrived_or_missed() -> None:
    without = alerts_of(judged("V2", V2))
    with_report = alerts_of(judged("V2", V2, report(95)))
    assert [a for a in with_report if a[0] != "at_risk"] == without


def test_at_risk_can_be_acknowledged_and_never_escalates_on_its_own() -> None:
    quiet = judged("V2", V2, report(95), watermark=at(119))
    assert quiet.workflow is not None and quiet.workflow.alerts == ()
    assert quiet.wake == (at(120), "not_arrived")
    handled = judged("V2", V2, report(95), acknowledged(100, kind="at_risk", visit="V2"),
                     watermark=at(119))
    assert handled.workflow is not None
    assert [(m.kind, m.action) for m in handled.workflow.alerts] == [("at_risk", "acknowledged")]
    assert handled.refused == {}


def test_the_report_and_the_next_visit_word_survive_a_round_trip_through_storage() -> None:
    from ecm.domain.serial import event_from_dict, event_to_dict

    for event in (report(95), next_visit(),
                  next_visit_event("K1", "V1", "P1", None, T0)):
        assert event_from_dict(event_to_dict(event)) == event


def test_the_memory_of_sent_reports_is_kept_apart_from_alerts() -> None:
    fired = judged("V1", plan(), next_visit(), check_in(0), watermark=at(100))
    assert set(fired.memory.raised) >= {"onward:K1:V2"}
    assert isinstance(fired.memory, AlertMemory)
