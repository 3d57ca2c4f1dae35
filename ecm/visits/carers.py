"""The carer ledger of a stream worker: overlapping visits, keyed by carer.

A carer checked in at two clients at once can only be seen across visits, so the
worker re-keys call events by carer (the carer-calls topic) and this ledger keeps
each carer's timeline in a keyed store, publishing overlaps as they appear and
resolving them if later facts (a correction) remove them.

A timeline grows with every call, so decoding and re-encoding it whole on each call
costs more with every visit. The ledger keeps each carer it has seen decoded, with
every call already encoded, and only trusts that copy while the store still holds the
very bytes it wrote (a table recovered from its changelog holds new ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from ecm import contracts as c
from ecm.domain.carers import CarerTimeline
from ecm.domain.events import CallTimeCorrected, CarerCall
from ecm.domain.serial import carer_from_dict, event_to_dict
from ecm.visits.ledger import VisitStore
from ecm.visits.translate import exception_record, record_id, visit_event


@dataclass(slots=True)
class _Carer:
    """A carer's timeline as last stored, its calls encoded, and the overlaps published."""

    raw: bytes | None
    timeline: CarerTimeline
    published: dict[str, str]  # exception id -> visit id
    calls: dict[str, bytes] = field(default_factory=dict)  # event id -> encoded call

    def encode(self) -> bytes:
        """The stored form, readable by ``carer_from_dict`` (calls in event-id order)."""
        calls = b",".join(self.calls[i] for i in sorted(self.calls))
        carer = json.dumps(self.timeline.carer_id).encode()
        published = json.dumps(self.published, sort_keys=True).encode()
        return b'{"t":{"carer_id":%b,"events":[%b]},"x":%b}' % (carer, calls, published)


class CarerLedger:
    """Carer timelines and the overlap exceptions already published."""

    def __init__(self, store: VisitStore) -> None:
        self.store = store
        self._carers: dict[str, _Carer] = {}

    def on_call(self, event: c.CallEvent) -> list[c.ContractEvent]:
        """Add a check-in, check-out or correction to its carer's timeline.

        Returns the overlap exceptions that appeared and those that no longer hold; a
        redelivered event re-emits the carer's current overlaps.
        """
        call = visit_event(event)
        assert isinstance(call, CarerCall | CallTimeCorrected)
        carer = self._load(call.carer_id)
        fresh = carer.timeline.apply(call)
        current = {e.exception_id: e for e in carer.timeline.overlaps()}
        records: list[c.ContractEvent] = [
            exception_record(e)
            for i, e in sorted(current.items())
            if not fresh or i not in carer.published
        ]
        for exception_id, visit_id in sorted(carer.published.items()):
            if exception_id not in current:
                records.append(_resolved(exception_id, visit_id, event))
        carer.published = {i: e.visit_id for i, e in current.items()}
        if fresh:
            carer.calls[call.event_id] = _encode_call(call)
        carer.raw = carer.encode()
        self.store.put(call.carer_id, carer.raw)
        return records

    def _load(self, carer_id: str) -> _Carer:
        raw = self.store.get(carer_id)
        known = self._carers.get(carer_id)
        if known is not None and known.raw is raw:
            return known
        if raw is None:
            carer = _Carer(None, CarerTimeline(carer_id), {})
        else:
            data = json.loads(raw)
            timeline = carer_from_dict(data["t"])
            calls = {i: _encode_call(e) for i, e in timeline.events.items()}
            carer = _Carer(raw, timeline, dict(data["x"]), calls)
        self._carers[carer_id] = carer
        return carer


def _encode_call(call: CarerCall | CallTimeCorrected) -> bytes:
    return json.dumps(event_to_dict(call), separators=(",", ":"), sort_keys=True).encode()


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
