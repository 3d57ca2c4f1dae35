"""The carer ledger of a stream worker: overlapping visits, keyed by carer.

A carer checked in at two clients at once can only be seen across visits, so the
worker re-keys call events by carer (the carer-calls topic) and this ledger keeps
each carer's timeline in a keyed store, publishing overlaps as they appear and
resolving them if later facts (a correction) remove them.
"""

from __future__ import annotations

import json
from datetime import datetime

from ecm import contracts as c
from ecm.domain.carers import CarerTimeline
from ecm.domain.events import CallTimeCorrected, CarerCall
from ecm.domain.serial import carer_from_dict, carer_to_dict
from ecm.visits.ledger import VisitStore
from ecm.visits.translate import exception_record, record_id, visit_event


class CarerLedger:
    """Carer timelines and the overlap exceptions already published."""

    def __init__(self, store: VisitStore) -> None:
        self.store = store

    def on_call(self, event: c.CallEvent) -> list[c.ContractEvent]:
        """Add a check-in, check-out or correction to its carer's timeline.

        Returns the overlap exceptions that appeared and those that no longer hold; a
        redelivered event re-emits the carer's current overlaps.
        """
        call = visit_event(event)
        assert isinstance(call, CarerCall | CallTimeCorrected)
        timeline, published = self._load(call.carer_id)
        fresh = timeline.apply(call)
        current = {e.exception_id: e for e in timeline.overlaps()}
        records: list[c.ContractEvent] = [
            exception_record(e)
            for i, e in sorted(current.items())
            if not fresh or i not in published
        ]
        for exception_id, visit_id in sorted(published.items()):
            if exception_id not in current:
                records.append(_resolved(exception_id, visit_id, event))
        published = {i: e.visit_id for i, e in current.items()}
        self._save(timeline, published)
        return records

    def _load(self, carer_id: str) -> tuple[CarerTimeline, dict[str, str]]:
        raw = self.store.get(carer_id)
        if raw is None:
            return CarerTimeline(carer_id), {}
        data = json.loads(raw)
        return carer_from_dict(data["t"]), dict(data["x"])

    def _save(self, timeline: CarerTimeline, published: dict[str, str]) -> None:
        data = {"t": carer_to_dict(timeline), "x": published}
        self.store.put(timeline.carer_id, json.dumps(data, sort_keys=True).encode())


def _resolved(exception_id: str, visit_id: str, event: c.CallEvent) -> c.VisitExceptionResolved:
    at: datetime = event.occurred_at
    return c.VisitExceptionResolved(
        event_id=record_id(f"{exception_id}:resolved"),
        occurred_at=at,
        exception_id=exception_id,
        kind=c.ExceptionKind.OVERLAPPING_VISITS,
        visit_id=visit_id,
        provider_id=event.provider_id,
    )
