"""The deadline index: when each visit next needs judging, for one partition.

Each visit has at most one entry: the ``wake`` of its last judgement (the earliest
instant at which time alone could change it). Setting a visit's wake replaces its
entry, so a visit whose deadline moved or vanished is never woken for the old one; the
heap's superseded entries are skipped when they surface and compacted when they
outnumber the live ones.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime

from ecm.domain.deadlines import passed


class DeadlineIndex:
    """Visit id -> (instant, kind) of its next wake-up, ordered by instant."""

    __slots__ = ("_heap", "_on_earlier", "_wakes")

    def __init__(self, on_earlier: Callable[[], None] | None = None) -> None:
        self._wakes: dict[str, tuple[datetime, str]] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._on_earlier = on_earlier

    def __len__(self) -> int:
        return len(self._wakes)

    def set(self, visit_id: str, wake: tuple[datetime, str] | None) -> None:
        """Make ``wake`` the visit's only entry (``None`` removes it)."""
        if self._wakes.get(visit_id) == wake:
            return
        if wake is None:
            del self._wakes[visit_id]
        else:
            self._wakes[visit_id] = wake
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (wake[0], visit_id, wake[1]))
            if self._on_earlier is not None and (earliest is None or wake[0] < earliest):
                self._on_earlier()  # a timer sleeping until the old earliest must wake
        if len(self._heap) > 2 * len(self._wakes) + 64:
            self._heap = [(at, v, k) for v, (at, k) in self._wakes.items()]
            heapq.heapify(self._heap)

    def pop_due(self, now: datetime, inclusive: bool = False) -> dict[str, str]:
        """Remove and return the visits whose wake-up ``now`` has passed, in time order.

        Returns:
            Visit id -> the kind of deadline that fell due.
        """
        heap, due = self._heap, {}
        while heap and passed(heap[0][0], now, inclusive):
            at, visit_id, kind = heapq.heappop(heap)
            if self._wakes.get(visit_id) == (at, kind):
                del self._wakes[visit_id]
                due[visit_id] = kind
        return due

    def next(self) -> datetime | None:
        """The earliest wake-up indexed, if any."""
        heap = self._heap
        while heap and self._wakes.get(heap[0][1]) != (heap[0][0], heap[0][2]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None
