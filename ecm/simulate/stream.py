"""The run as one stream of lines in arrival order, generated day by day.

Reference data comes first; each day's rota is published the day before; call events
arrive at ``occurred_at`` plus a delivery delay, so arrival order is not exactly time
order. Events wait in a heap only until no later day can produce an earlier arrival
(a day's events never arrive before 17:00 the day before), so memory stays bounded
by about two days of events whatever the number of weeks.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from ecm.contracts import ContractEvent, dump_event
from ecm.simulate.clock import local_ts, to_local
from ecm.simulate.config import SimulationConfig
from ecm.simulate.day import PUBLISH_MINUTE, World, plan_day
from ecm.simulate.events import day_events
from ecm.simulate.malformed import malformed_copy
from ecm.simulate.population import build_population
from ecm.simulate.reference import reference_events
from ecm.simulate.rota import build_rota
from ecm.simulate.summary import Summary
from ecm.simulate.truth import Truth
from ecm.topics import VISIT_EVENTS, route

DUPLICATE_RATE = 0.003
"""Share of visit events the provider sends twice (same ``event_id``, same bytes)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line of output: payload bytes, where it goes, and when it arrives."""

    arrival: float
    payload: bytes
    topic: str
    key: str
    event_type: str
    """The event type, or ``malformed``."""
    duplicate: bool = False


class _Heap:
    """Lines waiting for their turn, ordered by arrival then generation order."""

    def __init__(self) -> None:
        self._items: list[tuple[float, int, Line]] = []
        self._seq = 0

    def push(self, line: Line) -> None:
        heapq.heappush(self._items, (line.arrival, self._seq, line))
        self._seq += 1

    def pop_before(self, horizon: float) -> Iterator[Line]:
        while self._items and self._items[0][0] < horizon:
            yield heapq.heappop(self._items)[2]


def _line(arrival: float, event: ContractEvent) -> Line:
    where = route(event)
    event_type = str(getattr(event, "event_type", type(event).__name__))
    return Line(arrival, dump_event(event), where.topic, where.key, event_type)


def _push_visit_event(
    heap: _Heap, arrival: float, event: ContractEvent, config: SimulationConfig, rng: random.Random
) -> None:
    """Push a visit event, maybe a duplicate of it and maybe a malformed line."""
    line = _line(arrival, event)
    heap.push(line)
    if rng.random() < DUPLICATE_RATE:
        later = arrival + rng.randint(60, 1800)
        heap.push(Line(later, line.payload, line.topic, line.key, line.event_type, True))
    if rng.random() < config.malformed_rate:
        bad = malformed_copy(line.payload, rng)
        heap.push(Line(arrival + 1, bad, VISIT_EVENTS, line.key, "malformed"))


def simulate(
    config: SimulationConfig, summary: Summary | None = None,
    truth: Callable[[list[Truth]], None] | None = None,
) -> Iterator[Line]:
    """Yield every line of the run in arrival order; same config, same lines.

    Args:
        config: The run.
        summary: Filled in as lines are yielded (counts, planned visits, hours).
        truth: Called with each day's ground truth (``ecm.simulate.truth``) as the day
            is generated; it never goes on the wire.

    """
    summary = summary if summary is not None else Summary()
    population = build_population(config)
    rota = build_rota(population, config.seed)
    world = World.build(config, population, rota)
    summary.note_population(world)
    published = to_local(local_ts(config.start - timedelta(days=1), 12 * 60))
    for event in reference_events(population, rota, config.rng("rates"), published, config.start):
        yield summary.count(_line(published.timestamp(), event))
    heap = _Heap()
    for day in config.days:
        _push_day(world, day, heap, truth)
        for line in heap.pop_before(local_ts(day, PUBLISH_MINUTE)):
            yield summary.count(line)
        summary.day_done(day)
    for line in heap.pop_before(float("inf")):
        yield summary.count(line)


def _push_day(
    world: World, day: date, heap: _Heap, truth: Callable[[list[Truth]], None] | None
) -> None:
    """Generate a day and push its lines, with duplicates and malformed ones."""
    rng = world.config.rng("delivery", day.isoformat())
    plan = plan_day(world, day)
    if truth is not None:
        truth(plan.truth)
    for arrival, event in day_events(plan):
        if hasattr(event, "visit_id"):
            _push_visit_event(heap, arrival, event, world.config, rng)
        else:
            heap.push(_line(arrival, event))
