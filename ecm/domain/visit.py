"""One visit's state: the set of its events, and what they add up to.

The state keeps every event once, by ``event_id`` (a redelivery changes nothing), plus
the alerts already fired. Everything else is *derived* by folding the events sorted by
``(occurred_at, event_id)``, so the arrival order never matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ecm.domain.calls import CarerCalls
from ecm.domain.events import (
    EXCUSED_CANCELLERS,
    CallTimeCorrected,
    CancelledBy,
    CarerCall,
    CarerRunningLate,
    NextVisitPlanned,
    StayQuestioned,
    VisitCancelled,
    VisitChanged,
    VisitEvent,
    VisitFrustrated,
    VisitPlanned,
    WorkflowAct,
)


@dataclass(frozen=True, slots=True)
class Plan:
    """The visit as currently planned (the latest plan or change wins)."""

    provider_id: str
    client_id: str
    service: str
    tier: str
    package_id: str | None
    start: datetime
    end: datetime
    carers_required: int
    time_critical: bool
    planned_carer_ids: tuple[str, ...] = ()
    """The carers planned for the visit, as the provider named them (none: ``()``)."""

    @property
    def seconds(self) -> int:
        """Planned duration in seconds."""
        return int((self.end - self.start).total_seconds())


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A different event repeating a fact already known (same carer, kind and time)."""

    event: CarerCall
    original_event_id: str


@dataclass(slots=True)
class VisitFacts:
    """What a visit's events add up to, independent of the order they arrived in."""

    visit_id: str
    plan: Plan | None = None
    cancellation: VisitCancelled | None = None
    carers: dict[str, CarerCalls] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)
    first_call: CarerCall | None = None
    calls: list[CarerCall] = field(default_factory=list)
    orphans: list[VisitEvent] = field(default_factory=list)
    last_event_at: datetime | None = None
    checked_in: list[CarerCalls] = field(default_factory=list)
    """Carers with a check-in time, sorted by carer id (set by ``fold_visit``)."""
    first_check_in: datetime | None = None
    """The earliest check-in time that counts, if anyone checked in (set by ``fold_visit``)."""
    events: list[VisitEvent] = field(default_factory=list)
    """Every event, sorted (to fold again without some: ``ecm.domain.acts``)."""
    acts: list[WorkflowAct] = field(default_factory=list)
    """What people did about the visit, sorted; they change none of the facts above."""
    corrections: list[CallTimeCorrected] = field(default_factory=list)
    """Call-time corrections, sorted, whether or not they count."""
    held: tuple[str, ...] = ()
    """Late corrections left out until the council approves them (event ids)."""
    frustration: VisitFrustrated | None = None
    """The report that the carer could not deliver care, if one counts."""
    next_visits: dict[str, tuple[NextVisitPlanned, ...]] = field(default_factory=dict)
    """Each planned carer's next visit on their rota: every word, in the order said."""
    running_late: list[CarerRunningLate] = field(default_factory=list)
    """Reports from the visits before this one that a planned carer cannot be on time."""
    known: Mapping[str, datetime] = field(default_factory=dict)
    """Event id -> the watermark when ecm received it (``VisitState.known``); absent:
    before any watermark. What was known at an instant (``known_at``) decides "at risk"."""
    questioned: dict[str, StayQuestioned] = field(default_factory=dict)
    """What each carer's other calls say against their stay here, the latest by carer id."""

    def excuse_at(self) -> datetime | None:
        """When a cancellation excused the visit from alerts, if one did.

        A client, council or hospital-admission cancellation before the planned start
        excuses it; a hospital admission excuses it whenever it happens. A provider's
        cancellation never does (it counts as a missed visit).
        """
        cancel, plan = self.cancellation, self.plan
        if cancel is None or plan is None or cancel.cancelled_by not in EXCUSED_CANCELLERS:
            return None
        if cancel.cancelled_by == CancelledBy.HOSPITAL_ADMISSION:
            return cancel.occurred_at
        return cancel.occurred_at if cancel.occurred_at < plan.start else None

    @property
    def cancelled(self) -> bool:
        """Whether the visit counts as cancelled: excused, and nobody checked in."""
        return self.excuse_at() is not None and self.first_check_in is None


@dataclass(frozen=True, slots=True)
class AlertMemory:
    """What a visit's alerts have done so far: kind -> when raised, kind -> when resolved."""

    raised: Mapping[str, datetime]
    resolved: Mapping[str, datetime]

    @property
    def open(self) -> bool:
        """Whether an alert has been raised and not yet resolved."""
        return len(self.raised) > len(self.resolved)


NO_ALERTS = AlertMemory({}, {})


@dataclass(slots=True)
class VisitState:
    """Everything kept about one visit: its events (by id) and what its alerts did.

    Serialisable with ``ecm.domain.serial`` for a keyed table in a stream processor.
    """

    visit_id: str
    events: dict[str, VisitEvent] = field(default_factory=dict)
    alerts: AlertMemory = NO_ALERTS
    known: dict[str, datetime] = field(default_factory=dict)
    """Event id -> the watermark when the event was received, if one had started."""
    _facts: VisitFacts | None = None

    def apply(self, event: VisitEvent, received_at: datetime | None = None) -> bool:
        """Add one event; return False (and change nothing) if its id is already known.

        ``received_at`` is the watermark when it arrived (``None``: before any).
        """
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event
        if received_at is not None:
            self.known[event.event_id] = received_at
        self._facts = None
        return True

    def forget(self, event_id: str) -> None:
        """Remove an event (an act the workflow refused: it is dead-lettered, not kept)."""
        self.known.pop(event_id, None)
        if self.events.pop(event_id, None) is not None:
            self._facts = None

    def facts(self) -> VisitFacts:
        """Fold the events in ``(occurred_at, event_id)`` order (kept until the next apply)."""
        if self._facts is None:
            self._facts = fold_visit(self.visit_id, self.events.values())
            self._facts.known = self.known
        return self._facts


def known_at(facts: VisitFacts, instant: datetime) -> VisitFacts:
    """The visit's facts as ecm knew them at watermark ``instant``.

    Only the events received by then; ``facts`` itself when every event was.
    """
    late = {i for i, at in facts.known.items() if at > instant}
    if not late:
        return facts
    frustration = facts.frustration
    if frustration is not None and frustration.event_id in late:
        frustration = None
    view = fold_visit(facts.visit_id, [e for e in facts.events if e.event_id not in late],
                      held=facts.held, frustration=frustration)
    view.known = facts.known
    return view


def _sort_key(event: VisitEvent) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)


def fold_visit(
    visit_id: str,
    events: Iterable[VisitEvent],
    skip: frozenset[str] = frozenset(),
    held: tuple[str, ...] = (),
    frustration: VisitFrustrated | None = None,
) -> VisitFacts:
    """Fold a visit's events, in any order given, into its facts.

    Corrections in ``skip`` (held or refused by the council) are left out, and
    ``frustration`` is the report that counts, as ``ecm.domain.acts`` decides them.
    """
    facts = VisitFacts(visit_id, held=held, frustration=frustration)
    ordered = sorted(events, key=_sort_key)
    facts.events = ordered
    seen: dict[tuple[str, bool, datetime], str] = {}
    for event in ordered:
        if isinstance(event, CarerCall):
            _fold_call(facts, event, seen)
        elif isinstance(event, VisitPlanned):
            facts.plan = _plan_of(event)
            facts.cancellation = None
        elif isinstance(event, VisitChanged):
            _fold_change(facts, event)
        elif isinstance(event, VisitCancelled):
            facts.cancellation = event if facts.plan is not None else None
            if facts.plan is None:
                facts.orphans.append(event)
        elif isinstance(event, CallTimeCorrected):
            facts.corrections.append(event)
            if event.event_id not in skip:
                _carer(facts, event.carer_id).apply_correction(event)
        elif isinstance(event, NextVisitPlanned):
            words = facts.next_visits.get(event.carer_id, ())
            facts.next_visits[event.carer_id] = tuple(sorted(
                (*words, event), key=lambda word: (word.seq, word.event_id)))
        elif isinstance(event, CarerRunningLate):
            facts.running_late.append(event)
        elif isinstance(event, StayQuestioned):
            said = facts.questioned.get(event.carer_id)
            if said is None or (event.seq, event.event_id) > (said.seq, said.event_id):
                facts.questioned[event.carer_id] = event
        else:
            facts.acts.append(event)
    if facts.acts or facts.next_visits or facts.running_late or facts.questioned:
        # What people did about the visit, and what other visits said, are not its facts.
        acts = {act.event_id for act in facts.acts}
        facts_only = [e for e in ordered if e.event_id not in acts
                      and not isinstance(e, NextVisitPlanned | CarerRunningLate
                                         | StayQuestioned)]
        facts.last_event_at = facts_only[-1].occurred_at if facts_only else None
    elif ordered:
        facts.last_event_at = ordered[-1].occurred_at
    facts.checked_in = [c for _, c in sorted(facts.carers.items()) if c.check_in is not None]
    times = [c.check_in for c in facts.checked_in if c.check_in is not None]
    facts.first_check_in = min(times) if times else None
    return facts


def _carer(facts: VisitFacts, carer_id: str) -> CarerCalls:
    calls = facts.carers.get(carer_id)
    if calls is None:
        calls = facts.carers[carer_id] = CarerCalls(carer_id)
    return calls


def _fold_call(
    facts: VisitFacts, call: CarerCall, seen: dict[tuple[str, bool, datetime], str]
) -> None:
    key = (call.carer_id, call.check_in, call.occurred_at)
    original = seen.get(key)
    if original is not None:
        facts.duplicates.append(Duplicate(call, original))
        return
    seen[key] = call.event_id
    if facts.first_call is None:
        facts.first_call = call
    facts.calls.append(call)
    _carer(facts, call.carer_id).apply_call(call)


def _fold_change(facts: VisitFacts, change: VisitChanged) -> None:
    plan = facts.plan
    if plan is None:
        facts.orphans.append(change)
        return
    facts.plan = Plan(
        provider_id=plan.provider_id,
        client_id=plan.client_id,
        service=plan.service,
        tier=plan.tier,
        package_id=plan.package_id,
        start=change.planned_start,
        end=change.planned_end,
        carers_required=change.carers_required,
        time_critical=change.time_critical,
        planned_carer_ids=plan.planned_carer_ids if change.planned_carer_ids is None
        else change.planned_carer_ids,
    )
    facts.cancellation = None


def _plan_of(event: VisitPlanned) -> Plan:
    return Plan(
        provider_id=event.provider_id,
        client_id=event.client_id,
        service=event.service,
        tier=event.tier,
        package_id=event.package_id,
        start=event.planned_start,
        end=event.planned_end,
        carers_required=event.carers_required,
        time_critical=event.time_critical,
        planned_carer_ids=event.planned_carer_ids,
    )


