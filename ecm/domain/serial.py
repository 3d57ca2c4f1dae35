"""Visit and carer state to and from plain JSON-ready dicts (for a stream processor's table)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any

from ecm.domain.events import (
    AlertAcknowledged,
    AlertClosed,
    AlertEscalated,
    CallTimeCorrected,
    CarerCall,
    CarerRunningLate,
    CorrectionDecided,
    ExceptionDecided,
    ExceptionExplained,
    NextVisitPlanned,
    StayQuestioned,
    VisitCancelled,
    VisitChanged,
    VisitEvent,
    VisitFrustrated,
    VisitPlanned,
)
from ecm.domain.visit import AlertMemory, VisitState

_TYPES: dict[str, type[VisitEvent]] = {
    "visit_planned": VisitPlanned,
    "visit_changed": VisitChanged,
    "visit_cancelled": VisitCancelled,
    "carer_call": CarerCall,
    "call_time_corrected": CallTimeCorrected,
    "exception_explained": ExceptionExplained,
    "exception_decided": ExceptionDecided,
    "correction_decided": CorrectionDecided,
    "visit_frustrated": VisitFrustrated,
    "alert_acknowledged": AlertAcknowledged,
    "alert_escalated": AlertEscalated,
    "alert_closed": AlertClosed,
    "next_visit_planned": NextVisitPlanned,
    "carer_running_late": CarerRunningLate,
    "stay_questioned": StayQuestioned,
}
_NAMES = {cls: name for name, cls in _TYPES.items()}
_TIMES = frozenset({"occurred_at", "planned_start", "planned_end", "corrected_time",
                    "next_start", "leave_by", "said_at"})


_DROPPED = frozenset({"lat", "lon"})
_TUPLES = frozenset({"planned_carer_ids"})  # JSON lists read back as the tuples they were
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _TYPES.values()}


def event_to_dict(event: VisitEvent) -> dict[str, Any]:
    """Return a JSON-ready dict of a domain event (instants as ISO 8601 with offset)."""
    # Events are flat frozen dataclasses: reading the fields directly is many times
    # faster than ``dataclasses.asdict``, which deep-copies every value.
    data: dict[str, Any] = {}
    for name in _FIELDS[type(event)]:
        value = getattr(event, name)
        data[name] = value.isoformat() if name in _TIMES and value is not None else value
    data["type"] = _NAMES[type(event)]
    return data


def event_from_dict(data: dict[str, Any]) -> VisitEvent:
    """Inverse of ``event_to_dict``; also reads calls stored with coordinates.

    Calls stored before coordinates were dropped (``lat``/``lon``) are read without
    them: their distance could only be computed against reference data, so such a
    call (of a visit in flight when the worker was upgraded) has no distance check.
    """
    values: dict[str, Any] = {
        k: datetime.fromisoformat(v) if k in _TIMES and v is not None else v
        for k, v in data.items()
        if k not in _DROPPED
    }
    for name in _TUPLES & values.keys():
        if values[name] is not None:
            values[name] = tuple(values[name])
    if "doubts" in values:  # StayQuestioned: pairs, read back as tuples of tuples
        values["doubts"] = tuple(tuple(pair) for pair in values["doubts"])
    cls = _TYPES[str(values.pop("type"))]
    return cls(**values)


def event_json(event: VisitEvent) -> bytes:
    """``event_to_dict`` as compact JSON: encode each event once and join with ``visit_json``."""
    return compact_json(event_to_dict(event))


def visit_json(state: VisitState, events: Iterable[bytes]) -> bytes:
    """A visit's state as JSON, from its events already encoded (``event_json``, by id).

    Joining encoded events costs nothing per event already stored, where encoding the
    whole visit again would cost more with every event. ``visit_from_dict`` reads it.
    """
    alerts = state.alerts
    raised = {k: v.isoformat() for k, v in sorted(alerts.raised.items())}
    resolved = {k: v.isoformat() for k, v in sorted(alerts.resolved.items())}
    known = {k: v.isoformat() for k, v in sorted(state.known.items())}
    return b'{"events":[%b],"known":%b,"raised":%b,"resolved":%b,"visit_id":%b}' % (
        b",".join(events), compact_json(known), compact_json(raised),
        compact_json(resolved), compact_json(state.visit_id))


def compact_json(value: Any) -> bytes:
    """Compact JSON with sorted keys: the one encoding of everything stored."""
    return _COMPACT.encode(value).encode()


_COMPACT = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""One encoder for every call (``json.dumps`` with options builds one each time)."""


def visit_from_dict(data: dict[str, Any]) -> VisitState:
    """Read what ``visit_json`` wrote (parsed): the events, alerts raised and resolved.

    When each event was received (``known``) was added to format 4 before its release;
    a state without it reads as every event received before any watermark.
    """
    state = VisitState(data["visit_id"])
    known = data.get("known", {})
    for item in data["events"]:
        event = event_from_dict(item)
        received = known.get(event.event_id)
        state.apply(event, datetime.fromisoformat(received) if received else None)
    state.alerts = AlertMemory(
        {k: datetime.fromisoformat(v) for k, v in data["raised"].items()},
        {k: datetime.fromisoformat(v) for k, v in data["resolved"].items()},
    )
    return state
