"""The carer ledger of a stream worker: overlapping visits, keyed by carer.

A carer checked in at two clients at once can only be seen across visits, so the
worker re-keys call events by carer (the carer-calls topic) and this ledger keeps
each carer's recent timeline (``CARER_HISTORY``) in a keyed store, publishing overlaps
as they appear and resolving them if later facts (a correction) remove them. What it
resolved is remembered with the visit, so a redelivered call publishes the carer's
current picture again, resolutions included (they may have died in a crash).

Decoding and re-encoding a timeline whole on each call costs more with every visit, so
the ledger keeps each carer it has seen decoded, with every call already encoded, and
only trusts that copy while the store still holds the very bytes it wrote (a table
recovered from its changelog holds new ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from ecm import contracts as c
from ecm.domain.carers import CARER_HISTORY, CarerTimeline
from ecm.domain.events import CallTimeCorrected, CarerCall
from ecm.domain.serial import carer_from_dict, carer_json, encode_event
from ecm.visits.ledger import VisitStore
from ecm.visits.translate import exception_record, record_id, visit_event


@dataclass(slots=True)
class _Carer:
    """A carer's timeline as last stored, its calls encoded, and the overlaps published."""

    raw: bytes | None
    timeline: CarerTimeline
    published: dict[str, str]  # exception id -> visit id
    # exception id -> [visit id, provider id, when] of overlaps resolved
    resolved: dict[str, list[str]] = field(default_factory=dict)
    calls: dict[str, bytes] = field(default_factory=dict)  # event id -> encoded call

    def forget(self, visits: set[str]) -> None:
        """Drop what is kept about visits the timeline no longer holds."""
        self.calls = {i: self.calls[i] for i in self.timeline.events}
        self.published = {i: v for i, v in self.published.items() if v not in visits}
        self.resolved = {i: r for i, r in self.resolved.items() if r[0] not in visits}

    def encode(self) -> bytes:
        """The stored form: the timeline (calls by id), the overlaps published and resolved."""
        timeline = carer_json(self.timeline.carer_id, (self.calls[i] for i in sorted(self.calls)))
        published = json.dumps(self.published, sort_keys=True).encode()
        resolved = json.dumps(self.resolved, sort_keys=True).encode()
        return b'{"r":%b,"t":%b,"x":%b}' % (resolved, timeline, published)


class CarerLedger:
    """Carer timelines and the overlap exceptions already published."""

    def __init__(self, store: VisitStore) -> None:
        self.store = store
        self._carers: dict[str, _Carer] = {}

    def on_call(self, event: c.CallEvent) -> list[c.ContractEvent]:
        """Add a check-in, check-out or correction to its carer's timeline.

        Returns the overlap exceptions that appeared and those that no longer hold; a
        redelivered event re-emits the carer's current overlaps and resolutions.
        """
        call = visit_event(event)
        assert isinstance(call, CarerCall | CallTimeCorrected)
        carer = self._load(call.carer_id)
        try:
            records = self._apply(carer, call, event)
        except Exception:
            del self._carers[call.carer_id]  # changed in place: read the store again
            raise
        carer.raw = carer.encode()
        self.store.put(call.carer_id, carer.raw)
        return records

    def _apply(
        self, carer: _Carer, call: CarerCall | CallTimeCorrected, event: c.CallEvent
    ) -> list[c.ContractEvent]:
        fresh = carer.timeline.apply(call)
        if fresh:
            carer.calls[call.event_id] = encode_event(call)
            carer.forget(carer.timeline.forget_older_than(CARER_HISTORY))
        current = {e.exception_id: e for e in carer.timeline.overlaps()}
        records: list[c.ContractEvent] = [
            exception_record(e)
            for i, e in sorted(current.items())
            if not fresh or i not in carer.published
        ]
        at = event.occurred_at.isoformat()
        for exception_id, visit_id in carer.published.items():
            if exception_id not in current:
                carer.resolved[exception_id] = [visit_id, event.provider_id, at]
                if fresh:
                    records.append(_resolved(exception_id, *carer.resolved[exception_id]))
        for exception_id in current:
            carer.resolved.pop(exception_id, None)
        if not fresh:  # a resolution may have been lost with the first delivery
            records += [_resolved(i, *r) for i, r in sorted(carer.resolved.items())]
        carer.published = {i: e.visit_id for i, e in current.items()}
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
            calls = {i: encode_event(e) for i, e in timeline.events.items()}
            carer = _Carer(raw, timeline, dict(data["x"]), dict(data.get("r", {})), calls)
        self._carers[carer_id] = carer
        return carer


def _resolved(
    exception_id: str, visit_id: str, provider_id: str, at: str
) -> c.VisitExceptionResolved:
    return c.VisitExceptionResolved(
        event_id=record_id(f"{exception_id}:resolved"),
        occurred_at=datetime.fromisoformat(at),
        exception_id=exception_id,
        kind=c.ExceptionKind.OVERLAPPING_VISITS,
        visit_id=visit_id,
        provider_id=provider_id,
    )
