"""Deliberately broken lines, so the dead-letter path gets exercised.

Half are not JSON at all (a truncated line, an HTML error page); half are JSON that
breaks the contract (an unknown schema version, a naive timestamp, a missing field,
an unknown event type, a latitude off the globe).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any


def _truncated(payload: bytes, rng: random.Random) -> bytes:
    return payload[: rng.randint(1, max(1, len(payload) - 2))]


def _html(payload: bytes, rng: random.Random) -> bytes:
    return b"<html><body>502 Bad Gateway (synthetic)</body></html>"


def _schema_version(doc: dict[str, Any]) -> None:
    doc["schema_version"] = 99


def _naive_time(doc: dict[str, Any]) -> None:
    doc["occurred_at"] = str(doc["occurred_at"])[:19]


def _missing_field(doc: dict[str, Any]) -> None:
    doc.pop("visit_id", None)
    doc.pop("provider_id", None)


def _unknown_type(doc: dict[str, Any]) -> None:
    doc["event_type"] = "carer_teleported"


def _bad_latitude(doc: dict[str, Any]) -> None:
    doc["location"] = {"lat": 123.4, "lon": 0.5}
    doc["method"] = "app_gps"


_BREAK_JSON: tuple[Callable[[bytes, random.Random], bytes], ...] = (_truncated, _html)
_BREAK_SCHEMA: tuple[Callable[[dict[str, Any]], None], ...] = (
    _schema_version,
    _naive_time,
    _missing_field,
    _unknown_type,
    _bad_latitude,
)


def malformed_copy(payload: bytes, rng: random.Random) -> bytes:
    """Return a broken variant of a valid event's JSON line: never a valid event."""
    if rng.random() < 0.5:
        return rng.choice(_BREAK_JSON)(payload, rng)
    doc = json.loads(payload)
    breaker = rng.choice(_BREAK_SCHEMA)
    if breaker is _bad_latitude and "client_id" not in doc:
        breaker = _schema_version
    breaker(doc)
    doc["event_id"] = f"{doc.get('event_id', 'sim')}.malformed"
    return json.dumps(doc, separators=(",", ":")).encode()
