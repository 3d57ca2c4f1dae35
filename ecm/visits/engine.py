"""An in-memory visit engine: all visits and carers of one process, one watermark.

``ecm replay`` runs it over a file; a stream processor holds the same per-visit and
per-carer state in tables and calls the same domain functions. The watermark is the
latest ``occurred_at`` of any schedule or call event seen so far, in five-minute steps
(``ecm.domain.watermark``): the same watermark the Kafka replay sends as ticks.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime

from ecm import contracts as c
from ecm.domain.alerts import AlertChange, alert_history, fire_due, pending_deadlines
from ecm.domain.carers import CarerTimeline
from ecm.domain.deadlines import END_OF_TIME, passed
from ecm.domain.derive import VisitResult, derive
from ecm.domain.events import CallTimeCorrected, CarerCall, VisitEvent, VisitPlanned
from ecm.domain.exceptions import VisitException
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import VisitState
from ecm.domain.watermark import Watermark
from ecm.visits.translate import reference_record, visit_event


class VisitEngine:
    """Visit and carer state for one process, with a deadline index and a watermark."""

    def __init__(self, reference: ReferenceData | None = None) -> None:
        self.reference = reference or ReferenceData()
        self.visits: dict[str, VisitState] = {}
        self.carers: dict[str, CarerTimeline] = {}
        self._clock = Watermark()
        self._deadlines: list[tuple[datetime, str]] = []
        self._indexed: set[tuple[datetime, str]] = set()
        self._reference_version_seen = -1

    def handle(self, event: c.InputEvent) -> list[AlertChange]:
        """Apply one wire event (reference or visit) and return the alert changes it caused."""
        if isinstance(event, c.ReferenceEvent):
            record = reference_record(event)
            if record is not None:
                self.reference.add(record)
            return []
        return self.apply(visit_event(event))

    def apply(self, event: VisitEvent) -> list[AlertChange]:
        """Apply one domain visit event, advance the watermark and fire what fell due.

        A redelivered event id changes nothing and returns no changes.
        """
        state = self.visits.get(event.visit_id)
        if state is None:
            state = self.visits[event.visit_id] = VisitState(event.visit_id)
        if not state.apply(event):
            return []
        if self._reference_version_seen < 0:
            self._reference_version_seen = self.reference.version
        if isinstance(event, CarerCall | CallTimeCorrected):
            self._carer(event.carer_id).apply(event)
        if not isinstance(event, CarerCall) or event.check_in:
            self._index(state)
        changes: list[AlertChange] = []
        moved = self._clock.advance(event.occurred_at)
        if moved is not None:
            changes.extend(self._fire(moved, inclusive=False))
        if state.open_alerts and self._clock.value is not None:
            changes.extend(fire_due(state, self.reference, self._clock.value))
        return changes

    @property
    def watermark(self) -> datetime | None:
        """The watermark reached (``None`` before any visit event)."""
        return self._clock.value

    def flush(self, until: datetime | None = None) -> list[AlertChange]:
        """Fire every deadline (or those at or before ``until``): the end of an extract."""
        watermark = until or END_OF_TIME
        if self.reference.version != self._reference_version_seen:
            # Reference data changed after visits arrived: deadlines may have moved.
            for state in self.visits.values():
                self._index(state)
        return self._fire(watermark, inclusive=True)

    def _carer(self, carer_id: str) -> CarerTimeline:
        timeline = self.carers.get(carer_id)
        if timeline is None:
            timeline = self.carers[carer_id] = CarerTimeline(carer_id)
        return timeline

    def _index(self, state: VisitState) -> None:
        for deadline in pending_deadlines(state, self.reference):
            self._push(deadline.due_at, deadline.visit_id)

    def _push(self, due_at: datetime, visit_id: str) -> None:
        entry = (due_at, visit_id)
        if entry not in self._indexed:  # one wake-up per visit and instant is enough
            self._indexed.add(entry)
            heapq.heappush(self._deadlines, entry)

    def _fire(self, watermark: datetime, inclusive: bool) -> list[AlertChange]:
        changes: list[AlertChange] = []
        heap = self._deadlines
        due: list[str] = []
        while heap and passed(heap[0][0], watermark, inclusive):
            entry = heapq.heappop(heap)
            self._indexed.discard(entry)
            due.append(entry[1])
        for visit_id in dict.fromkeys(due):
            state = self.visits[visit_id]
            changes.extend(fire_due(state, self.reference, watermark, inclusive))
            for deadline in pending_deadlines(state, self.reference):
                if not passed(deadline.due_at, watermark, inclusive):
                    self._push(deadline.due_at, visit_id)
        return changes

    def results(self, watermark: datetime, inclusive: bool = True) -> Iterator[VisitResult]:
        """Yield every visit's outcome and exceptions at ``watermark``, by visit id."""
        for visit_id in sorted(self.visits):
            yield derive(self.visits[visit_id], self.reference, watermark, inclusive)

    def alert_history(self) -> list[AlertChange]:
        """Return every alert raised and resolved, in firing order (event time, then id).

        Resolution times come from all facts known now (see ``alert_history``), so this
        is independent of the arrival order of the facts that settled each alert.
        """
        history = [a for s in self.visits.values() if s.raised
                   for a in alert_history(s, self.reference)]
        return sorted(history, key=lambda a: (a.at, not a.raised, a.alert_id))

    def overlaps(self) -> list[VisitException]:
        """Return the overlapping-visits exceptions of every carer, by exception id."""
        found = [e for t in self.carers.values() for e in t.overlaps()]
        return sorted(found, key=lambda e: e.exception_id)


def is_planned(event: VisitEvent) -> bool:
    """Return whether an event puts a visit on the rota."""
    return isinstance(event, VisitPlanned)
