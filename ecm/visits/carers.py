"""The carer ledger: overlapping visits, keyed by carer, for ``ecm replay`` and the worker.

A carer checked in at two clients at once can only be seen across visits, so the
worker re-keys call events by carer (the carer-calls topic) and this ledger keeps each
carer's recent timeline (``CARER_HISTORY``), publishing overlaps as they appear and
resolving them when later facts (a correction) remove them.

The store holds one entry per carer and visit (``carer/visit``): that visit's calls of
the carer and what was last published about its overlap. A call writes only the
entries it changed, so its cost does not grow with the carer's history. The timelines
are rebuilt in memory from the store when the worker's partitions change (``release``).
A redelivered call publishes the current picture of the visits around it again,
resolutions included (they may have died in a crash).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecm import contracts as c
from ecm.domain.carers import CARER_HISTORY, CarerEvent, CarerTimeline
from ecm.domain.events import CallTimeCorrected, CarerCall, StayQuestioned
from ecm.domain.exceptions import ExceptionKind, VisitException
from ecm.domain.reference import ReferenceData
from ecm.domain.serial import compact_json, event_from_dict, event_to_dict
from ecm.visits.ledger import VisitStore
from ecm.visits.translate import exception_record, exception_resolved_record

FORMAT = 2
"""The format of a stored carer entry (``{"fmt": 2, "calls", "o", "p", "r", "d", "q", "a"}``).

Format 2 adds ``d``, what was last said against the carer's stay at the visit (the
``StayQuestioned`` doubts, as pairs), ``q``, its sequence number, and ``a``, the instant
it was said (ISO; ``""``: never); format 1 (the same without them) is read as nothing
said yet.

Format 0, before it, held a carer's whole timeline under the carer's id (``{"t":
{"carer_id", "events"}, "x": {exception id: visit id}, "r": {exception id: [visit id,
provider id, when]}}``). It is still read, and rewritten as format 1 entries at the
carer's next call (inside the processing of that carer's message, so each entry goes to
the carer's changelog partition)."""


@dataclass(slots=True)
class _Overlap:
    """What was last published about one visit's overlap for one carer."""

    said: str = ""  # what the published exception says ("" when none is open)
    provider_id: str = ""
    resolved_at: datetime | None = None
    doubts: tuple[tuple[str, str], ...] = ()  # what was last said against the stay
    seq: int = 0  # and its sequence number (0: nothing said yet)
    asked_at: datetime | None = None  # and when


class CarerLedger:
    """Carer timelines and the overlap exceptions already published."""

    def __init__(self, store: VisitStore, reference: ReferenceData | None = None) -> None:
        """Keep entries in ``store``; ``reference`` gives the clients' homes for travel."""
        self.store = store
        self.reference = reference
        self._whereabouts: list[StayQuestioned] = []
        self._carers: dict[str, CarerTimeline] = {}
        self._overlaps: dict[str, dict[str, _Overlap]] = defaultdict(dict)  # carer, visit
        self._legacy: set[str] = set()  # carers whose store still holds format 0
        self._loaded = False

    def release(self) -> None:
        """Forget what is held in memory: the store is read again at the next call."""
        self._carers, self._legacy, self._loaded = {}, set(), False
        self._overlaps = defaultdict(dict)

    def take_whereabouts(self) -> list[StayQuestioned]:
        """What the calls since the last take say against stays: facts for their visits.

        Each goes to its visit (``Emission.whereabouts``), which scores its trust by it.
        """
        taken, self._whereabouts = self._whereabouts, []
        return taken

    def on_call(self, call: CarerEvent) -> list[c.ContractEvent]:
        """Add a check-in, check-out or correction to its carer's timeline.

        Returns the overlap exceptions that appeared or changed and those that no longer
        hold; a redelivered event re-emits the current picture of the visits around it.
        """
        if not self._loaded:
            self._load()
        timeline = self._carers.get(call.carer_id)
        if timeline is None:
            timeline = self._carers[call.carer_id] = CarerTimeline(call.carer_id)
        try:
            return self._apply(timeline, call)
        except Exception:
            self.release()  # changed in memory, maybe not in the store: read it again
            raise

    def _apply(self, timeline: CarerTimeline, call: CarerEvent) -> list[c.ContractEvent]:
        if timeline.carer_id in self._legacy:
            self._upgrade(timeline)
        affected = timeline.apply(call)
        if affected is None:
            return self._republish(timeline)
        for visit_id in timeline.forget_older_than(CARER_HISTORY):
            self._overlaps[timeline.carer_id].pop(visit_id, None)
            self.store.delete(_key(timeline.carer_id, visit_id))
            affected.discard(visit_id)
        records: list[c.ContractEvent] = []
        for visit_id in sorted(affected):
            changed, found = self._settle(timeline, visit_id, call.occurred_at)
            records += found
            questioned = self._question(timeline, visit_id, call.occurred_at)
            if changed or questioned or visit_id == call.visit_id:
                self._write(timeline, visit_id)
        return records

    def _question(self, timeline: CarerTimeline, visit_id: str, at: datetime) -> bool:
        """Tell the visit what the carer's other stays now say against this one, if new."""
        overlaps = self._overlaps[timeline.carer_id]
        known = overlaps.get(visit_id) or _Overlap()
        doubts = timeline.doubts(visit_id, self.reference)
        if doubts == known.doubts:
            return False
        stay = timeline.stays.get(visit_id)
        provider = stay.provider_id if stay else known.provider_id
        if not provider:
            first = next(iter(timeline.calls.get(visit_id, {}).values()), None)
            provider = first.provider_id if first is not None else ""
        word = _Overlap(known.said, known.provider_id or provider, known.resolved_at, doubts,
                        known.seq + 1, at)
        overlaps[visit_id] = word
        self._whereabouts.append(_questioned(timeline.carer_id, visit_id, word))
        return True

    def _settle(
        self, timeline: CarerTimeline, visit_id: str, at: datetime
    ) -> tuple[bool, list[c.ContractEvent]]:
        """Compare a visit's overlap with what was published; return the records to send."""
        overlaps = self._overlaps[timeline.carer_id]
        known = overlaps.get(visit_id) or _Overlap()
        current = timeline.overlap(visit_id)
        said = _said(current)
        if said == known.said:
            return False, []
        if current is not None:
            overlaps[visit_id] = _Overlap(said, current.provider_id, None, known.doubts,
                                          known.seq, known.asked_at)
            return True, [exception_record(current)]
        overlaps[visit_id] = _Overlap("", known.provider_id, at, known.doubts, known.seq,
                                      known.asked_at)
        return True, [_resolved(timeline.carer_id, visit_id, known.provider_id, at)]

    def _republish(self, timeline: CarerTimeline) -> list[c.ContractEvent]:
        """The carer's open overlaps and resolutions, sent again after a redelivery."""
        records: list[c.ContractEvent] = []
        for visit_id, known in sorted(self._overlaps[timeline.carer_id].items()):
            if known.seq:  # the last word to the visit, the same event again
                self._whereabouts.append(_questioned(timeline.carer_id, visit_id, known))
            current = timeline.overlap(visit_id)
            if current is not None:
                records.append(exception_record(current))
            elif known.resolved_at is not None:
                records.append(_resolved(timeline.carer_id, visit_id, known.provider_id,
                                         known.resolved_at))
        return records

    def _write(self, timeline: CarerTimeline, visit_id: str) -> None:
        known = self._overlaps[timeline.carer_id].get(visit_id) or _Overlap()
        calls = timeline.calls[visit_id]
        entry = {
            "fmt": FORMAT, "calls": [event_to_dict(calls[i]) for i in sorted(calls)],
            "o": known.said, "p": known.provider_id,
            "r": known.resolved_at.isoformat() if known.resolved_at else "",
            "d": [list(pair) for pair in known.doubts], "q": known.seq,
            "a": known.asked_at.isoformat() if known.asked_at else "",
        }
        self.store.put(_key(timeline.carer_id, visit_id), compact_json(entry))

    def _upgrade(self, timeline: CarerTimeline) -> None:
        """Rewrite a carer's format 0 timeline as format 1 entries."""
        for visit_id in sorted(timeline.calls):
            self._write(timeline, visit_id)
        self.store.delete(timeline.carer_id)
        self._legacy.discard(timeline.carer_id)

    def _load(self) -> None:
        by_carer: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for key, raw in self.store.items():
            carer_id, _, visit_id = key.partition("/")
            if visit_id:
                by_carer[carer_id][visit_id] = _decode(raw)
            else:
                by_carer[carer_id].update(_upcast_v0(json.loads(raw)))
                self._legacy.add(carer_id)
        for carer_id, entries in by_carer.items():
            timeline = self._carers[carer_id] = CarerTimeline(carer_id)
            for visit_id, entry in entries.items():
                events = [event_from_dict(item) for item in entry["calls"]]
                timeline.load(visit_id, (e for e in events
                                         if isinstance(e, CarerCall | CallTimeCorrected)))
                resolved = datetime.fromisoformat(entry["r"]) if entry["r"] else None
                stay = timeline.stays.get(visit_id)
                provider = entry["p"] or (stay.provider_id if stay else "")
                doubts = tuple((reason, other) for reason, other in entry["d"])
                asked = datetime.fromisoformat(entry["a"]) if entry["a"] else None
                self._overlaps[carer_id][visit_id] = _Overlap(entry["o"], provider, resolved,
                                                              doubts, entry["q"], asked)
        self._loaded = True


def _decode(raw: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(raw)
    if entry.get("fmt") == 1:  # format 1: nothing said against the stay yet
        return {**entry, "fmt": FORMAT, "d": [], "q": 0, "a": ""}
    if entry.get("fmt") != FORMAT:
        raise ValueError(f"stored carer entry format {entry.get('fmt')!r} is unknown")
    return entry


def _upcast_v0(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A format 0 timeline as format 1 entries, by visit id.

    Format 0 kept no statement of what each published overlap said, so each open one
    is marked as said by format 0: the next look at it publishes its current picture.
    """
    entries: dict[str, dict[str, Any]] = {}
    for item in data["t"]["events"]:
        entry = entries.setdefault(item["visit_id"],
                                   {"calls": [], "o": "", "p": "", "r": "", "d": [], "q": 0,
                                    "a": ""})
        entry["calls"].append(item)
    for visit_id in data["x"].values():
        if visit_id in entries:
            entries[visit_id].update(o="format 0", p="")
    for visit_id, provider_id, at in data["r"].values():
        if visit_id in entries:
            entries[visit_id].update(p=provider_id, r=at)
    return entries


def _questioned(carer_id: str, visit_id: str, word: _Overlap) -> StayQuestioned:
    """The ``word.seq``-th word to a visit about one carer's stay (sent again: the same)."""
    assert word.asked_at is not None
    digest = hashlib.blake2b(repr(word.doubts).encode(), digest_size=4).hexdigest()
    return StayQuestioned(f"questioned:{visit_id}:{carer_id}:{word.seq}:{digest}",
                          word.asked_at, visit_id, word.provider_id, carer_id, word.seq,
                          word.doubts)


def _key(carer_id: str, visit_id: str) -> str:
    return f"{carer_id}/{visit_id}"


def _said(exception: VisitException | None) -> str:
    return "" if exception is None else f"{exception.at.isoformat()}|{exception.detail}"


def _resolved(
    carer_id: str, visit_id: str, provider_id: str, at: datetime
) -> c.VisitExceptionResolved:
    exception_id = f"{visit_id}:{ExceptionKind.OVERLAPPING_VISITS.value}:{carer_id}"
    return exception_resolved_record(exception_id, ExceptionKind.OVERLAPPING_VISITS.value,
                                     visit_id, provider_id, at)
