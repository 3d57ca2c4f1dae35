"""Who owns each visit and which providers employ each carer, answered from memory.

A provider key may send events only about its own visits and carers. Each API process
keeps a directory in memory, filled from the topics every submission goes through:

* the visit-events topic, read from its start (its whole retention): a visit belongs to
  the provider of the first event about it in the topic, the order the workers see too;
* the reference topic, read from its start (kept forever): a carer is employed by every
  provider a ``carer_registered`` names;
* the database at start-up (``carers``) and on a miss (``visit_outcomes``), for what the
  topics no longer hold.

Only ids and provider ids are kept (a visit's first record is decoded, later ones are
skipped by key; no coordinates are held), about 150 bytes per visit in the topic.

A known owner never changes, so a hit is answered at once. A visit or carer not in the
directory may be one another process (or ``ecm publish``) had acknowledged a moment ago:
before calling it unknown, the check waits until this process has read each topic up to
its end as of that moment (one round for every check waiting), then asks the database.
Anything acknowledged before the check began is therefore seen; if the topics cannot be
read in time the request is refused with 503, never let through unchecked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, LiteralString, Protocol

from ecm.contracts import (
    CallTimeCorrected,
    CarerCheckedIn,
    CarerCheckedOut,
    ContractEvent,
    VisitChangedV2,
    VisitPlannedV2,
)
from ecm.kafka.connection import aiokafka_options
from ecm.settings import KafkaSettings
from ecm.topics import REFERENCE, VISIT_EVENTS

log = logging.getLogger("ecm.api.ownership")


class OwnershipUnavailable(RuntimeError):
    """The topics could not be read up to date in time: nothing may be accepted."""


@dataclass(frozen=True)
class Owners:
    """Which provider each known visit belongs to, and which providers employ each carer."""

    visits: dict[str, str]
    carers: dict[str, frozenset[str]]


@dataclass
class OwnershipDirectory:
    """The owners known to this process; pure and synchronous."""

    visits: dict[str, str] = field(default_factory=dict)
    carers: dict[str, frozenset[str]] = field(default_factory=dict)

    def learn_visit(self, visit_id: str, provider_id: str) -> None:
        """Record a visit's owner; the first owner learned stays (owners never change)."""
        self.visits.setdefault(visit_id, provider_id)

    def learn_carer(self, carer_id: str, provider_id: str) -> None:
        """Add an employer of a carer."""
        self.carers[carer_id] = self.carers.get(carer_id, frozenset()) | {provider_id}

    def unknown(self, visit_ids: Iterable[str], carer_ids: Iterable[str]) -> tuple[set[str],
                                                                                   set[str]]:
        """The visits and carers of these that have no known owner."""
        return ({v for v in visit_ids if v not in self.visits},
                {c for c in carer_ids if c not in self.carers})

    def owners(self, visit_ids: Iterable[str], carer_ids: Iterable[str]) -> Owners:
        """The known owners of these visits and carers (unknown ones are left out)."""
        visits, carers = self.visits, self.carers
        return Owners({v: visits[v] for v in visit_ids if v in visits},
                      {c: carers[c] for c in carer_ids if c in carers})


class OwnerStore(Protocol):
    """The database's view of owners (what the workers have written)."""

    async def visit_owners(self, visit_ids: Sequence[str]) -> dict[str, str]:
        """The owner of each of these visits the database knows."""

    async def carer_employers(self) -> dict[str, set[str]]:
        """Every registered carer with the providers employing them."""


class OwnershipFeed(Protocol):
    """The topics, read into a directory as they grow."""

    async def start(self, directory: OwnershipDirectory) -> None:
        """Begin reading both topics from their start into ``directory``."""

    async def stop(self) -> None:
        """Stop reading."""

    async def caught_up(self) -> None:
        """Return once everything acknowledged before the call has been read.

        Raises:
            OwnershipUnavailable: not within the feed's time limit.

        """

    def ready(self) -> bool:
        """Whether the topics have been read to their end at least once."""


VISIT_OF_ANOTHER = "visit belongs to another provider"
CARER_OF_ANOTHER = "carer is registered to another provider"


def named_carers(event: ContractEvent) -> list[tuple[str, str]]:
    """The carers an event names, each with the field naming it.

    A call (or a correction of one) names its ``carer_id``; a version 2 schedule event
    names each planned carer (``planned_carer_ids[0]``, ``planned_carer_ids[1]``...).
    """
    name = _carer_field(type(event))
    if name is None:
        return []
    named = getattr(event, name)
    if isinstance(named, str):
        return [(name, named)]
    return [(f"{name}[{n}]", carer) for n, carer in enumerate(named or ())]


@cache
def _carer_field(event_type: type[ContractEvent]) -> str | None:
    """The field of an event type naming carers, if any (once per class, as ``route``)."""
    if issubclass(event_type, CarerCheckedIn | CarerCheckedOut | CallTimeCorrected):
        return "carer_id"
    if issubclass(event_type, VisitPlannedV2 | VisitChangedV2):
        return "planned_carer_ids"
    return None


def owned_ids(events: Sequence[ContractEvent]) -> tuple[list[str], list[str]]:
    """The visit ids and carer ids these events are about."""
    visits = [v for e in events if isinstance(v := getattr(e, "visit_id", None), str)]
    carers = [carer for e in events for _, carer in named_carers(e)]
    return visits, carers


def foreign(event: ContractEvent, owners: Owners, provider_id: str) -> list[tuple[str, str]]:
    """Each field of ``event`` naming another provider's visit or carer, with the reason.

    A visit is another's when its known owner is not ``provider_id``; a carer when it is
    known and ``provider_id`` is not among its employers. Unknown ids are not refused.
    """
    found = []
    visit_id = getattr(event, "visit_id", None)
    if isinstance(visit_id, str) and owners.visits.get(visit_id, provider_id) != provider_id:
        found.append(("visit_id", VISIT_OF_ANOTHER))
    found += [(name, CARER_OF_ANOTHER) for name, carer in named_carers(event)
              if provider_id not in owners.carers.get(carer, frozenset({provider_id}))]
    return found


class Ownership:
    """Owners from memory; topics then the database for what memory does not know."""

    def __init__(self, store: OwnerStore | None, feed: OwnershipFeed | None) -> None:
        self.directory = OwnershipDirectory()
        self._store = store
        self._feed = feed

    async def start(self, ready_within: float = 30.0) -> None:
        """Load the database's carers, start reading the topics, wait until read (bounded).

        Waiting means a new process serves with its owners known; with the broker down it
        starts anyway, and requests about unknown visits or carers get 503 meanwhile.
        """
        if self._store is not None:
            try:
                for carer_id, employers in (await self._store.carer_employers()).items():
                    for provider_id in employers:
                        self.directory.learn_carer(carer_id, provider_id)
            except Exception as exc:  # the topics still tell every registration
                log.warning("carers not loaded from the database: %s", exc)
        if self._feed is not None:
            await self._feed.start(self.directory)
            deadline = asyncio.get_running_loop().time() + ready_within
            while not self._feed.ready() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            if not self._feed.ready():  # the broker may be down: unknown ids get 503s
                log.warning("owners not read from the topics within %.0f s", ready_within)

    async def stop(self) -> None:
        """Stop reading the topics."""
        if self._feed is not None:
            await self._feed.stop()

    def ready(self) -> bool:
        """Whether owners can be told (the topics have been read to their end)."""
        return self._feed is None or self._feed.ready()

    async def owners(self, visit_ids: Sequence[str], carer_ids: Sequence[str]) -> Owners:
        """The owners of these visits and carers, as of the moment of the call.

        Raises:
            OwnershipUnavailable: an unknown id could not be checked against the topics.

        """
        visits, carers = self.directory.unknown(visit_ids, carer_ids)
        if (visits or carers) and self._feed is not None:
            await self._feed.caught_up()
            visits, carers = self.directory.unknown(visit_ids, carer_ids)
        if visits and self._store is not None:
            for visit_id, provider_id in (await self._store.visit_owners(sorted(visits))).items():
                self.directory.learn_visit(visit_id, provider_id)
        return self.directory.owners(visit_ids, carer_ids)


class PgOwnerStore:
    """Owners as the database sink wrote them (``visit_outcomes``, ``carers``)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def _rows(self, sql: LiteralString, params: dict[str, Any]) -> list[tuple[str, str]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(sql, params)
                return [(str(a), str(b)) for a, b in await cur.fetchall()]
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
            return []  # not migrated yet: nothing is known there
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise OwnershipUnavailable("the database is unreachable") from exc

    async def visit_owners(self, visit_ids: Sequence[str]) -> dict[str, str]:
        """The owner of each of these visits with an outcome stored."""
        rows = await self._rows(
            "SELECT visit_id, provider_id FROM visit_outcomes WHERE visit_id = ANY(%(ids)s)",
            {"ids": list(visit_ids)})
        return dict(rows)

    async def carer_employers(self) -> dict[str, set[str]]:
        """Every carer row: carer id to the providers employing them."""
        employers: dict[str, set[str]] = {}
        for carer_id, provider_id in await self._rows(
                "SELECT carer_id, provider_id FROM carers", {}):
            employers.setdefault(carer_id, set()).add(provider_id)
        return employers


def learn_record(directory: OwnershipDirectory, topic_kind: str, key: bytes | None,
                  value: bytes | None) -> None:
    """Learn from one record of a topic: a visit's first event, or a carer's registration.

    Args:
        directory: where to record what is learned.
        topic_kind: the logical topic (``visit-events`` or ``reference``).
        key: the record's key (the visit id, or e.g. ``carer:K1``).
        value: the event's JSON; a value that is not a JSON object teaches nothing.

    """
    if key is None or value is None:
        return
    if topic_kind == VISIT_EVENTS:
        if key.decode(errors="replace") in directory.visits:
            return  # the owner is known: no need to decode the rest
        event = _decoded(value)
        if isinstance(event.get("provider_id"), str) and isinstance(event.get("visit_id"), str):
            directory.learn_visit(event["visit_id"], event["provider_id"])
    elif key.startswith(b"carer:"):
        event = _decoded(value)
        if isinstance(event.get("provider_id"), str) and isinstance(event.get("carer_id"), str):
            directory.learn_carer(event["carer_id"], event["provider_id"])


def _decoded(value: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(value)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


class KafkaOwnershipFeed:
    """Reads visit-events and reference from their start with a group-less consumer."""

    def __init__(self, kafka: KafkaSettings, timeout_seconds: float = 5.0) -> None:
        self._kafka = kafka
        self._timeout = timeout_seconds
        self._kinds = {kafka.topic(VISIT_EVENTS): VISIT_EVENTS, kafka.topic(REFERENCE): REFERENCE}
        self._consumer: Any = None
        self._task: asyncio.Task[None] | None = None
        self._read: dict[Any, int] = {}  # partition -> offset after the last record read
        self._progress = asyncio.Event()
        self._round: asyncio.Future[None] | None = None
        self._ready = False
        self._connected = asyncio.Event()

    async def start(self, directory: OwnershipDirectory) -> None:
        """Read in the background (connecting, and creating missing topics, first)."""
        self._task = asyncio.get_running_loop().create_task(self._connect_and_read(directory))

    async def _connect_and_read(self, directory: OwnershipDirectory) -> None:
        from aiokafka import AIOKafkaConsumer

        from ecm.kafka.admin import ensure_topics

        while self._consumer is None:
            try:  # the consumer must see the topics before the first event creates them
                await asyncio.to_thread(ensure_topics, self._kafka, 10.0)
            except Exception as exc:
                log.warning("topics not checked (%s); reading them once they exist", exc)
            consumer = AIOKafkaConsumer(
                group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                metadata_max_age_ms=5000, client_id="ecm-api-ownership",
                # a fetch answered per ~100 records or 50 ms, not per record: a tenth of
                # the CPU at 400 events/s; an unknown id waits at most ~50 ms more
                fetch_min_bytes=32_768, fetch_max_wait_ms=50,
                **aiokafka_options(self._kafka))
            try:
                await consumer.start()
            except Exception as exc:  # the broker may be down at start-up: keep trying
                log.warning("ownership feed cannot connect (%s); retrying", exc)
                await consumer.stop()
                await asyncio.sleep(2)
                continue
            consumer.subscribe(list(self._kinds))
            self._consumer = consumer
            self._connected.set()
        await self._run(directory)

    async def stop(self) -> None:
        """Stop the reading task and the consumer."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    def ready(self) -> bool:
        """Whether both topics have been read to their end at least once."""
        return self._ready

    async def _run(self, directory: OwnershipDirectory) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
            except Exception as exc:  # the broker may be away: keep trying
                log.warning("ownership feed: %s", exc)
                await asyncio.sleep(1)
                continue
            for tp, records in batches.items():
                kind = self._kinds[tp.topic]
                for record in records:
                    learn_record(directory, kind, record.key, record.value)
                self._read[tp] = records[-1].offset + 1
            self._progress.set()  # wakes the checks waiting for this much
            self._progress = asyncio.Event()
            if not self._ready:
                self._ready = await self._first_read_done()

    async def _first_read_done(self) -> bool:
        if not self._assigned():
            return False
        try:
            return await self._at_end(await self._consumer.end_offsets(
                list(self._consumer.assignment())))
        except Exception as exc:  # not there yet: ask again after the next read
            log.info("ownership feed not at the end yet: %s", exc)
            return False

    def _assigned(self) -> bool:
        """Whether the consumer has the partitions of both topics (metadata arrived)."""
        return {tp.topic for tp in self._consumer.assignment()} == set(self._kinds)

    async def _end_offsets(self) -> dict[Any, int]:
        """Each partition's end offset now; waits for the partitions and retries errors."""
        while True:
            progress = self._progress
            if self._assigned():
                try:
                    offsets: dict[Any, int] = await self._consumer.end_offsets(
                        list(self._consumer.assignment()))
                    return offsets
                except Exception as exc:  # e.g. a new topic's leader not elected yet
                    log.info("end offsets not known yet: %s", exc)
            await progress.wait()

    async def _at_end(self, end: dict[Any, int]) -> bool:
        for tp, offset in end.items():
            if self._read.get(tp, 0) < offset and await self._consumer.position(tp) < offset:
                return False  # (position also passes transaction markers, never read)
        return True

    async def caught_up(self) -> None:
        """Wait until every record acknowledged before this call has been read.

        Checks waiting at the same moment share one round (one end-offsets request).
        """
        try:
            async with asyncio.timeout(self._timeout):
                await self._connected.wait()
                if self._round is None:
                    self._round = asyncio.get_running_loop().create_future()
                    asyncio.get_running_loop().create_task(self._catch_up(self._round))
                await asyncio.shield(self._round)
        except TimeoutError:
            raise OwnershipUnavailable("the topics could not be read in time") from None

    async def _catch_up(self, done: asyncio.Future[None]) -> None:
        await asyncio.sleep(0)  # checks arriving meanwhile join this round
        self._round = None  # later ones start the next (their events may be newer)
        try:
            async with asyncio.timeout(self._timeout):
                end = await self._end_offsets()
                while True:
                    progress = self._progress  # set by the next read after this point
                    if await self._at_end(end):
                        break
                    await progress.wait()
        except Exception as exc:
            if not done.done():
                done.set_exception(OwnershipUnavailable(f"the topics could not be read: {exc}"))
            done.exception()  # retrieved here, so an abandoned round logs nothing
            return
        done.set_result(None)
