"""What a worker stores per visit, in a versioned format (like the wire events).

Every stored value carries its format number (``"fmt"``); ``StoredVisit.decode`` reads
the current format and upcasts each older one with a decoder of its own, so a worker
upgraded in place reads the tables its predecessor wrote. A released format is never
changed: a new one is added, with its number, and the old decoder stays.

Format 1 (no ``"fmt"`` key): ``p`` partition, ``v`` visit, ``x`` exceptions published,
``a`` alert records published (id -> digest), and, added later without a format number,
``s`` exceptions settled, ``o`` outcome id, ``j`` last judgement, ``n`` position.
Format 2: the same keys, every one required, the alert memory inside ``v``, and ``a``
and ``x`` holding what each alert and exception record said (``_alert_said`` and
``_exception_said`` in ``ecm.visits.ledger``; an exception's kind comes first).
Format 3: format 2's keys and ``w``, the workflow records published (exception statuses,
alert handling: record id -> the instant ecm learned it, so a record sent again says
the same). Format 2 upcasts with none published.
Format 4: format 3's keys; a planned or changed visit's event in ``v`` may carry
``planned_carer_ids`` (a list; on a change ``null`` keeps the carers planned before). A
format 3 event has none: it is read as naming no carers (a change: keeping them). An ecm
older than format 4 refuses format 4 by its number rather than misreading the carers.
``v`` also holds ``known``: event id -> the watermark when the event was received (what
was known at an instant decides "at risk"); a visit stored without it reads as every
event received before any watermark. ``k`` is the visit's next wake-up as of its last
judgement (``[instant, kind]`` or ``null``), so a worker taking a partition over indexes
its deadlines without decoding and judging every visit; an older format has none and
is judged to find it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ecm.domain.serial import compact_json, event_json, visit_from_dict, visit_json
from ecm.domain.visit import VisitState

FORMAT = 4
"""The format ``StoredVisit.encode`` writes."""


@dataclass(slots=True)
class Published:
    """What was last published about a visit, to publish only what changes."""

    outcome: str = ""  # id of the outcome record
    exceptions: dict[str, str] = field(default_factory=dict)  # id -> "kind|at|detail"
    alerts: dict[str, str] = field(default_factory=dict)  # alert record id -> what it said
    settled: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # id -> kind, when
    workflow: dict[str, str] = field(default_factory=dict)  # record id -> learned at (ISO)


@dataclass(slots=True)
class StoredVisit:
    """One visit as the ledger keeps it: its partition, state and what was published."""

    partition: int
    state: VisitState
    published: Published = field(default_factory=Published)
    judged: datetime | None = None  # the instant of the last judgement
    inclusive: bool = False  # whether deadlines exactly at that instant counted
    source: str = ""  # topic of the message that last changed the visit
    offset: int = -1  # and its offset
    wake: tuple[datetime, str] | None = None  # next wake-up as of the last judgement
    wake_known: bool = False  # False: read from a format without ``k`` (judge to know)
    _events_json: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def changed_since(self, source: str, offset: int) -> bool:
        """Whether a message of ``source`` at or after ``offset`` changed this visit."""
        return self.source == source and self.offset >= offset

    def encode(self) -> bytes:
        """Serialise for the store, in the current format.

        Each event is encoded once and kept (events never change), so a visit written
        again re-encodes only what is new, not its whole history.
        """
        p, state = self.published, self.state
        cache = self._events_json
        for event_id, event in state.events.items():
            if event_id not in cache:
                cache[event_id] = event_json(event)
        visit = visit_json(state, (cache[i] for i in sorted(state.events)))
        rest = compact_json({
            "fmt": FORMAT, "p": self.partition, "x": p.exceptions, "a": p.alerts,
            "o": p.outcome, "w": p.workflow,
            "s": {i: [kind, at.isoformat()] for i, (kind, at) in p.settled.items()},
            "j": [self.judged.isoformat() if self.judged else "", self.inclusive],
            "n": [self.source, self.offset],
            "k": [self.wake[0].isoformat(), self.wake[1]] if self.wake else None,
        })
        return b'{"v":%b,%b' % (visit, rest[1:])

    @classmethod
    def decode(cls, raw: bytes) -> StoredVisit:
        """Read any format ever written (see the module docstring)."""
        data = json.loads(raw)
        decoder = _DECODERS.get(data.get("fmt", 1))
        if decoder is None:
            raise ValueError(f"stored visit format {data.get('fmt')!r} is newer than this ecm")
        return decoder(data)


def _decode_v4(data: dict[str, Any]) -> StoredVisit:
    judged, inclusive = data["j"]
    source, offset = data["n"]
    settled = {i: (str(kind), datetime.fromisoformat(at)) for i, (kind, at) in data["s"].items()}
    published = Published(str(data["o"]), dict(data["x"]), dict(data["a"]), settled,
                          dict(data["w"]))
    return StoredVisit(int(data["p"]), visit_from_dict(data["v"]), published,
                       datetime.fromisoformat(judged) if judged else None, bool(inclusive),
                       str(source), int(offset), _wake(data), "k" in data)


def _wake(data: dict[str, Any]) -> tuple[datetime, str] | None:
    wake = data.get("k")
    return (datetime.fromisoformat(wake[0]), str(wake[1])) if wake else None


class StoredWake(NamedTuple):
    """What indexing a stored visit needs, read without decoding the visit."""

    partition: int
    wake: tuple[datetime, str] | None
    source: str  # the topic and offset of the message that last changed it
    offset: int


def stored_wake(raw: bytes) -> StoredWake | None:
    """A stored visit's partition, next wake-up and last change, without decoding the visit.

    ``None`` when the value is of a format that does not keep its wake-up (decode and
    judge it instead).
    """
    data = json.loads(raw)
    if data.get("fmt") != FORMAT or "k" not in data:
        return None
    source, offset = data["n"]
    return StoredWake(int(data["p"]), _wake(data), str(source), int(offset))


def _upcast_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 -> 2: keys added later default to "nothing yet"; alert digests are dropped.

    Format 1 kept a digest of each alert record and only the kind of each exception,
    which format 2 cannot compare with, so every alert and exception record of the visit
    is published once more at its next change (keyed upserts downstream: the same record
    again changes nothing).
    """
    return {**data, "fmt": 2, "a": {}, "s": data.get("s", {}), "o": data.get("o", ""),
            "x": {i: f"{kind}|format 1" for i, kind in data["x"].items()},
            "j": data.get("j", ["", False]), "n": data.get("n", ["", -1])}


def _upcast_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Format 2 -> 3: no workflow record was published before format 3 existed."""
    return {**data, "fmt": 3, "w": {}}


def _upcast_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Format 3 -> 4: its events name no planned carers, which is what their absence says."""
    return {**data, "fmt": 4}


_DECODERS = {
    1: lambda data: _decode_v4(_upcast_v3(_upcast_v2(_upcast_v1(data)))),
    2: lambda data: _decode_v4(_upcast_v3(_upcast_v2(data))),
    3: lambda data: _decode_v4(_upcast_v3(data)),
    4: _decode_v4,
}
