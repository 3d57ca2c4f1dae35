"""One carer's timeline across visits: finds a carer checked in at two clients at once.

Keyed by carer, not visit, so a stream processor can partition it by carer. Only
verified stays (check-in and a later check-out) can prove an overlap: a carer who
forgot to check out is a "no check-out", not an overlap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from ecm.domain.calls import fold_carer
from ecm.domain.events import CallTimeCorrected, CarerCall
from ecm.domain.exceptions import ExceptionKind, VisitException, exception_id


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
