"""Rota realism: a carer's planned day, and whether it leaves the time travel needs.

A carer's planned day is the visits naming them among the planned carers
(``Plan.planned_carer_ids``) whose planned start falls on that local day, not cancelled,
in order of planned start. Between two consecutive visits the rota leaves a gap (the
later start minus the earlier end); the travel between the two clients' homes is
estimated by ``ecm.domain.travel`` under the later visit's rules. A gap shorter than
the travel is unrealistic: an ``insufficient_travel_time`` exception on the later visit
for that carer (docs/rules.md, "Rota realism").

Keyed by carer, like ``ecm.domain.carers``: a change to one visit re-judges only the
carer's days it was and is on, so the cost of a change does not grow with history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from ecm.domain.calendar import day_start_utc, local_date
from ecm.domain.context import VisitContext, context_of
from ecm.domain.events import VisitCancelled, VisitChanged, VisitPlanned
from ecm.domain.exceptions import ExceptionKind, VisitException, exception_id
from ecm.domain.reference import ReferenceData
from ecm.domain.travel import Travel, client_travel
from ecm.domain.visit import Plan, VisitFacts, fold_visit

ScheduleEvent = VisitPlanned | VisitChanged | VisitCancelled
"""What puts a visit on a carer's rota, moves it or takes it off."""

ROTA_HISTORY = timedelta(days=28)
"""How far back from the latest planned day a carer's rota is kept (a worker's memory)."""


class GapStatus(StrEnum):
    """What can be said of the time a carer's rota leaves before one visit."""

    JUDGED = "judged"
    """A visit after another the same day, with the travel between them estimated."""
    FIRST_OF_DAY = "first_of_day"
    """The carer's first visit of the day: no gap to judge."""
    TRAVEL_UNKNOWN = "travel_unknown"
    """A client's registered location is unknown: the travel is not estimated."""
    WITHDRAWN = "withdrawn"
    """The visit is no longer on the carer's rota (cancelled, or another carer planned)."""


@dataclass(frozen=True, slots=True)
class TravelGap:
    """The time a carer's rota leaves before one visit, and the travel it needs.

    ``gap_seconds`` may be negative (the plan overlaps the previous visit). ``at`` is
    when the rota came to say so: the latest schedule event of the two visits.
    """

    carer_id: str
    visit_id: str
    provider_id: str
    client_id: str
    lot_id: str | None
    service: str | None
    day: date
    week: str
    status: GapStatus
    at: datetime
    previous_visit_id: str | None = None
    previous_client_id: str | None = None
    gap_seconds: int | None = None
    travel_seconds: int | None = None
    straight_m: int | None = None

    @property
    def short(self) -> bool:
        """Whether the rota leaves less time than the travel needs."""
        return (self.status is GapStatus.JUDGED and self.gap_seconds is not None
                and self.travel_seconds is not None and self.gap_seconds < self.travel_seconds)

    @property
    def shortfall_seconds(self) -> int:
        """Travel time the rota did not allow (0 unless ``short``; an overlap allows none)."""
        if not self.short:
            return 0
        assert self.gap_seconds is not None and self.travel_seconds is not None
        return self.travel_seconds - max(self.gap_seconds, 0)


@dataclass(frozen=True, slots=True)
class _Slot:
    """A visit as it stands on the carer's rota: its facts, plan and day."""

    facts: VisitFacts
    plan: Plan
    day: date
    at: datetime  # its latest schedule event

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.plan.start, self.facts.visit_id)


@dataclass(slots=True)
class CarerRota:
    """One carer's schedule events by visit, and the visits on their planned days."""

    carer_id: str
    events: dict[str, dict[str, ScheduleEvent]] = field(default_factory=dict)
    _slots: dict[str, _Slot] = field(default_factory=dict)
    _days: dict[date, set[str]] = field(default_factory=dict)
    _gone: dict[str, datetime] = field(default_factory=dict)  # visit -> when it left

    def apply(self, event: ScheduleEvent) -> set[date] | None:
        """Add one schedule event of a visit that names (or named) this carer.

        Returns:
            ``None`` if the event id is already known (nothing changes); else the days
            whose gaps may have changed: the day the visit was on and the day it is on.
        """
        events = self.events.setdefault(event.visit_id, {})
        if event.event_id in events:
            return None
        events[event.event_id] = event
        return self._reslot(event.visit_id)

    def load(self, visit_id: str, events: Iterable[ScheduleEvent]) -> None:
        """Add a visit's schedule events read back from storage."""
        self.events.setdefault(visit_id, {}).update((e.event_id, e) for e in events)
        self._reslot(visit_id)

    def days(self) -> set[date]:
        """Every day the carer has a planned visit on."""
        return set(self._days)

    def day_of(self, visit_id: str) -> date | None:
        """The day a visit is on the carer's rota, if it is."""
        slot = self._slots.get(visit_id)
        return slot.day if slot else None

    def planned(self, day: date) -> list[str]:
        """The carer's visits planned on ``day``, in order of planned start."""
        return [s.facts.visit_id for s in self._ordered(day)]

    def planned_facts(self, day: date) -> list[VisitFacts]:
        """The schedule facts of the carer's visits planned on ``day``, in planned order."""
        return [s.facts for s in self._ordered(day)]

    def withdrawn(self, visit_id: str, reference: ReferenceData) -> TravelGap | None:
        """The gap of a visit this carer knows that is not on their rota (any more).

        ``None`` while it is on the rota, or if it was never planned (only changes or a
        cancellation of it are known).
        """
        at = self._gone.get(visit_id)
        if at is None or visit_id in self._slots:
            return None
        facts = fold_visit(visit_id, self.events[visit_id].values())
        context = context_of(facts, reference)
        if facts.plan is None or context is None:
            return None
        slot = _Slot(facts, facts.plan, context.day, at)
        return _make(self.carer_id, slot, context, GapStatus.WITHDRAWN, at)

    def forget_before(self, history: timedelta = ROTA_HISTORY) -> set[str]:
        """Drop visits on days more than ``history`` before the latest planned day.

        Returns:
            The ids of the visits dropped.
        """
        if not self._days:
            return set()
        horizon = max(self._days) - history
        dropped: set[str] = set()
        if min(self._days) < horizon:  # else no visit is that old: none to look through
            dropped = {v for v, slot in self._slots.items() if slot.day < horizon}
        horizon_starts = day_start_utc(horizon)  # one conversion, not one per visit gone
        if self._gone and min(self._gone.values()) < horizon_starts:
            dropped |= {v for v, at in self._gone.items() if at < horizon_starts}
        for visit_id in dropped:
            self._unslot(visit_id)
            self.events.pop(visit_id, None)
            self._gone.pop(visit_id, None)
        return dropped

    def successor(self, visit_id: str) -> str | None:
        """The visit after ``visit_id`` on the carer's day, if it is on the rota and has one."""
        slot = self._slots.get(visit_id)
        if slot is None:
            return None
        ordered = self._ordered(slot.day)
        at = ordered.index(slot)
        return ordered[at + 1].facts.visit_id if at + 1 < len(ordered) else None

    def gap_of(self, visit_id: str, reference: ReferenceData) -> TravelGap | None:
        """The gap before one visit on the carer's rota (``None`` if it is not on it)."""
        slot = self._slots.get(visit_id)
        if slot is None:
            return None
        ordered = self._ordered(slot.day)
        at = ordered.index(slot)
        return _gap(self.carer_id, ordered[at - 1] if at else None, slot, reference)

    def gaps(self, day: date, reference: ReferenceData) -> list[TravelGap]:
        """Judge the gap before every visit of the carer's day, in planned order."""
        found: list[TravelGap] = []
        previous: _Slot | None = None
        for slot in self._ordered(day):
            found.append(_gap(self.carer_id, previous, slot, reference))
            previous = slot
        return found

    def _ordered(self, day: date) -> list[_Slot]:
        return sorted((self._slots[v] for v in self._days.get(day, ())), key=lambda s: s.order)

    def _reslot(self, visit_id: str) -> set[date]:
        affected: set[date] = set()
        old = self._unslot(visit_id)
        if old is not None:
            affected.add(old.day)
        events = self.events[visit_id].values()
        facts = fold_visit(visit_id, events)
        plan, latest = facts.plan, max(e.occurred_at for e in events)
        if (plan is not None and facts.cancellation is None
                and self.carer_id in plan.planned_carer_ids):
            slot = _Slot(facts, plan, local_date(plan.start), latest)
            self._slots[visit_id] = slot
            self._days.setdefault(slot.day, set()).add(visit_id)
            self._gone.pop(visit_id, None)
            affected.add(slot.day)
        else:
            self._gone[visit_id] = latest
        return affected

    def _unslot(self, visit_id: str) -> _Slot | None:
        slot = self._slots.pop(visit_id, None)
        if slot is not None:
            visits = self._days[slot.day]
            visits.discard(visit_id)
            if not visits:
                del self._days[slot.day]
        return slot


def _gap(carer_id: str, previous: _Slot | None, slot: _Slot,
         reference: ReferenceData) -> TravelGap:
    context = context_of(slot.facts, reference)
    assert context is not None  # a slot has a plan
    if previous is None:
        return _make(carer_id, slot, context, GapStatus.FIRST_OF_DAY, slot.at)
    travel = client_travel(reference, previous.plan.client_id, slot.plan.client_id,
                           context.day, context.policy)
    status = GapStatus.JUDGED if travel is not None else GapStatus.TRAVEL_UNKNOWN
    return _make(carer_id, slot, context, status, max(slot.at, previous.at), previous, travel)


def _make(carer_id: str, slot: _Slot, context: VisitContext, status: GapStatus, at: datetime,
          previous: _Slot | None = None, travel: Travel | None = None) -> TravelGap:
    gap = None if previous is None else int((slot.plan.start - previous.plan.end).total_seconds())
    return TravelGap(
        carer_id, slot.facts.visit_id, slot.plan.provider_id, slot.plan.client_id,
        context.lot_id, context.service, context.day, context.week, status, at,
        previous_visit_id=previous.facts.visit_id if previous else None,
        previous_client_id=previous.plan.client_id if previous else None,
        gap_seconds=gap, travel_seconds=travel.seconds if travel else None,
        straight_m=travel.straight_m if travel else None,
    )


def travel_exception(gap: TravelGap) -> VisitException | None:
    """The ``insufficient_travel_time`` exception of a gap that is too short, if it is."""
    if not gap.short:
        return None
    assert gap.gap_seconds is not None and gap.travel_seconds is not None
    kind = ExceptionKind.INSUFFICIENT_TRAVEL_TIME
    return VisitException(
        exception_id(gap.visit_id, kind, gap.carer_id), kind, gap.visit_id, gap.provider_id,
        gap.client_id, gap.carer_id, gap.at,
        f"planned to start {_gap_text(gap.gap_seconds)} visit {gap.previous_visit_id} "
        f"(client {gap.previous_client_id}) ends; the travel needs about "
        f"{gap.travel_seconds // 60} min ({gap.straight_m} m in a straight line)",
    )


def _gap_text(seconds: int) -> str:
    """The gap in whole minutes (rounded toward zero), before or after the previous end."""
    if seconds < 0:
        return f"{-seconds // 60} min before"
    return f"{seconds // 60} min after"
