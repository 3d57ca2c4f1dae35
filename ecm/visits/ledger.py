"""The visit ledger: the one handler that judges visits, for ``ecm replay`` and the worker.

The ledger keeps each visit's state in a keyed store (a dict in ``ecm replay``, a Faust
table in a stream worker) and a deadline index per partition in memory, rebuilt from the
store whenever the worker's partitions change. Every call returns the records to
publish: alerts raised or resolved, the visit's current outcome, and exceptions raised
or no longer holding. A call that changes nothing writes nothing and publishes nothing.

Time is always a parameter. ``ecm replay`` is this ledger over one partition with
watermark ticks; a worker gets ticks from the input in replay mode and the wall clock
in live mode. Rules: docs/rules.md.

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

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from ecm import contracts as c
from ecm.domain.alerts import AlertChange
from ecm.domain.atrisk import HELD
from ecm.domain.events import WORKFLOW_ACTS, CarerWhereabouts, VisitEvent
from ecm.domain.exceptions import VisitException
from ecm.domain.judgement import Judgement, judge
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import VisitState
from ecm.domain.workflow import INFORMATIONAL_KINDS, Refused
from ecm.visits.deadlines import DeadlineIndex
from ecm.visits.state import Published, StoredVisit, StoredWake, stored_wake
from ecm.visits.translate import (
    alert_handled_record,
    alert_record,
    alert_record_id,
    exception_record,
    exception_resolved_record,
    exception_settled_record,
    exception_status_record,
    outcome_id,
    outcome_record,
    record_id,
    settled_record_id,
)

V = TypeVar("V")

NOTHING_HEARD = datetime.min.replace(tzinfo=UTC)
"""A gated partition's gate before any carer partition has been heard (holds everything)."""

CACHED_VISITS = 30_000
"""Decoded visits a ledger keeps (about three days of Kent's visits, ~6 KB each decoded)."""


class Store(Protocol[V]):
    """Where state lives: a keyed table (a dict in ``ecm replay``, a Faust table in a worker)."""

    def get(self, key: str) -> V | None:
        """Return the stored state under ``key``, if any."""

    def put(self, key: str, value: V) -> None:
        """Store the state under ``key``."""

    def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it is not there)."""

    def items(self) -> Iterable[tuple[str, V]]:
        """Every key held locally (all partitions this process has)."""


VisitStore = Store[bytes]
"""A store of bytes, as a Faust table holds them."""


class DictStore(dict[str, V]):
    """The in-memory store ``ecm replay`` runs the ledgers over (values kept as they are)."""

    def put(self, key: str, value: V) -> None:
        """Store ``value`` under ``key``."""
        self[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.pop(key, None)


class EncodedVisits:
    """Stored visits kept as bytes in a store of bytes (a Faust table and its changelog)."""

    def __init__(self, store: VisitStore) -> None:
        self._store = store

    def get(self, key: str) -> StoredVisit | None:
        """Decode the visit stored under ``key``, if any."""
        raw = self._store.get(key)
        return None if raw is None else StoredVisit.decode(raw)

    def put(self, key: str, value: StoredVisit) -> None:
        """Encode and store a visit."""
        self._store.put(key, value.encode())

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._store.delete(key)

    def items(self) -> Iterator[tuple[str, StoredVisit]]:
        """Every visit held locally, decoded."""
        for key, raw in self._store.items():
            yield key, StoredVisit.decode(raw)

    def raw_items(self) -> Iterable[tuple[str, bytes]]:
        """Every visit held locally, as stored."""
        return self._store.items()


@dataclass(frozen=True, slots=True)
class Position:
    """Where a message sits in the input: its partition, topic and offset."""

    partition: int
    source: str
    offset: int


@dataclass(slots=True)
class Emission:
    """What to publish after a call, and the alerts that fired or settled for the first time.

    ``again`` holds what was published before and is sent again when a worker takes a
    partition over (its first delivery may have died in a crash): publish it first.
    ``records`` is what is new; counters and pagers count only ``records`` and ``fired``.
    ``refused`` holds an act the workflow refused, with why: it changed nothing and is
    set aside (the worker's dead-letter topic, ``ecm replay``'s refused list).
    ``whereabouts`` are facts for other visits (a carer's next visit told that the carer
    cannot be on time, docs/rules.md "At risk"): deliver each to its ``visit_id``'s
    ledger, which applies it like any visit event (a repeat changes nothing there).
    """

    records: list[c.ContractEvent] = field(default_factory=list)
    fired: list[AlertChange] = field(default_factory=list)
    again: list[c.ContractEvent] = field(default_factory=list)
    refused: list[tuple[VisitEvent, Refused]] = field(default_factory=list)
    whereabouts: list[CarerWhereabouts] = field(default_factory=list)

    def __iadd__(self, other: Emission) -> Emission:
        self.records += other.records
        self.fired += other.fired
        self.again += other.again
        self.refused += other.refused
        self.whereabouts += other.whereabouts
        return self


class VisitLedger:
    """Visit state, deadlines and judgements for the partitions a worker owns."""

    def __init__(
        self, reference: ReferenceData, store: Store[StoredVisit],
        on_earlier_deadline: Callable[[], None] | None = None, gated: bool = False,
        cache_size: int = CACHED_VISITS,
    ) -> None:
        """Keep visits in ``store``.

        ``on_earlier_deadline`` is called when a partition's earliest deadline moves
        earlier: a timer sleeping until the old one must wake. ``gated`` (workers
        replaying an extract): onward warnings wait for each partition's rota gate
        (``on_gate``; ``ecm.visits.gate``). ``cache_size``: how many decoded visits to
        keep; the longest held are forgotten first (decoded again when needed).
        """
        self.reference = reference
        self.store = store
        self._on_earlier = on_earlier_deadline
        self._deadlines: dict[int, DeadlineIndex] = {}
        # Gated: each partition's gate (absent: none heard yet) and the visits whose
        # onward warning waits for it, by the instant it waits for.
        self._gates: dict[int, datetime] | None = {} if gated else None
        self._held: dict[int, DeadlineIndex] = {}
        # Gated partitions indexed from the store (a restart, a takeover): which of their
        # visits hold a warning is not stored, so the first gate move judges them all.
        self._unswept: set[int] = set()
        self._watermarks: dict[int, datetime] = {}
        # Decoded visits of the partitions owned, so each event does not decode its
        # visit again; the store stays the truth (it is rebuilt from it on a rebalance).
        # At most ``cache_size``: a live worker holds weeks of visits, most of them done.
        self._visits: dict[str, StoredVisit] = {}
        self._cache_size = cache_size
        # (partition, topic) pairs whose resume point has been checked since indexing.
        self._resumed: set[tuple[int, str]] = set()
        # Stored visits indexed but not decoded: where each was last changed (``_resume``).
        self._positions: dict[str, StoredWake] = {}

    def watermark(self, partition: int) -> datetime | None:
        """The latest watermark tick seen on a partition (replay mode)."""
        return self._watermarks.get(partition)

    def resume_watermark(self, partition: int, watermark: datetime) -> None:
        """Take up a partition's watermark where its last owner left it (replay mode).

        Nothing fires: what fell due by then was judged when that tick came (its judgements
        are in the store with it); the events after it are judged at it, as they would have
        been by the last owner.
        """
        previous = self._watermarks.get(partition)
        if previous is None or watermark > previous:
            self._watermarks[partition] = watermark

    def gate(self, partition: int) -> datetime | None:
        """A gated partition's rota gate (``None``: not gated, or none heard yet)."""
        return None if self._gates is None else self._gates.get(partition)

    def visits(self) -> Iterator[StoredVisit]:
        """Every visit held, by visit id."""
        for visit_id, stored in sorted(self.store.items(), key=lambda item: item[0]):
            visit = self._visits.get(visit_id)
            if visit is None:
                visit = self._remember(visit_id, stored)
            yield visit

    def state(self, visit_id: str) -> VisitState | None:
        """A visit's state as held now (its events and alert memory), if the visit is known."""
        visit = self._visits.get(visit_id) or self._decode(visit_id)
        return None if visit is None else visit.state

    def on_event(
        self, position: Position, event: VisitEvent, watermark: datetime | None
    ) -> Emission:
        """Apply a schedule, call or workflow event to its visit and return what to publish.

        ``watermark`` is the event time known to have been reached (the partition's
        last tick in replay mode, the wall clock in live mode); ``None`` before any:
        then the visit is judged at its latest event and no alert fires. An act the
        workflow refuses is not kept: it comes back in ``Emission.refused``.
        """
        emission = self._resume(position)
        visit = self._load(event.visit_id, position.partition)
        # When each fact of the visit arrived decides what was known at an instant ("at
        # risk"); what other visits say counts from when it was said.
        received = None if isinstance(event, CarerWhereabouts) else watermark
        if not visit.state.apply(event, received):
            return emission  # already applied; a redelivery was republished by _resume
        at = watermark or visit.state.facts().last_event_at or event.occurred_at
        clock, inclusive = watermark is not None, False
        if isinstance(event, CarerWhereabouts) and watermark is None and visit.judged:
            # Another visit's word reaching a visit already judged, before this worker has
            # seen a tick of the partition (it has just taken it over): judged without a
            # clock, the visit would fall back to what its own events say (a missed visit
            # to "planned"); judged at its last judgement's instant, it keeps that clock.
            at, clock, inclusive = visit.judged, True, visit.inclusive
        if isinstance(event, WORKFLOW_ACTS):
            refusal = self._refusal(visit, event, at, clock)
            if refusal is not None:
                visit.state.forget(event.event_id)
                if not visit.state.events:
                    self._visits.pop(event.visit_id, None)
                emission.refused.append((event, refusal))
                return emission
        emission += self._commit(visit, position, at, inclusive=inclusive, clock=clock,
                                 changed=True)
        return emission

    def _refusal(
        self, visit: StoredVisit, act: VisitEvent, at: datetime, clock: bool
    ) -> Refused | None:
        """Why the workflow refuses an act just applied, judged as at the act (or later).

        An act happened at its ``occurred_at``: the watermark may lag behind it (replay
        mode), but what the act is about (a missed visit's exception) is judged as of then.
        """
        judged = self._judgement(visit, max(at, act.occurred_at), False, clock)
        return judged.refused.get(act.event_id)

    def on_watermark(
        self, position: Position, watermark: datetime, flush: bool = False
    ) -> Emission:
        """Judge the partition's visits whose next deadline ``watermark`` passed (replay mode).

        With ``flush`` (the end of a replayed extract) deadlines exactly at the
        watermark count too. Only visits with a deadline due are judged, flush or not:
        a settled visit keeps its outcome even if a rule or rate published for the past
        has arrived since (docs/rules.md "Recalculation"; ``judge_every_visit``).
        """
        partition = position.partition
        emission = self._resume(position)
        self.resume_watermark(partition, watermark)  # only ever moves forward
        for visit_id in self.pop_due(partition, watermark, inclusive=flush):
            emission += self.on_deadline(position, visit_id, watermark, inclusive=flush)
        return emission

    def judge_every_visit(self, position: Position, at: datetime) -> Emission:
        """Judge every visit of the partition again at ``at`` under the reference data held now.

        A recalculation's pass (``ecm recalc``, docs/rules.md "Recalculation"): a rule or
        rate published for the past reaches visits already settled. Neither the worker nor
        ``ecm replay`` calls it: there an outcome already recorded stays as it is.
        """
        emission = self._resume(position)
        for visit in list(self._partition_visits(position.partition)):
            emission += self._commit(visit, position, at, inclusive=True, clock=True,
                                     changed=False)
        return emission

    def on_gate(self, position: Position, gate: datetime) -> Emission:
        """Move a partition's rota gate; send the onward warnings that waited for it."""
        partition = position.partition
        emission = self._resume(position)
        if self._gates is None:
            return emission
        before = self._gates.get(partition)
        if before is not None and gate <= before:
            return emission
        self._gates[partition] = gate
        # Judged at the partition's watermark (the wake-up that held a warning may have
        # stored nothing); not yet heard here, at the gate, which never passes it.
        now = self._watermarks.get(partition) or gate
        if partition in self._unswept:
            self._unswept.discard(partition)
            waiting = [v.state.visit_id for v in self._partition_visits(partition)
                       if v.judged is not None and v.state.facts().next_visits]
        else:
            held = self._held.get(partition)
            waiting = list(held.pop_due(gate)) if held is not None else []
        for visit_id in waiting:
            visit = self._visits.get(visit_id) or self._decode(visit_id)
            if visit is None or visit.judged is None:
                continue
            at, inclusive = visit.judged, visit.inclusive
            if now > at:
                at, inclusive = now, False
            emission += self._commit(visit, position, at, inclusive=inclusive, clock=True,
                                     changed=False)
        return emission

    def on_deadline(
        self, position: Position, visit_id: str, now: datetime, inclusive: bool = False
    ) -> Emission:
        """Judge a visit whose deadline fell due; raise what still holds.

        A check-in that arrived first wins: the state is judged, not the command.
        """
        emission = self._resume(position)
        visit = self._visits.get(visit_id) or self._decode(visit_id)
        if visit is None:
            return emission
        emission += self._commit(visit, position, now, inclusive=inclusive, clock=True,
                                 changed=False)
        return emission

    def pop_due(self, partition: int, now: datetime, inclusive: bool = False) -> dict[str, str]:
        """Remove and return the visits of a partition with a deadline passed by ``now``.

        Returns:
            Visit id -> the kind of its deadline that fell due, in deadline order.
        """
        index = self._deadlines.get(partition)
        return index.pop_due(now, inclusive) if index is not None else {}

    def next_deadline(self, partition: int) -> datetime | None:
        """The earliest indexed deadline of a partition, if any."""
        index = self._deadlines.get(partition)
        return index.next() if index is not None else None

    def rebuild_index(self, partitions: set[int]) -> int:
        """Own exactly ``partitions``: index those newly owned from the store, forget the rest.

        Called when the worker's partitions change (after a restart or a rebalance), so
        deadlines that fell due while nobody owned a partition fire at the next sweep. A
        partition already indexed (a message of it came first) is left as it is: what is
        in memory is newer than the store (a wake-up that changed nothing is not stored,
        nor is a warning held for the rota gate).

        Returns:
            The number of deadlines indexed for ``partitions``.
        """
        self.release(set(self._deadlines) - partitions)
        return self._index_partitions(partitions)

    def release(self, partitions: set[int]) -> None:
        """Forget the index and cached visits of partitions this worker no longer owns."""
        for partition in partitions:
            self._deadlines.pop(partition, None)
            self._held.pop(partition, None)
            self._unswept.discard(partition)
            self._watermarks.pop(partition, None)
            if self._gates is not None:
                self._gates.pop(partition, None)
        self._visits = {k: v for k, v in self._visits.items() if v.partition not in partitions}
        self._positions = {k: v for k, v in self._positions.items()
                           if v.partition not in partitions}
        self._resumed = {r for r in self._resumed if r[0] not in partitions}

    def _resume(self, position: Position) -> Emission:
        """Republish what a crash may have lost, on a topic-partition's first message.

        Every visit changed at or after that message (the resume point) is republished:
        its records may have died in the producer's buffer. Each is judged again at the
        instant it was last judged, so what is republished is what was published then.
        """
        key = (position.partition, position.source)
        if key in self._resumed:
            return Emission()
        self._ensure_indexed(position.partition)
        self._resumed.add(key)
        records: list[c.ContractEvent] = []
        reports: list[CarerWhereabouts] = []
        source, offset = position.source, position.offset
        candidates = {visit_id for visit_id, known in self._positions.items()
                      if known.partition == position.partition and known.source == source
                      and known.offset >= offset}
        candidates.update(visit_id for visit_id, visit in self._visits.items()
                          if visit.partition == position.partition)
        for visit_id in sorted(candidates):
            visit = self._load(visit_id, position.partition)
            if visit.judged is not None and visit.changed_since(source, offset):
                judgement = self._judgement(visit, visit.judged, visit.inclusive, True)
                records += self._records(visit, judgement, everything=True)
                reports += judgement.reports
        return Emission(again=records, whereabouts=reports)

    def _ensure_indexed(self, partition: int) -> None:
        if partition not in self._deadlines:
            self._index_partitions({partition})

    def _index_partitions(self, partitions: set[int]) -> int:
        fresh = partitions - set(self._deadlines)
        if fresh:
            self._resumed = {r for r in self._resumed if r[0] not in fresh}
            # A partition taken (back) over: what this worker decoded of it before is
            # stale (another worker has changed it since; the store has been recovered
            # from their changelog), however it was decoded (``visits`` reads every key).
            self._visits = {k: v for k, v in self._visits.items() if v.partition not in fresh}
            for partition in fresh:
                self._deadlines[partition] = DeadlineIndex(self._on_earlier)
                self._held[partition] = DeadlineIndex()
                if self._gates is not None:
                    self._unswept.add(partition)
            for visit_id, known in self._stored_wakes():
                if known.partition in fresh:
                    self._deadlines[known.partition].set(visit_id, known.wake)
                    self._positions[visit_id] = known
        return sum(len(self._deadlines[p]) for p in partitions)

    def _index(self, visit: StoredVisit, judgement: Judgement) -> None:
        """Index a visit's next deadline, and the warning it holds for the gate if any."""
        partition, visit_id = visit.partition, visit.state.visit_id
        deadlines = self._deadlines.get(partition)
        if deadlines is None:
            deadlines = self._deadlines[partition] = DeadlineIndex(self._on_earlier)
        deadlines.set(visit_id, judgement.wake)
        held = self._held.get(partition)
        if held is None:
            held = self._held[partition] = DeadlineIndex()
        held.set(visit_id, None if judgement.held is None else (judgement.held, HELD))

    def _stored_wakes(self) -> Iterator[tuple[str, StoredWake]]:
        """Every stored visit's partition, next wake-up and last change.

        Read from the stored bytes where the format keeps them (a worker's table), so a
        worker taking partitions over decodes no visit; a visit stored without them is
        decoded and judged at its last judgement's instant.
        """
        if isinstance(self.store, EncodedVisits):
            for visit_id, raw in self.store.raw_items():
                known = stored_wake(raw)
                if known is None:
                    yield visit_id, self._index_decoded(visit_id, StoredVisit.decode(raw))
                else:
                    yield visit_id, known
            return
        for visit_id, visit in self.store.items():
            yield visit_id, self._index_decoded(visit_id, visit)

    def _index_decoded(self, visit_id: str, visit: StoredVisit) -> StoredWake:
        self._remember(visit_id, visit)
        wake = visit.wake if visit.wake_known else self._wake(visit)
        return StoredWake(visit.partition, wake, visit.source, visit.offset)

    def _load(self, visit_id: str, partition: int) -> StoredVisit:
        visit = self._visits.get(visit_id) or self._decode(visit_id)
        if visit is None:
            visit = self._remember(visit_id, StoredVisit(partition, VisitState(visit_id)))
        return visit

    def _decode(self, visit_id: str) -> StoredVisit | None:
        visit = self.store.get(visit_id)
        if visit is not None:
            self._remember(visit_id, visit)
        return visit

    def _remember(self, visit_id: str, visit: StoredVisit) -> StoredVisit:
        """Keep a decoded visit, forgetting the longest-held one beyond ``cache_size``.

        Every change is in the store before it returns (``_commit``), so a visit forgotten
        is only decoded again at its next event.
        """
        visits = self._visits
        visits[visit_id] = visit
        if len(visits) > self._cache_size:
            del visits[next(iter(visits))]
        return visit

    def _wake(self, visit: StoredVisit) -> tuple[datetime, str] | None:
        """When a visit read from the store next needs judging (as of its last judgement)."""
        at, clock = visit.judged, True
        if at is None:
            at, clock = visit.state.facts().last_event_at, False
        if at is None:
            return None
        return self._judgement(visit, at, visit.inclusive, clock).wake

    def _partition_visits(self, partition: int) -> Iterator[StoredVisit]:
        return (v for v in self.visits() if v.partition == partition)

    def _judgement(
        self, visit: StoredVisit, at: datetime, inclusive: bool, clock: bool
    ) -> Judgement:
        gate = None
        if self._gates is not None:  # none heard yet: nothing is known to have arrived
            gate = self._gates.get(visit.partition, NOTHING_HEARD)
        return judge(visit.state.facts(), visit.state.alerts, self.reference, at, inclusive,
                     fire_alerts=clock, gate=gate)

    def _commit(
        self, visit: StoredVisit, position: Position, at: datetime, *, inclusive: bool,
        clock: bool, changed: bool,
    ) -> Emission:
        """Judge the visit; store and publish what changed (nothing when nothing did).

        ``clock``: a watermark or wall clock has started (alerts may fire); ``changed``:
        the visit's events changed, so it is stored even if no record changed.
        """
        judgement = self._judgement(visit, at, inclusive, clock)
        records = self._records(visit, judgement, everything=False)
        self._index(visit, judgement)
        if not (changed or records or judgement.memory is not visit.state.alerts):
            return Emission()  # a wake-up that changed nothing
        visit.state.alerts = judgement.memory
        visit.judged, visit.inclusive = at, inclusive
        visit.source, visit.offset = position.source, position.offset
        visit.wake, visit.wake_known = judgement.wake, True
        self.store.put(visit.state.visit_id, visit)
        return Emission(records, list(judgement.fired), whereabouts=list(judgement.reported))

    def _records(
        self, visit: StoredVisit, judgement: Judgement, everything: bool
    ) -> list[c.ContractEvent]:
        """The visit's alerts, outcome and exceptions: what changed, or ``everything``.

        The alert history is settled from all facts known now, the same record ``ecm
        replay`` writes; a later fact can move a resolution, and then the changed record
        is published again under the same alert id.
        """
        published = visit.published
        records: list[c.ContractEvent] = []
        workflow = judgement.workflow
        monitored = {m.alert_id: m for m in workflow.alerts
                     if m.action == "monitor_only"} if workflow is not None else {}
        for change in judgement.record:
            alert_record_key, alert_said = alert_record_id(change), _alert_said(change)
            if everything or published.alerts.get(alert_record_key) != alert_said:
                monitor = monitored.get(change.alert_id) if change.raised else None
                if monitor is not None:  # immediately before its raise: nobody is paged
                    records.append(alert_handled_record(
                        monitor, _learned(published, record_id(monitor.record_id), judgement.at,
                                          monitor.at)))
                records.append(alert_record(change))
                published.alerts[alert_record_key] = alert_said
        outcome = judgement.outcome
        if outcome is not None:
            judged = outcome_id(outcome)
            if everything or judged != published.outcome:
                records.append(outcome_record(outcome, judged))
                published.outcome = judged
        current = {e.exception_id: e for e in judgement.exceptions}
        said = {i: _exception_said(e) for i, e in current.items()}
        for exception_id, exception in sorted(current.items()):
            if everything or published.exceptions.get(exception_id) != said[exception_id]:
                records.append(exception_record(exception))
        facts = visit.state.facts()
        settled_at = facts.last_event_at or judgement.at
        newly = {i: text for i, text in published.exceptions.items() if i not in current}
        for exception_id, text in newly.items():
            published.settled[exception_id] = (text.partition("|")[0], settled_at)
        for exception_id in current:
            published.settled.pop(exception_id, None)
        provider = _provider_of(visit.state)
        for exception_id, (kind, when) in sorted(published.settled.items()):
            if everything or exception_id in newly:  # a resolution lost in a crash, too
                records.append(exception_resolved_record(
                    exception_id, kind, visit.state.visit_id, provider, when))
                if kind not in INFORMATIONAL_KINDS:
                    learned = _learned(published, settled_record_id(exception_id),
                                       judgement.at, when)
                    records.append(exception_settled_record(
                        exception_id, kind, visit.state.visit_id, provider, when, learned))
        published.exceptions = said
        if workflow is not None:
            records += _workflow_records(published, judgement, everything)
        return records


def _workflow_records(
    published: Published, judgement: Judgement, everything: bool
) -> list[c.ContractEvent]:
    """Exception statuses and alert handling not yet published (or ``everything``)."""
    workflow = judgement.workflow
    assert workflow is not None
    records: list[c.ContractEvent] = []
    for move in workflow.moves:
        key = record_id(f"{move.act.event_id}:status")
        if everything or key not in published.workflow:
            learned = _learned(published, key, judgement.at, move.act.occurred_at)
            records.append(exception_status_record(move, learned))
    for handled in workflow.alerts:
        key = record_id(handled.record_id)
        if everything and handled.action == "monitor_only":
            continue  # sent again before its raise
        if everything or key not in published.workflow:
            learned = _learned(published, key, judgement.at, handled.at)
            records.append(alert_handled_record(handled, learned))
    return records


def _learned(published: Published, key: str, at: datetime, occurred: datetime) -> datetime:
    """When ecm first learned what a workflow record says (kept, so a resend is the same).

    The instant of judgement, or when it happened if later: a replay judges an act at
    the watermark before it (ecm cannot have learned of it before it happened).
    """
    stamp = published.workflow.setdefault(key, max(at, occurred).isoformat())
    return datetime.fromisoformat(stamp)


def _alert_said(change: AlertChange) -> str:
    """What an alert record says that can change, as a short string to compare."""
    return f"{change.at.isoformat()}|{change.resolution or ''}|{change.lot_id or ''}"


def _exception_said(exception: VisitException) -> str:
    """What an exception record says that can change: its kind first, for resolutions."""
    return f"{exception.kind.value}|{exception.at.isoformat()}|{exception.detail}"


def _provider_of(state: VisitState) -> str:
    facts = state.facts()
    if facts.plan is not None:
        return facts.plan.provider_id
    if facts.first_call is not None:
        return facts.first_call.provider_id
    return "unknown"
