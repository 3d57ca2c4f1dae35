"""One carer's timeline across visits: finds a carer checked in at two clients at once.

Keyed by carer, not visit, so a stream processor can partition it by carer. Only
verified stays (check-in and a later check-out) can prove an overlap: a carer who
forgot to check out is a "no check-out", not an overlap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ecm.domain.calls import fold_carer
from ecm.domain.events import CallTimeCorrected, CarerCall
from ecm.domain.exceptions import ExceptionKind, VisitException, exception_id

# How far back a carer's calls are compared for overlaps, from their latest call. A
# stream worker keeps no more than this of each timeline (it would otherwise grow with
# every call for years); a call arriving or corrected later than this after the visit
# is no longer checked against the stays it might overlap.
CARER_HISTORY = timedelta(days=28)


@dataclass(frozen=True, slots=True)
class Stay:
    """A carer's verified stay at one visit."""

    visit_id: str
    provider_id: str
    client_id: str
    start: datetime
    end: datetime


@dataclass(slots=True)
class CarerTimeline:
    """The set of one carer's call events (by event id), across visits."""

    carer_id: str
    events: dict[str, CarerCall | CallTimeCorrected] = field(default_factory=dict)

    def apply(self, event: CarerCall | CallTimeCorrected) -> bool:
        """Add one of this carer's call events; False if its id is already known."""
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event
        return True

    def forget_older_than(self, history: timedelta) -> set[str]:
        """Drop the calls of visits whose last call is over ``history`` before the latest.

        Returns:
            The ids of the visits dropped.
        """
        last: dict[str, datetime] = {}
        for event in self.events.values():
            seen = last.get(event.visit_id)
            if seen is None or event.occurred_at > seen:
                last[event.visit_id] = event.occurred_at
        if not last:
            return set()
        horizon = max(last.values()) - history
        old = {visit_id for visit_id, at in last.items() if at < horizon}
        if old:
            self.events = {i: e for i, e in self.events.items() if e.visit_id not in old}
        return old

    def stays(self) -> list[Stay]:
        """Return the carer's verified stays, sorted by start then visit id."""
        by_visit: dict[str, list[CarerCall | CallTimeCorrected]] = defaultdict(list)
        for event in self.events.values():
            by_visit[event.visit_id].append(event)
        stays = []
        for visit_id, events in by_visit.items():
            events.sort(key=lambda e: (e.occurred_at, e.event_id))
            calls = fold_carer(self.carer_id, events)
            first = calls.first_in_call
            if first and calls.check_in and calls.check_out and calls.check_out > calls.check_in:
                stays.append(Stay(visit_id, first.provider_id, first.client_id,
                                  calls.check_in, calls.check_out))
        return sorted(stays, key=lambda s: (s.start, s.visit_id))

    def overlaps(self) -> list[VisitException]:
        """Return an overlapping-visits exception for each visit that overlaps another.

        Two stays overlap when one starts before the other ends and they are at
        different clients; both visits get an exception naming the other.
        """
        found: dict[str, VisitException] = {}
        open_stays: list[Stay] = []
        for stay in self.stays():
            open_stays = [s for s in open_stays if s.end > stay.start]
            for other in open_stays:
                if other.client_id != stay.client_id:
                    self._flag(found, stay, other)
                    self._flag(found, other, stay)
            open_stays.append(stay)
        return [found[k] for k in sorted(found)]

    def _flag(self, found: dict[str, VisitException], stay: Stay, other: Stay) -> None:
        key = exception_id(stay.visit_id, ExceptionKind.OVERLAPPING_VISITS, self.carer_id)
        if key in found:
            return
        found[key] = VisitException(
            key, ExceptionKind.OVERLAPPING_VISITS, stay.visit_id, stay.provider_id,
            stay.client_id, self.carer_id, max(stay.start, other.start),
            f"also checked in at visit {other.visit_id} (client {other.client_id}) "
            f"from {other.start.isoformat()} to {other.end.isoformat()}",
        )
