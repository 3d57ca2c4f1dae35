"""Property tests: arrival order and redelivery change nothing (hypothesis)."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime, timedelta

from domain.builders import reference
from hypothesis import given, settings
from hypothesis import strategies as st

from ecm import contracts as c
from ecm.domain import events as d
from ecm.replay import Replayer
from ecm.visits.state import StoredVisit

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


@st.composite
def visit_events(draw):
    """A small rota with calls; every event arrives before its visit's deadlines pass."""
    events = []
    for n in range(draw(st.integers(1, 3))):
        vid, start = f"V{n}", T0 + timedelta(minutes=draw(st.integers(0, 240)))
        carers = draw(st.integers(1, 2))
        events.append(d.VisitPlanned(f"p{n}", T0 - timedelta(days=1), vid, "P1", "C1",
                                     "home_care", "standard", start,
                                     start + timedelta(minutes=draw(st.sampled_from([30, 45, 60]))),
                                     carers, draw(st.booleans())))
        if draw(st.booleans()):
            events.append(d.VisitCancelled(f"x{n}", start - timedelta(minutes=draw(
                st.integers(-30, 60))), vid, "P1", draw(st.sampled_from(
                    ["client", "provider", "hospital_admission"]))))
        for k in range(draw(st.integers(0, carers))):
            offset = draw(st.integers(-20, 40))
            t_in = start + timedelta(minutes=offset)
            method = draw(st.sampled_from(["app_gps", "telephony", "manual"]))
            reason = "R" if method == "manual" else None
            events.append(d.CarerCall(f"i{n}{k}", t_in, vid, "P1", "C1", f"K{k}", True, method,
                                      0, 10, reason))
            if draw(st.booleans()):
                events.append(d.CarerCall(f"i{n}{k}dup", t_in, vid, "P1", "C1", f"K{k}", True,
                                          method, 0, 10, reason))
            if draw(st.booleans()):
                t_out = t_in + timedelta(minutes=draw(st.integers(1, 70)))
                events.append(d.CarerCall(f"o{n}{k}", t_out, vid, "P1", "C1", f"K{k}", False,
                                          "app_gps", None, None, None))
    return events


def replay(events, story=None):
    """The end state of ``ecm replay`` over domain events: outcomes, alerts, exceptions."""
    replayer = Replayer(story)
    for record in reference_records():
        replayer.reference.add(record)
    for offset, event in enumerate(events):
        replayer.visit(offset, event)
    result = replayer.finish(len(events))
    return [[c.dump_event(r) for r in part]
            for part in (result.outcomes, result.alerts, result.exceptions)] + [result.kpi_rows]


def reference_records():
    ref = reference()
    return [*ref.clients.all(), *ref.carers.all(), *ref.packages.all(), *ref.rate_cards.all()]


def segments(events):
    """Group events between consecutive possible deadlines (in time order).

    Delivering the groups in order, each in any order, never lets the watermark pass a
    deadline before an event that could affect it has arrived: the premise of the rule.
    """
    cuts = set()
    for e in events:
        if isinstance(e, d.VisitPlanned):
            cuts |= {e.planned_start + timedelta(minutes=m) for m in (15, 30, 120)}
            cuts.add(e.planned_end + timedelta(minutes=60))
        if isinstance(e, d.CarerCall) and e.check_in:
            cuts.add(e.occurred_at + timedelta(minutes=60))
    ordered_cuts = sorted(cuts)
    groups = {}
    for e in events:
        groups.setdefault(bisect_left(ordered_cuts, e.occurred_at), []).append(e)
    return [sorted(groups[k], key=lambda e: e.event_id) for k in sorted(groups)]


@settings(max_examples=300, deadline=None)
@given(events=visit_events(), data=st.data())
def test_any_order_before_deadlines_pass_gives_identical_outputs(events, data):
    shuffled, in_time_order = [], []
    for group in segments(events):
        in_time_order += sorted(group, key=lambda e: (e.occurred_at, e.event_id))
        shuffled += data.draw(st.permutations(group))
    assert replay(shuffled) == replay(in_time_order)


@settings(max_examples=300, deadline=None)
@given(events=visit_events(), data=st.data())
def test_delivering_any_event_twice_changes_nothing(events, data):
    index = data.draw(st.integers(0, len(events) - 1))
    later = data.draw(st.integers(index, len(events)))
    twice = events[:later] + [events[index]] + events[later:]
    assert replay(twice) == replay(events)


@settings(max_examples=100, deadline=None)
@given(events=visit_events())
def test_stored_visits_round_trip_through_their_stored_form(events):
    stored = []
    replayer = Replayer()
    for offset, event in enumerate(events):
        replayer.visit(offset, event)
    replayer.finish(len(events))
    for visit in replayer.stored_visits():
        copy = StoredVisit.decode(visit.encode())
        assert (copy.state.events, copy.state.alerts, copy.published, copy.judged) == (
            visit.state.events, visit.state.alerts, visit.published, visit.judged)
        stored.append(copy)
    assert len(stored) == len({e.visit_id for e in events})
