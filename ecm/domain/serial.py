"""Visit and carer state to and from plain JSON-ready dicts (for a stream processor's table)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any

from ecm.domain.carers import CarerTimeline
from ecm.domain.events import (
    CallTimeCorrected,
    CarerCall,
    VisitCancelled,
    VisitChanged,
    VisitEvent,
    VisitPlanned,
)
from ecm.domain.visit import AlertMemory, VisitState

_TYPES: dict[str, type[VisitEvent]] = {
    "visit_planned": VisitPlanned,
    "visit_changed": VisitChanged,
    "visit_cancelled": VisitCancelled,
    "carer_call": CarerCall,
    "call_time_corrected": CallTimeCorrected,
}
_NAMES = {cls: name for name, cls in _TYPES.items()}
_TIMES = frozenset({"occurred_at", "planned_start", "planned_end", "corrected_time"})


_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _TYPES.values()}


def event_to_dict(event: VisitEvent) -> dict[str, Any]:
    """Return a JSON-ready dict of a domain event (instants as ISO 8601 with offset)."""
    # Events are flat frozen dataclasses: reading the fields directly is many times
    # faster than ``dataclasses.asdict``, which deep-copies every value.
    data: dict[str, Any] = {}
    for name in _FIELDS[type(event)]:
        value = getattr(event, name)
        data[name] = value.isoformat() if name in _TIMES else value
    data["type"] = _NAMES[type(event)]
    return data


def event_from_dict(data: dict[str, Any]) -> VisitEvent:
    """Inverse of ``event_to_dict``."""
    values: dict[str, Any] = {
        k: datetime.fromisoformat(v) if k in _TIMES else v for k, v in data.items()
    }
    cls = _TYPES[str(values.pop("type"))]
    return cls(**values)


def visit_to_dict(state: VisitState) -> dict[str, Any]:
    """Return a JSON-ready dict holding everything in a visit's state."""
    return {
        "visit_id": state.visit_id,
        "events": [event_to_dict(e) for _, e in sorted(state.events.items())],
        "raised": {k: v.isoformat() for k, v in sorted(state.alerts.raised.items())},
        "resolved": {k: v.isoformat() for k, v in sorted(state.alerts.resolved.items())},
    }


def visit_from_dict(data: dict[str, Any]) -> VisitState:
    """Inverse of ``visit_to_dict``."""
    state = VisitState(data["visit_id"])
    for item in data["events"]:
        state.apply(event_from_dict(item))
    state.alerts = AlertMemory(
        {k: datetime.fromisoformat(v) for k, v in data["raised"].items()},
        {k: datetime.fromisoformat(v) for k, v in data["resolved"].items()},
    )
    return state


def encode_event(event: VisitEvent) -> bytes:
    """``event_to_dict`` as compact JSON, to be encoded once and joined by ``carer_json``."""
    return json.dumps(event_to_dict(event), separators=(",", ":"), sort_keys=True).encode()


def carer_json(carer_id: str, events: Iterable[bytes]) -> bytes:
    """A carer's timeline as JSON from its events already encoded (``encode_event``).

    Joining encoded events costs nothing per event already stored, where encoding the
    whole timeline again would cost more with every call. ``carer_from_dict`` reads it.
    """
    return b'{"carer_id":%b,"events":[%b]}' % (json.dumps(carer_id).encode(), b",".join(events))


def carer_from_dict(data: dict[str, Any]) -> CarerTimeline:
    """A carer's timeline from ``{"carer_id": ..., "events": [event_to_dict(e), ...]}``."""
    timeline = CarerTimeline(data["carer_id"])
    for item in data["events"]:
        event = event_from_dict(item)
        assert isinstance(event, CarerCall | CallTimeCorrected)
        timeline.apply(event)
    return timeline
