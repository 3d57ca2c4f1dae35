"""The rota gate: how far the carers' side has heard every visit partition (workers in replay).

A visit sends its carer's next visit an onward warning (docs/rules.md, "At risk") using
the words of the carer's rota, which the carer side works out from schedule events of
every visit partition and sends back. ``ecm replay`` hands each word over at once; workers
replaying an extract run the partitions and the carer side at their own speeds, so a
visit may reach an instant before the words said until then have reached it. The gate
says how far they have:

* each visit partition passes its watermark ticks on to every carer partition, after the
  schedule events it re-keyed there;
* a carer partition has then heard every visit partition up to the lowest tick heard from
  all of them, and sent every word those schedule events caused: it passes that instant
  on to every visit partition, after those words;
* a visit partition's gate is the lowest instant heard from every carer partition. A
  warning decided before it (``ecm.domain.atrisk.Onward.decided_at``) is sent; a later one
  waits (``ecm.domain.judgement.Judgement.held``).

Live workers need none of this: a word takes milliseconds, not the hours of event time a
replay covers in that while.
"""

from __future__ import annotations

import json
from datetime import datetime

PASS_ON_EVERY_S = 60 * 60
"""A visit partition passes on a tick at most once an hour of event time (and the
flush at the end): a gate that moves in steps only delays warnings in a replay, never
changes them, and each step costs a record per pair of partitions."""


class LowWatermark:
    """The lowest instant heard from each of ``sources`` partitions (``None`` until all)."""

    __slots__ = ("_heard", "_sources")

    def __init__(self, sources: int, heard: dict[int, datetime] | None = None) -> None:
        self._sources = sources
        self._heard: dict[int, datetime] = dict(heard or {})

    @property
    def low(self) -> datetime | None:
        """The instant every source has been heard up to (``None``: one not heard yet)."""
        if len(self._heard) < self._sources:
            return None
        return min(self._heard.values())

    def hear(self, source: int, instant: datetime) -> datetime | None:
        """Note that ``source`` has reached ``instant``; return the low watermark if it moved."""
        before = self.low
        if instant <= self._heard.get(source, instant) and source in self._heard:
            return None
        self._heard[source] = instant
        after = self.low
        return after if after is not None and (before is None or after > before) else None

    def encode(self) -> bytes:
        """What to store so that a restarted worker hears on from where it was."""
        return json.dumps({str(s): t.isoformat() for s, t in sorted(self._heard.items())}
                          ).encode()

    @classmethod
    def decode(cls, sources: int, raw: bytes) -> LowWatermark:
        """Inverse of ``encode``."""
        heard = {int(s): datetime.fromisoformat(t) for s, t in json.loads(raw).items()}
        return cls(sources, heard)
