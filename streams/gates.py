"""The rota gate's bookkeeping in a worker (``ecm.visits.gate``): ticks passed on and heard.

What each partition has heard is kept in a table, so a worker that restarts or takes a
partition over hears on from where the last owner was instead of waiting for a tick
from every partition again (which, at the end of an extract, would never come).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ecm.visits.gate import PASS_ON_EVERY_S, LowWatermark
from ecm.visits.ledger import Store

VISITS = "visits"
"""What a carer partition has heard from the visit partitions."""
ROTAS = "rotas"
"""What a visit partition has heard from the carer partitions: its gate."""
TICK = "tick"
"""The last watermark tick a visit partition has had."""


class Gates:
    """Each partition's low watermark of what it heard, and when a tick is worth passing on."""

    def __init__(self, store: Store[bytes], partitions: int) -> None:
        self._store = store
        self._partitions = partitions
        self._lows: dict[tuple[str, int], LowWatermark] = {}
        self._passed: dict[int, datetime] = {}
        self._ticks: dict[int, datetime] = {}

    @property
    def partitions(self) -> int:
        """How many partitions each side has (the topics are co-partitioned)."""
        return self._partitions

    def pass_on(self, partition: int, instant: datetime, flush: bool) -> bool:
        """Whether a visit partition's tick should go to the carer partitions.

        The flush at the end always does; a tick, once every ``PASS_ON_EVERY_S`` of event
        time.
        """
        last = self._passed.get(partition)
        if not flush and last is not None and instant - last < timedelta(seconds=PASS_ON_EVERY_S):
            return False
        self._passed[partition] = instant
        return True

    def hear(self, side: str, partition: int, source: int, instant: datetime) -> datetime | None:
        """Note that ``partition`` heard ``source`` reach ``instant``; the new low if it moved."""
        key = (side, partition)
        low = self._lows.get(key)
        if low is None:
            raw = self._store.get(f"{side}/{partition}")
            low = LowWatermark(self._partitions) if raw is None else LowWatermark.decode(
                self._partitions, raw)
            self._lows[key] = low
        moved = low.hear(source, instant)
        self._store.put(f"{side}/{partition}", low.encode())
        return moved

    def low(self, side: str, partition: int) -> datetime | None:
        """What ``partition`` has heard every source reach (``None``: not all heard yet)."""
        low = self._lows.get((side, partition))
        if low is None:
            raw = self._store.get(f"{side}/{partition}")
            return None if raw is None else LowWatermark.decode(self._partitions, raw).low
        return low.low

    def tick(self, partition: int, instant: datetime) -> None:
        """Note a visit partition's watermark tick (the flush's included); only ever later."""
        last = self.last_tick(partition)
        if last is None or instant > last:
            self._ticks[partition] = instant
            self._store.put(f"{TICK}/{partition}", instant.isoformat().encode())

    def last_tick(self, partition: int) -> datetime | None:
        """The last tick a visit partition had, whichever worker owned it then.

        A worker taking a partition over has no watermark for it until the next tick,
        and at the end of an extract none comes: the facts from the carer side that
        still arrive are judged at this instant instead (``ecm.visits.ledger``).
        """
        instant = self._ticks.get(partition)
        if instant is None:
            raw = self._store.get(f"{TICK}/{partition}")
            if raw is None:
                return None
            instant = self._ticks[partition] = datetime.fromisoformat(raw.decode())
        return instant

    def release(self) -> None:
        """Forget what is held in memory (partitions moved): read from the table again."""
        self._lows.clear()
        self._passed.clear()
        self._ticks.clear()
