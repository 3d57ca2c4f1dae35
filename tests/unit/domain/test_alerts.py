"""Deadlines and alerts in event time: not arrived, missed, no check-out."""

from __future__ import annotations

import pytest

from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.judgement import judge
from ecm.domain.visit import VisitState

from .builders import at, cancelled, check_in, check_out, corrected, planned, reference


def fire_due(state, ref, watermark, inclusive=False):
    """Judge the visit and keep its alert memory, as the ledger does; return what fired."""
    judgement = judge(state.facts(), state.alerts, ref, watermark, inclusive)
    state.alerts = judgement.memory
    return list(judgement.fired)


def wake(state, ref, now):
    return judge(state.facts(), state.alerts, ref, now).wake


def run(*events, watermark=END_OF_TIME):
    state, ref, changes = VisitState("V1"), reference(), []
    for event in events:
        state.apply(event)
        changes += fire_due(state, ref, event.occurred_at)
    changes += fire_due(state, ref, watermark, inclusive=True)
    return [(c.kind.value, c.raised, c.at) for c in changes]


@pytest.mark.parametrize(
    ("check_in_minute", "alerts"),
    [
        (30, []),
        (31, [("not_arrived", True, at(30)), ("not_arrived", False, at(31))]),
        (120, [("not_arrived", True, at(30)), ("not_arrived", False, at(120))]),
        (121, [("not_arrived", True, at(30)), ("missed", True, at(120)),
               ("missed", False, at(121)), ("not_arrived", False, at(121))]),
    ],
)
def test_not_arrived_and_missed_alerts_fire_at_their_deadlines(check_in_minute, alerts):
    got = run(planned(), check_in(check_in_minute), check_out(check_in_minute + 60))
    arrival = [a for a in got if a[0] != "no_checkout"]
    assert sorted(arrival, key=lambda a: (a[2], not a[1], a[0])) == sorted(
        alerts, key=lambda a: (a[2], not a[1], a[0]))


def test_time_critical_visit_not_arrived_fires_at_15_minutes():
    got = run(planned(critical=True), check_in(16), check_out(60))
    assert ("not_arrived", True, at(15)) in got


def test_time_critical_check_in_at_15_minutes_raises_nothing():
    assert run(planned(critical=True), check_in(15), check_out(60)) == []


def test_missed_then_late_check_in_resolves_and_counts_as_late_not_missed():
    got = run(planned(), check_in(150), check_out(200))
    assert ("missed", True, at(120)) in got and ("missed", False, at(150)) in got


@pytest.mark.parametrize("by", ["client", "council", "hospital_admission"])
def test_cancellation_before_start_raises_no_alert(by):
    assert run(planned(), cancelled(by, -10)) == []


def test_provider_cancellation_counts_as_missed_and_alerts():
    got = run(planned(), cancelled("provider", -10))
    assert ("missed", True, at(120)) in got


def test_no_checkout_fires_at_planned_end_plus_60_and_resolves_on_check_out():
    got = run(planned(), check_in(0), check_out(150))
    assert got == [("no_checkout", True, at(120)), ("no_checkout", False, at(150))]


def test_check_out_exactly_at_the_no_checkout_deadline_raises_nothing():
    assert run(planned(), check_in(0), check_out(120)) == []


def test_correction_resolves_no_checkout_when_it_is_made():
    got = run(planned(), check_in(0), corrected(False, 60, 180))
    assert got == [("no_checkout", True, at(120)), ("no_checkout", False, at(180))]


def test_the_next_wake_up_is_the_earliest_deadline_that_could_still_change_the_visit():
    state, ref = VisitState("V1"), reference()
    state.apply(planned())
    assert wake(state, ref, at(-60)) == (at(30), "not_arrived")
    # The not_arrived alert raised at 30 escalates at 30 + 15 unless acknowledged first.
    assert wake(state, ref, at(31)) == (at(45), "escalation")
    assert wake(state, ref, at(61)) == (at(120), "missed")  # escalated to the manager at 60
    state.apply(check_in(5))
    assert wake(state, ref, at(5)) == (at(120), "no_checkout")
    state.apply(check_out(50))
    assert wake(state, ref, at(50)) is None


def test_a_double_handed_visit_with_one_carer_in_wakes_at_the_arrival_deadline():
    state, ref = VisitState("V1"), reference()
    state.apply(planned(carers=2))
    state.apply(check_in(5))
    assert wake(state, ref, at(5)) == (at(30), "not_arrived")


def test_judging_changes_nothing_in_the_state_it_is_given():
    state, ref = VisitState("V1"), reference()
    state.apply(planned())
    before = state.alerts
    judgement = judge(state.facts(), state.alerts, ref, at(200))
    assert len(judgement.fired) == 2 and state.alerts is before and not before.raised


def test_firing_twice_or_with_an_older_watermark_returns_nothing_new():
    state, ref = VisitState("V1"), reference()
    state.apply(planned())
    assert len(fire_due(state, ref, at(200))) == 2
    assert fire_due(state, ref, at(200)) == [] and fire_due(state, ref, at(10)) == []


def test_alert_fire_time_is_the_deadline_whatever_the_watermark_jump():
    slow = run(planned(), check_in(400), check_out(460))
    state, ref = VisitState("V1"), reference()
    state.apply(planned())
    jump = fire_due(state, ref, at(10_000))
    assert [(c.kind.value, c.at) for c in jump] == [("not_arrived", at(30)), ("missed", at(120))]
    assert ("not_arrived", True, at(30)) in slow
