"""The deadline timer: a missed visit is the absence of an event, so a clock must notice.

Each worker's timer sleeps until the earliest deadline of the partitions it owns (woken
early when an earlier one is indexed, and at least every second to notice partitions
moving), then looks only at those partitions (and does nothing while a rebalance or
table recovery is under way). When its partitions change it rebuilds the
deadline index from the visits table, so deadlines that fell due while nobody owned a
partition fire at once. In live mode it sends a deadline-due command, keyed by visit, to
the co-partitioned command topic: tables can only be written inside stream iteration,
so the agent that owns the visit re-checks its state there (a check-in that arrived
first wins) before raising "not arrived", "missed" or "no check-out".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from ecm import metrics, topics
from ecm.kafka.records import deadline_due
from ecm.visits.carers import CarerLedger
from ecm.visits.ledger import VisitLedger
from streams.agents import Publisher
from streams.app import Topology

log = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 1.0
"""The longest the timer sleeps: partitions moving are noticed within this."""
SLACK_SECONDS = 0.001
"""Woken this long after a deadline, so the deadline has passed (strictly) by then."""


class DeadlineAlarm:
    """Wakes the sleeping timer when a deadline earlier than the one it sleeps for appears."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        """Wake the timer now (called by the ledger, on the event loop's thread)."""
        self._rung.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if rung meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rung.wait(), timeout=max(0.0, seconds))
        self._rung.clear()


def owned_partitions(topology: Topology) -> set[int] | None:
    """The visit-events partitions this worker owns now; ``None`` while they are moving."""
    app = topology.app
    if app.rebalancing or getattr(app, "in_recovery", False):
        return None
    name = topology.topic_name(topics.VISIT_EVENTS)
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == name}


def install_timer(
    topology: Topology, ledger: VisitLedger, carers: CarerLedger, alarm: DeadlineAlarm
) -> None:
    """Declare the timer on the app, and forget ledger state of partitions given up."""
    publisher = Publisher(topology)
    known: dict[str, set[int]] = {"owned": set()}

    async def on_revoked(app: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked = args[0] if args else kwargs.get("revoked", ())
        name = topology.topic_name(topics.VISIT_EVENTS)
        ledger.release({tp.partition for tp in revoked if tp.topic == name})
        carers.release()  # its timelines are read from the table again at the next call
        known["owned"] = set()

    topology.app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]  # stub too narrow

    async def sweep() -> float:
        """Send what fell due; return how long to sleep until the next deadline."""
        owned = owned_partitions(topology)
        if owned is None:
            return MAX_SLEEP_SECONDS / 5
        started = time.perf_counter()
        if owned != known["owned"]:
            count = ledger.rebuild_index(owned)
            known["owned"] = owned
            log.info("owning partitions %s: %d deadlines indexed", sorted(owned), count)
        if topology.clock != "live":
            return MAX_SLEEP_SECONDS  # replayed deadlines fire on watermark ticks
        due: Counter[str] = Counter()
        now = datetime.now(UTC)
        value, headers = deadline_due(now)
        for partition in sorted(owned):
            for visit_id, kind in ledger.pop_due(partition, now).items():
                await publisher.send(topics.DEADLINE_COMMANDS, visit_id.encode(), value,
                                     headers, partition)
                due[kind] += 1
        metrics.deadline_sweep_done(time.perf_counter() - started, due)
        upcoming = [d for d in map(ledger.next_deadline, owned) if d is not None]
        if not upcoming:
            return MAX_SLEEP_SECONDS
        wait = (min(upcoming) - datetime.now(UTC)).total_seconds() + SLACK_SECONDS
        return min(MAX_SLEEP_SECONDS, wait)

    @topology.app.task  # type: ignore[untyped-decorator]
    async def deadline_timer() -> None:
        while True:
            await alarm.sleep(await sweep())

    del deadline_timer, on_revoked
