"""One carer's calls across visits: a carer checked in at two clients at once.

Keyed by carer, not visit, so a stream processor can partition it by carer. Only
verified stays (check-in and a later check-out) can prove an overlap: a carer who
forgot to check out is a "no check-out", not an overlap (docs/rules.md, "Exceptions").

The timeline is indexed by stay start, so adding one call folds only that visit's
calls and compares its stay only with the stays around it: the cost of a call does not
grow with the weeks of history a carer has.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from ecm.domain.calendar import local_date
from ecm.domain.calls import fold_carer
from ecm.domain.events import CallTimeCorrected, CarerCall
from ecm.domain.exceptions import ExceptionKind, VisitException, exception_id
from ecm.domain.reference import ReferenceData
from ecm.domain.travel import client_travel

CARER_HISTORY = timedelta(days=28)
"""How far back a carer's calls are compared for overlaps, from their latest call.

A stream worker keeps no more than this of each timeline (it would otherwise grow with
every call for years); a call arriving or corrected later than this after the visit is
no longer checked against the stays it might overlap."""

CarerEvent = CarerCall | CallTimeCorrected

OVERLAP = "overlap"
FASTER_THAN_TRAVEL = "faster_than_travel"
PLAUSIBLE_TRAVEL_SHARE = Fraction(1, 2)
"""A move between two clients is faster than travel allows when the carer checked in at
the second sooner after checking out of the first than this share of the travel time the
contract's travel model estimates (twice its average speed): the model is an average,
and a carer may well drive faster than it (docs/rules.md, "Trust score")."""


@dataclass(frozen=True, slots=True)
class Stay:
    """A carer's verified stay at one visit."""

    visit_id: str
    provider_id: str
    client_id: str
    start: datetime
    end: datetime

    @property
    def order(self) -> tuple[datetime, str]:
        """Where the stay sorts among the carer's stays: by start, then visit id."""
        return (self.start, self.visit_id)


@dataclass(slots=True)
class CarerTimeline:
    """One carer's call events by visit, with their verified stays indexed by start."""

    carer_id: str
    calls: dict[str, dict[str, CarerEvent]] = field(default_factory=dict)
    stays: dict[str, Stay] = field(default_factory=dict)
    _starts: list[tuple[datetime, str]] = field(default_factory=list)
    _longest: timedelta = timedelta(0)
    _last_at: dict[str, datetime] = field(default_factory=dict)  # visit -> latest call
    _ages: list[tuple[datetime, str]] = field(default_factory=list)  # heap of _last_at
    _latest: datetime | None = None

    def apply(self, event: CarerEvent) -> set[str] | None:
        """Add one of this carer's call events.

        Returns:
            ``None`` if the event id is already known (nothing changes); else the visits
            whose overlap may have changed: the event's own and those its stay touched,
            before and after the event.
        """
        visit_id = event.visit_id
        events = self.calls.setdefault(visit_id, {})
        if event.event_id in events:
            return None
        events[event.event_id] = event
        self._age(visit_id, event.occurred_at)
        return self._restay(visit_id)

    def load(self, visit_id: str, events: Iterable[CarerEvent]) -> None:
        """Add a visit's calls read back from storage (``apply`` without the bookkeeping)."""
        stored = self.calls.setdefault(visit_id, {})
        for event in events:
            stored[event.event_id] = event
            self._age(visit_id, event.occurred_at)
        self._restay(visit_id)

    def forget_older_than(self, history: timedelta) -> set[str]:
        """Drop the visits whose latest call is over ``history`` before the carer's latest.

        Returns:
            The ids of the visits dropped.
        """
        if self._latest is None:
            return set()
        horizon, dropped = self._latest - history, set()
        while self._ages and self._ages[0][0] < horizon:
            at, visit_id = heapq.heappop(self._ages)
            if self._last_at.get(visit_id) == at:
                dropped.add(visit_id)
                self._drop(visit_id)
        return dropped

    def overlap(self, visit_id: str) -> VisitException | None:
        """The overlapping-visits exception of one visit, if its stay overlaps another.

        Two stays overlap when one starts before the other ends and they are at
        different clients. The exception names the earliest overlapping stay that
        started before this one, else the earliest that started after it.
        """
        stay = self.stays.get(visit_id)
        partner = self._overlapping(stay) if stay is not None else None
        if stay is None or partner is None:
            return None
        return VisitException(
            exception_id(visit_id, ExceptionKind.OVERLAPPING_VISITS, self.carer_id),
            ExceptionKind.OVERLAPPING_VISITS, visit_id, stay.provider_id, stay.client_id,
            self.carer_id, max(stay.start, partner.start),
            f"also checked in at visit {partner.visit_id} (client {partner.client_id}) "
            f"from {partner.start.isoformat()} to {partner.end.isoformat()}",
        )

    def _overlapping(self, stay: Stay) -> Stay | None:
        before: Stay | None = None
        after: Stay | None = None
        for other in self._around(stay):
            if other.visit_id == stay.visit_id or other.client_id == stay.client_id:
                continue
            if other.order < stay.order:
                before = before or other
            else:
                after = after or other
        return before or after

    def doubts(self, visit_id: str, reference: ReferenceData | None
               ) -> tuple[tuple[str, str], ...]:
        """What the carer's other stays say against their stay at one visit.

        ``(overlap, other visit)`` for the stay ``overlap`` names; ``(faster_than_travel,
        previous visit)`` when the carer's previous stay (by start) was at another client,
        did not overlap, and the gap from leaving it to arriving here is shorter than
        ``PLAUSIBLE_TRAVEL_SHARE`` of the estimated travel between the two homes (the
        travel rules in force for this client's lot on the day of arrival; nothing when a
        home is unknown or without ``reference``).
        """
        stay = self.stays.get(visit_id)
        if stay is None:
            return ()
        found: list[tuple[str, str]] = []
        partner = self._overlapping(stay)
        if partner is not None:
            found.append((OVERLAP, partner.visit_id))
        previous = self._previous(stay)
        if (reference is not None and previous is not None and partner is None
                and previous.client_id != stay.client_id and previous.end <= stay.start
                and self._too_fast(previous, stay, reference)):
            found.append((FASTER_THAN_TRAVEL, previous.visit_id))
        return tuple(found)

    @staticmethod
    def _too_fast(previous: Stay, stay: Stay, reference: ReferenceData) -> bool:
        day = local_date(stay.start)
        client = reference.client(stay.client_id, day)
        policy = reference.policy(client.lot_id if client else None, None, day)
        travel = client_travel(reference, previous.client_id, stay.client_id, day, policy)
        if travel is None:
            return False
        gap = Fraction(int((stay.start - previous.end).total_seconds()))
        return gap < PLAUSIBLE_TRAVEL_SHARE * travel.seconds

    def _previous(self, stay: Stay) -> Stay | None:
        index = bisect_left(self._starts, stay.order)
        return self.stays[self._starts[index - 1][1]] if index > 0 else None

    def _next(self, order: tuple[datetime, str]) -> Stay | None:
        index = bisect_left(self._starts, order)
        while index < len(self._starts) and self._starts[index] <= order:
            index += 1
        return self.stays[self._starts[index][1]] if index < len(self._starts) else None

    def overlaps(self) -> list[VisitException]:
        """Every visit's overlapping-visits exception, by exception id."""
        found = (self.overlap(visit_id) for visit_id in self.stays)
        return sorted((e for e in found if e is not None), key=lambda e: e.exception_id)

    def _age(self, visit_id: str, at: datetime) -> None:
        last = self._last_at.get(visit_id)
        if last is None or at > last:
            self._last_at[visit_id] = at
            heapq.heappush(self._ages, (at, visit_id))
        if self._latest is None or at > self._latest:
            self._latest = at

    def _restay(self, visit_id: str) -> set[str]:
        affected = {visit_id}
        old = self.stays.pop(visit_id, None)
        if old is not None:
            self._starts.pop(bisect_left(self._starts, old.order))
            affected |= {s.visit_id for s in self._around(old)}
            affected |= self._following(old.order)
        new = _stay_of(self.carer_id, self.calls[visit_id].values())
        if new is not None:
            self.stays[visit_id] = new
            insort(self._starts, new.order)
            self._longest = max(self._longest, new.end - new.start)
            affected |= {s.visit_id for s in self._around(new)}
            affected |= self._following(new.order)
        return affected

    def _following(self, order: tuple[datetime, str]) -> set[str]:
        """The stay after ``order``: its previous stay (and so its travel) may have changed."""
        after = self._next(order)
        return {after.visit_id} if after is not None else set()

    def _drop(self, visit_id: str) -> None:
        del self.calls[visit_id], self._last_at[visit_id]
        stay = self.stays.pop(visit_id, None)
        if stay is not None:
            self._starts.pop(bisect_left(self._starts, stay.order))

    def _around(self, stay: Stay) -> list[Stay]:
        """Stays with ``start < stay.end`` and ``end > stay.start``, by start then visit id."""
        low = bisect_left(self._starts, (stay.start - self._longest, ""))
        high = bisect_left(self._starts, (stay.end, ""))
        found = (self.stays[visit_id] for _, visit_id in self._starts[low:high])
        return [s for s in found if s.end > stay.start]


def _stay_of(carer_id: str, events: Iterable[CarerEvent]) -> Stay | None:
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    calls = fold_carer(carer_id, ordered)
    first = calls.first_in_call
    if first and calls.check_in and calls.check_out and calls.check_out > calls.check_in:
        return Stay(first.visit_id, first.provider_id, first.client_id, calls.check_in,
                    calls.check_out)
    return None
