"""Property tests with acts: redelivering an act changes nothing (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

from domain.builders import CODES, reference, with_codes
from hypothesis import given, settings
from hypothesis import strategies as st

from ecm import contracts as c
from ecm.domain import events as d
from ecm.replay import Replayer

from .test_order_and_duplicates import T0, visit_events

LATE = T0 + timedelta(days=2)  # after every deadline of the generated rota


@st.composite
def visits_with_acts(draw):
    """A rota with its calls, then acts about it (explanations before their decisions)."""
    events = draw(visit_events())
    explanations, decisions, others = [], [], []
    for n, visit_id in enumerate(sorted({e.visit_id for e in events})):
        at = LATE + timedelta(minutes=10 * n)
        exception = draw(st.sampled_from([f"{visit_id}:manual_entry:K0", f"{visit_id}:no_check_in",
                                          f"{visit_id}:no_check_out:K0"]))
        if draw(st.booleans()):
            explanations.append(d.ExceptionExplained(
                f"x{n}", at, visit_id, "P1", "office", "provider", exception, "traffic"))
        if draw(st.booleans()):
            decisions.append(d.ExceptionDecided(
                f"d{n}", at + timedelta(minutes=1), visit_id, "P1", "cm", "contract_manager",
                exception, draw(st.booleans()), "evidence_accepted"))
        if draw(st.booleans()):
            kind = draw(st.sampled_from(["not_arrived", "missed", "no_checkout"]))
            others.append(draw(st.sampled_from([
                d.AlertAcknowledged(f"a{n}", at, visit_id, "P1", "oncall", "provider",
                                    f"{visit_id}:{kind}", "on it"),
                d.AlertClosed(f"a{n}", at, visit_id, "P1", "duty", "duty_officer",
                              f"{visit_id}:{kind}", "carer_sent"),
                d.AlertEscalated(f"a{n}", at, visit_id, "P1", "duty", "duty_officer",
                                 f"{visit_id}:{kind}", "manager"),
            ])))
    return events, explanations + others + decisions


def replay(events):
    """Every record the live path publishes, every refusal, and the end state."""
    story: list[bytes] = []
    replayer = Replayer(lambda record: story.append(c.dump_event(record)))
    ref = with_codes(reference(), CODES)
    for record in [*ref.clients.all(), *ref.carers.all(), *ref.packages.all(),
                   *ref.rate_cards.all(), *ref.code_lists.values()]:
        replayer.reference.add(record)
    for offset, event in enumerate(events):
        replayer.visit(offset, event)
    result = replayer.finish(len(events))
    ends = [[c.dump_event(r) for r in part]
            for part in (result.outcomes, result.alerts, result.exceptions)]
    return ends, result.kpi_rows, sorted({r.event_id for r in result.refused})


@settings(max_examples=150, deadline=None)
@given(generated=visits_with_acts(), data=st.data())
def test_delivering_an_act_twice_changes_nothing(generated, data):
    facts, acts = generated
    if not acts:
        return
    index = data.draw(st.integers(0, len(acts) - 1))
    later = data.draw(st.integers(index + 1, len(acts)))
    twice = acts[:later] + [acts[index]] + acts[later:]
    once_ends, once_kpis, once_refused = replay(facts + acts)
    twice_ends, twice_kpis, twice_refused = replay(facts + twice)
    assert (twice_ends, twice_kpis) == (once_ends, once_kpis)
    assert twice_refused == once_refused
