"""The visit ledger of a stream worker: what the Faust agents call for the visits they own.

The ledger keeps each visit's state in a keyed store (a Faust table) and a deadline
index per partition in memory, rebuilt from the store whenever the worker's partitions
change. Every call returns the records to publish: alerts raised or resolved, the
visit's current outcome, and exceptions raised or no longer holding.

Time is always a parameter. In replay mode the watermark comes from ticks in the input;
in live mode from the wall clock. Either way the same domain functions as ``ecm replay``
decide what fires, so the two agree.

Delivery is at least once, and a crash can leave a visit's new state in the table while
the records it caused were still in the producer's buffer. So each visit is stamped with
the position (topic, offset) of the message that last changed it. The first message a
ledger sees on a partition after taking it over is where the input resumes (the
committed offset; everything before it was flushed before the commit): every visit of
that partition stamped at or after it is re-judged and its whole current picture
published again, whether the redelivered message touches it (an event seen again) or
not (a watermark tick whose deadline already fired). Downstream writes are keyed
upserts, so republishing changes nothing there, and nothing republished is counted again.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ecm import contracts as c
from ecm.domain.alerts import AlertChange, alert_history, fire_due, pending_deadlines
from ecm.domain.deadlines import passed
from ecm.domain.derive import derive
from ecm.domain.reference import ReferenceData
from ecm.domain.serial import visit_from_dict, visit_to_dict
from ecm.domain.visit import VisitState
from ecm.visits.translate import (
    alert_record,
    exception_record,
    outcome_id,
    outcome_record,
    record_id,
    visit_event,
)


class VisitStore(Protocol):
    """Where visit state lives: a keyed table holding bytes."""

    def get(self, visit_id: str) -> bytes | None:
        """Return the stored state of a visit, if any."""

    def put(self, visit_id: str, value: bytes) -> None:
        """Store the state of a visit."""

    def items(self) -> Iterable[tuple[str, bytes]]:
        """Every visit held locally (all partitions this process has)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a message sits in the input: its partition, topic and offset."""

    partition: int
    source: str
    offset: int


@dataclass(slots=True)
class Ledgered:
    """One visit as the ledger keeps it: its partition, state and open exceptions."""

    partition: int
    state: VisitState
    exceptions: dict[str, str] = field(default_factory=dict)  # exception id -> kind
    alerts: dict[str, str] = field(default_factory=dict)  # alert record id -> what it said
    # exception id -> [kind, when] of exceptions that no longer hold
    settled: dict[str, list[str]] = field(default_factory=dict)
    outcome: str = ""  # id of the outcome record last published
    judged: str = ""  # the instant of the last judgement (ISO), "" before any
    inclusive: bool = False  # whether deadlines exactly at that instant counted
    source: str = ""  # topic of the message that last changed the visit
    offset: int = -1  # and its offset

    def changed_since(self, position: Position) -> bool:
        """Whether a message at or after ``position`` (same topic) changed this visit."""
        return self.source == position.source and self.offset >= position.offset

    def encode(self) -> bytes:
        """Serialise for the store."""
        data = {"p": self.partition, "v": visit_to_dict(self.state), "x": self.exceptions,
                "a": self.alerts, "s": self.settled, "o": self.outcome,
                "j": [self.judged, self.inclusive], "n": [self.source, self.offset]}
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Ledgered:
        """Inverse of ``encode``."""
        data = json.loads(raw)
        judged, inclusive = data.get("j", ("", False))
        source, offset = data.get("n", ("", -1))
        return cls(int(data["p"]), visit_from_dict(data["v"]), dict(data["x"]),
                   dict(data["a"]), dict(data.get("s", {})), str(data["o"]), str(judged),
                   bool(inclusive), str(source), int(offset))


@dataclass(slots=True)
class Emission:
    """What to publish after a call, and the alerts that fired or settled for the first time.

    ``again`` holds what was published before and is sent again when a worker takes a
    partition over (its first delivery may have died in a crash): publish it first.
    ``records`` is what is new; counters and pagers count only ``records`` and ``fired``.
    """

    records: list[c.ContractEvent] = field(default_factory=list)
    fired: list[AlertChange] = field(default_factory=list)
    again: list[c.ContractEvent] = field(default_factory=list)

    def __iadd__(self, other: Emission) -> Emission:
        self.records += other.records
        self.fired += other.fired
        self.again += other.again
        return self


class VisitLedger:
    """Visit state, deadlines and judgements for the partitions a worker owns."""

    def __init__(self, reference: ReferenceData, store: VisitStore) -> None:
        self.reference = reference
        self.store = store
        self._deadlines: dict[int, list[tuple[datetime, str, str]]] = {}
        self._watermarks: dict[int, datetime] = {}
        # Decoded visits of the partitions owned, so each event does not decode its
        # visit again; the store stays the truth (it is rebuilt from it on a rebalance).
        self._visits: dict[str, Ledgered] = {}
        # (partition, topic) pairs whose resume point has been checked since indexing.
        self._resumed: set[tuple[int, str]] = set()

    @property
    def indexed_partitions(self) -> set[int]:
        """The partitions whose deadlines are indexed in this process."""
        return set(self._deadlines)

    def watermark(self, partition: int) -> datetime | None:
        """The latest watermark tick seen on a partition (replay mode)."""
        return self._watermarks.get(partition)

    def on_event(
        self, position: Position, event: c.VisitEvent, watermark: datetime | None
    ) -> Emission:
        """Apply a schedule or call event to its visit and return what to publish.

        ``watermark`` is the event time known to have been reached (the partition's
        last tick in replay mode, the wall clock in live mode); ``None`` before any.
        """
        emission = self._resume(position)
        visit = self._load(event.visit_id, position.partition)
        if not visit.state.apply(visit_event(event)):
            return emission  # already applied; a redelivery was republished by _resume
        fired = []
        if watermark is not None and visit.state.open_alerts:
            fired = fire_due(visit.state, self.reference, watermark)
        emission += self._commit(visit, position, watermark, fired)
        return emission

    def on_watermark(
        self, position: Position, watermark: datetime, flush: bool = False
    ) -> Emission:
        """Fire the partition's deadlines passed by ``watermark`` (replay mode).

        With ``flush`` (the end of a replayed extract) deadlines exactly at the
        watermark fire too, and every visit of the partition is judged once more.
        """
        partition = position.partition
        emission = self._resume(position)
        previous = self._watermarks.get(partition)
        if previous is None or watermark > previous:
            self._watermarks[partition] = watermark
        for visit_id in self.pop_due(partition, watermark, inclusive=flush):
            emission += self.on_deadline(position, visit_id, watermark, inclusive=flush)
        if flush:
            for visit in self._partition_visits(partition):
                emission += self._commit(visit, position, watermark, [], inclusive=True)
        return emission

    def on_deadline(
        self, position: Position, visit_id: str, now: datetime, inclusive: bool = False
    ) -> Emission:
        """Re-check a visit whose deadline fell due; raise what still holds.

        A check-in that arrived first wins: the state is checked, not the command.
        """
        emission = self._resume(position)
        visit = self._visits.get(visit_id) or self._decode(visit_id)
        if visit is None:
            return emission
        fired = fire_due(visit.state, self.reference, now, inclusive)
        emission += self._commit(visit, position, now, fired, inclusive)
        return emission

    def pop_due(self, partition: int, now: datetime, inclusive: bool = False) -> dict[str, str]:
        """Remove and return the visits of a partition with a deadline passed by ``now``.

        Returns:
            Visit id -> the kind of its earliest deadline due, in deadline order.
        """
        heap = self._deadlines.get(partition, [])
        due: dict[str, str] = {}
        while heap and passed(heap[0][0], now, inclusive):
            _, visit_id, kind = heapq.heappop(heap)
            due.setdefault(visit_id, kind)
        return due

    def next_deadline(self, partition: int) -> datetime | None:
        """The earliest indexed deadline of a partition, if any."""
        heap = self._deadlines.get(partition)
        return heap[0][0] if heap else None

    def rebuild_index(self, partitions: set[int]) -> int:
        """Rebuild the deadline index of the given partitions from the store.

        Called when the worker's partitions change (after a restart or a rebalance), so
        deadlines that fell due while nobody owned a partition fire at the next sweep.

        Returns:
            The number of deadlines indexed.
        """
        for partition in list(self._deadlines):
            if partition not in partitions:
                del self._deadlines[partition]
        self._visits = {k: v for k, v in self._visits.items() if v.partition in partitions}
        return self._index_partitions(partitions)

    def release(self, partitions: set[int]) -> None:
        """Forget the index and cached visits of partitions this worker no longer owns."""
        for partition in partitions:
            self._deadlines.pop(partition, None)
            self._watermarks.pop(partition, None)
        self._visits = {k: v for k, v in self._visits.items() if v.partition not in partitions}
        self._resumed = {r for r in self._resumed if r[0] not in partitions}

    def _resume(self, position: Position) -> Emission:
        """Republish what a crash may have lost, on a topic-partition's first message.

        Every visit changed at or after that message (the resume point) is republished:
        its records may have died in the producer's buffer. Each is judged again at the
        instant it was last judged, so what is republished is what was published then.
        """
        self._ensure_indexed(position.partition)
        key = (position.partition, position.source)
        if key in self._resumed:
            return Emission()
        self._resumed.add(key)
        records: list[c.ContractEvent] = []
        for _, visit in sorted(self._visits.items()):
            if (visit.partition == position.partition and visit.changed_since(position)
                    and visit.judged):
                at = datetime.fromisoformat(visit.judged)
                records += self._judge(visit, at, visit.inclusive, everything=True)
        return Emission(again=records)

    def _ensure_indexed(self, partition: int) -> None:
        if partition not in self._deadlines:
            self._index_partitions({partition})

    def _index_partitions(self, partitions: set[int]) -> int:
        fresh = partitions - set(self._deadlines)
        self._resumed = {r for r in self._resumed if r[0] not in fresh}
        for partition in partitions:
            self._deadlines[partition] = []
        count = 0
        for visit_id, raw in self.store.items():
            visit = Ledgered.decode(raw)
            if visit.partition in partitions:
                self._visits[visit_id] = visit
                count += self._index(visit)
        return count

    def _load(self, visit_id: str, partition: int) -> Ledgered:
        visit = self._visits.get(visit_id) or self._decode(visit_id)
        if visit is None:
            visit = self._visits[visit_id] = Ledgered(partition, VisitState(visit_id))
        return visit

    def _decode(self, visit_id: str) -> Ledgered | None:
        raw = self.store.get(visit_id)
        if raw is None:
            return None
        visit = self._visits[visit_id] = Ledgered.decode(raw)
        return visit

    def _partition_visits(self, partition: int) -> Iterator[Ledgered]:
        for visit_id, _ in sorted(self.store.items()):
            visit = self._visits.get(visit_id) or self._decode(visit_id)
            if visit is not None and visit.partition == partition:
                yield visit

    def _index(self, visit: Ledgered) -> int:
        heap = self._deadlines.setdefault(visit.partition, [])
        deadlines = pending_deadlines(visit.state, self.reference)
        for deadline in deadlines:
            heapq.heappush(heap, (deadline.due_at, deadline.visit_id, deadline.kind.value))
        return len(deadlines)

    def _commit(
        self,
        visit: Ledgered,
        position: Position,
        watermark: datetime | None,
        fired: list[AlertChange],
        inclusive: bool = False,
    ) -> Emission:
        emission = Emission(self._judge(visit, watermark, inclusive, everything=False), fired)
        visit.source, visit.offset = position.source, position.offset
        self.store.put(visit.state.visit_id, visit.encode())
        self._index(visit)
        return emission

    def _judge(
        self, visit: Ledgered, watermark: datetime | None, inclusive: bool, everything: bool
    ) -> list[c.ContractEvent]:
        """The visit's alerts, outcome and exceptions: what changed, or ``everything``."""
        facts = visit.state.facts()
        at = watermark if watermark is not None else facts.last_event_at
        if at is None:
            return []
        visit.judged, visit.inclusive = at.isoformat(), inclusive
        records = self._alerts(visit, everything)
        result = derive(visit.state, self.reference, at, inclusive)
        if result.outcome is not None:
            judged = outcome_id(result.outcome)
            if everything or judged != visit.outcome:
                records.append(outcome_record(result.outcome))
                visit.outcome = judged
        current = {e.exception_id: e for e in result.exceptions}
        for exception_id, exception in sorted(current.items()):
            if everything or exception_id not in visit.exceptions:
                records.append(exception_record(exception))
        settled_at = (facts.last_event_at or at).isoformat()
        newly = {i: kind for i, kind in visit.exceptions.items() if i not in current}
        for exception_id, kind in newly.items():
            visit.settled[exception_id] = [kind, settled_at]
        for exception_id in current:
            visit.settled.pop(exception_id, None)
        for exception_id, (kind, when) in sorted(visit.settled.items()):
            if everything or exception_id in newly:  # a resolution lost in a crash, too
                records.append(_exception_resolved(visit, exception_id, kind, when))
        visit.exceptions = {i: e.kind.value for i, e in current.items()}
        return records

    def _alerts(self, visit: Ledgered, everything: bool) -> list[c.ContractEvent]:
        """The visit's alert history where it differs from what was published.

        The history (``alert_history``) is settled from all facts known now, the same
        record ``ecm replay`` writes; a later fact can move a resolution, and then the
        changed record is published again under the same alert id.
        """
        records: list[c.ContractEvent] = []
        for change in alert_history(visit.state, self.reference):
            record = alert_record(change)
            said = hashlib.sha1(c.dump_event(record), usedforsecurity=False).hexdigest()[:16]
            if everything or visit.alerts.get(record.event_id) != said:
                records.append(record)
                visit.alerts[record.event_id] = said
        return records


def _exception_resolved(
    visit: Ledgered, exception_id: str, kind: str, at: str
) -> c.VisitExceptionResolved:
    return c.VisitExceptionResolved(
        event_id=record_id(f"{exception_id}:resolved"),
        occurred_at=datetime.fromisoformat(at),
        exception_id=exception_id,
        kind=c.ExceptionKind(kind),
        visit_id=visit.state.visit_id,
        provider_id=_provider_of(visit.state),
    )


def _provider_of(state: VisitState) -> str:
    facts = state.facts()
    if facts.plan is not None:
        return facts.plan.provider_id
    if facts.first_call is not None:
        return facts.first_call.provider_id
    return "unknown"
