"""Judging one visit: the one call that says what its facts add up to at an instant.

``judge`` resolves the visit's context and alert deadlines once and returns everything
that follows from them in one value: the alerts fired or settled, the alert record as it
stands, the outcome, the exceptions and the next instant at which the passing of time
alone could change any of it. It changes nothing: the caller keeps ``Judgement.alerts``
as the visit's alert memory. Rules: docs/rules.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ecm.domain.acts import ESCALATION, Workflow, fold_workflow, settle_facts, unknown_visit
from ecm.domain.alerts import AlertChange, fire, history
from ecm.domain.atrisk import (
    ONWARD,
    Onward,
    fire_onward,
    held,
    onward,
    reports_sent,
    running_late,
)
from ecm.domain.context import VisitContext, context_of
from ecm.domain.deadlines import (
    AlertKind,
    AlertTimeline,
    arrival_deadline,
    checkout_deadline,
    missed_deadline,
    passed,
    timelines,
)
from ecm.domain.events import CarerRunningLate
from ecm.domain.exceptions import VisitException, orphan_exceptions, visit_exceptions
from ecm.domain.outcome import VisitOutcome, derive_outcome, implausible_after
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import AlertMemory, VisitFacts
from ecm.domain.workflow import INFORMATIONAL_KINDS, Refused

BEFORE_ANY_CLOCK = datetime.min.replace(tzinfo=UTC)
"""Where a judgement without a clock counts deadlines from: none has been judged yet."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """Everything one visit's facts say at instant ``at``.

    ``fired`` are the alerts raised or resolved for the first time by this judgement (the
    live notifications); ``record`` is the visit's alert history as it now stands;
    ``memory`` is what to remember for the next judgement; ``wake`` is the earliest later
    instant at which time alone could change the judgement, with the kind of deadline it
    is (``None``: never; judged without a clock, the earliest deadline not yet fired,
    even one before ``at``: the first clock fires it). ``workflow`` is where its
    exceptions and alerts stand with the acts of people (``None`` for a visit with no
    act, no exception needing a decision, no raised alert); ``refused`` the acts the
    workflow refuses, by event id, with why. ``reported`` are the reports to the planned
    carers' next visits that they cannot be on time (docs/rules.md, "At risk") sent for
    the first time by this judgement; ``reports`` every such report the visit has sent,
    as remembered.
    """

    visit_id: str
    at: datetime
    inclusive: bool
    outcome: VisitOutcome | None
    exceptions: tuple[VisitException, ...]
    fired: tuple[AlertChange, ...]
    record: tuple[AlertChange, ...]
    memory: AlertMemory
    wake: tuple[datetime, str] | None
    workflow: Workflow | None = None
    refused: Mapping[str, Refused] = field(default_factory=dict)
    reported: tuple[CarerRunningLate, ...] = ()
    reports: tuple[CarerRunningLate, ...] = ()
    held: datetime | None = None
    """The earliest ``Onward.decided_at`` of a warning due but held back by the gate (judge
    the visit again once the gate has passed it); ``wake`` says nothing of it."""


def judge(
    facts: VisitFacts,
    memory: AlertMemory,
    reference: ReferenceData,
    at: datetime,
    inclusive: bool = False,
    fire_alerts: bool = True,
    gate: datetime | None = None,
) -> Judgement:
    """Judge a visit at event time ``at`` (deadlines exactly at ``at`` count if ``inclusive``).

    Without ``fire_alerts`` (no clock has started yet) no alert is raised or resolved.
    ``gate``: the event time up to which every word of the carers' rotas has reached the
    visit (workers replaying an extract); an onward warning decided later is held back
    (``Judgement.held``) until it moves. A pure function of the facts, the alerts already
    raised, the reference data, the instant and the gate: the same inputs always give an
    equal judgement.
    """
    context = context_of(facts, reference)
    if context is None:
        orphans = tuple(orphan_exceptions(facts))
        return Judgement(facts.visit_id, at, inclusive, None, orphans, (), (), memory, None,
                         refused=unknown_visit(facts))
    refused: dict[str, Refused] = {}
    if facts.acts or facts.corrections:
        facts = settle_facts(facts, context, reference, refused)
        context = context_of(facts, reference) or context
    lines = tuple(timelines(facts, context.policy))
    onwards = tuple(onward(facts, context.policy)) if facts.next_visits else ()
    fired: list[AlertChange] = []
    reported: list[Onward] = []
    if fire_alerts:
        fired, memory = fire(facts.visit_id, context, lines, memory, at, inclusive)
        if onwards:
            reported, memory = fire_onward(onwards, memory, at, inclusive, gate)
    outcome = derive_outcome(facts, context, reference, at, inclusive)
    exceptions = tuple(visit_exceptions(facts, context, outcome, reference))
    record = tuple(history(facts.visit_id, context, lines, memory))
    # Without a clock nothing has fired: a deadline already behind ``at`` is still to come
    # for the first clock, so it stays the wake (or no tick would ever judge it).
    since = at if fire_alerts else BEFORE_ANY_CLOCK
    wake = _wake_at(facts, context, lines, memory, since, inclusive)
    wake = _onward_wake(onwards, memory, since, inclusive, wake)
    workflow = None
    if facts.acts or facts.held or memory.raised or any(
            e.kind.value not in INFORMATIONAL_KINDS for e in exceptions):
        workflow = fold_workflow(facts, context, lines, memory, exceptions, reference, at,
                                 inclusive, refused)
        if (workflow.in_dispute, workflow.needs_decision) != (outcome.in_dispute,
                                                               outcome.needs_decision):
            outcome = replace(outcome, in_dispute=workflow.in_dispute,
                              needs_decision=workflow.needs_decision)
        if workflow.wake is not None and (wake is None or workflow.wake < wake[0]):
            wake = (workflow.wake, ESCALATION)
    waiting = held(onwards, memory, at, inclusive, gate) if onwards and fire_alerts else None
    return Judgement(facts.visit_id, at, inclusive, outcome, exceptions, tuple(fired), record,
                     memory, wake, workflow, refused,
                     tuple(running_late(facts, line) for line in reported),
                     tuple(reports_sent(facts, onwards, memory)) if onwards else (), waiting)


def _onward_wake(
    onwards: tuple[Onward, ...], memory: AlertMemory, at: datetime, inclusive: bool,
    wake: tuple[datetime, str] | None,
) -> tuple[datetime, str] | None:
    """``wake``, or the next onward warning to send if that is earlier (docs/rules.md)."""
    for line in onwards:
        if (line.fires and line.key not in memory.raised
                and not passed(line.due_at, at, inclusive)
                and (wake is None or line.due_at < wake[0])):
            wake = (line.due_at, ONWARD)
    return wake


def _wake_at(
    facts: VisitFacts,
    context: VisitContext,
    lines: tuple[AlertTimeline, ...],
    memory: AlertMemory,
    at: datetime,
    inclusive: bool,
) -> tuple[datetime, str] | None:
    """The earliest instant after ``at`` at which a later judgement could differ, and why."""
    instants = [(line.due_at, line.kind.value) for line in lines
                if line.fires and line.kind not in memory.raised]
    checked_in, policy = facts.checked_in, context.policy
    if facts.plan is not None:
        missed, arrival = missed_deadline(facts, policy), arrival_deadline(facts, policy)
        frustrated = facts.frustration is not None
        if not checked_in and not facts.cancelled and not frustrated and missed is not None:
            instants.append((missed, AlertKind.MISSED.value))
        if len(checked_in) < facts.plan.carers_required and arrival is not None:
            instants.append((arrival, AlertKind.NOT_ARRIVED.value))
    if any(c.check_out is None for c in checked_in):
        due = checkout_deadline(facts, policy)
        first = facts.first_check_in
        if due is None and first is not None:  # unscheduled: the longest plausible visit
            due = first + timedelta(seconds=implausible_after(context))
        if due is not None:
            instants.append((due, AlertKind.NO_CHECKOUT.value))
    later = [wake for wake in instants if not passed(wake[0], at, inclusive)]
    return min(later) if later else None
