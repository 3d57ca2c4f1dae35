"""Where a worker reads its input from, and what it may commit, across rebalances.

A partition no one has committed yet is read from its start after every seek back.

Faust seeks its input partitions "back to the committed offsets" after every rebalance
(and whenever it fetched while its flow was stopped), because the records it had
fetched but not handed to the agents are dropped: a partition taken over mid-fetch,
records of a partition not yet active, a batch cut short by a new generation. aiokafka's
``seek_to_committed`` only seeks partitions whose committed offset is above 0; one
never committed (a worker that owned it for a second and stopped before its first
commit) keeps the position the dropped fetch left it at, and every record before that
is skipped for good: a carer's rota words, an overlap's doubts, a late carer's report
(seen in the takeover tests: a second worker stopped 1-2 s after it joined, the next
owner began such partitions at their end).

This consumer seeks such partitions to their beginning instead, which is what
``consumer_auto_offset_reset="earliest"`` promises for a partition with no committed
offset. Only the agents' input topics are concerned (tables' changelogs are Faust's
recovery's business).

A partition a worker keeps through a rebalance commits again. Faust finds the offset to
commit as the first run of consecutive offsets among those acknowledged (its
``_new_offset``), after adding the offsets it saw skipped (its gaps). Across a seek
back, that list can hold an offset twice, and offsets below the new committed one
(robinhood/faust#559 traces one way: records fetched before the seek, handed over
after it, make Faust count a skip over offsets that are then delivered and acknowledged
again). A duplicate ends the run at itself, and each commit then moves by a handful
of offsets: in the takeover test (one of two workers stops), the remaining worker sat
idle with 1,362 records of ``visit-events[0]`` uncommitted, committing two every five
seconds, with 1,431 acknowledged entries listed for 1,369 offsets (faust-streaming
0.15.3; reported upstream as robinhood/faust#625 and faust-streaming/faust#318). This
consumer keeps each offset once, and none below the committed one, before Faust looks
for the run (``settled_acks``): the offsets committed are the same ones, only no
longer stuck.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Consumer
from intervaltree import IntervalTree


class FromStartConsumer(Consumer):
    """Faust's aiokafka consumer, from the start where nothing is committed, each ack once.

    Never-committed input partitions are read from their start, and acknowledged offsets
    are kept once each (the module's docstring).
    """

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek to the committed offsets, and to the start where none is committed."""
        committed = await super().seek_to_committed()
        unread = never_committed(committed, self.app.topics.acks_enabled_for)
        if unread:
            await self._thread.seek_to_beginning(*unread)
        return committed

    def _new_offset(self, tp: Any) -> int | None:
        """Faust's offset to commit for ``tp``, from each acknowledged offset once."""
        acked = self._acked[tp]
        if acked:
            settled = settled_acks(acked, self._gap[tp], self._committed_offset[tp])
            acked[:] = settled
            self._acked_index[tp] = set(settled)
        return super()._new_offset(tp)


def settled_acks(acked: list[int], gaps: IntervalTree, committed: int | None) -> list[int]:
    """The acknowledged offsets with the skipped ones up to the highest, each once, sorted.

    ``gaps``: the offsets Faust saw skipped, as intervals; those up to the highest
    acknowledged offset are taken out of it and counted as acknowledged, as Faust does.
    Offsets below ``committed`` (the next offset to read) are dropped: already committed.
    """
    offsets = set(acked)
    top = max(offsets)
    if gaps:
        for interval in gaps.overlap(0, top):
            offsets.update(range(interval.begin, interval.end))
        gaps.chop(0, max(offsets) + 1)
    if committed:
        offsets = {offset for offset in offsets if offset >= committed}
    return sorted(offsets)


def never_committed(committed: Mapping[Any, int | None], is_input: Any) -> list[Any]:
    """The input partitions among ``committed`` that have no offset above 0 committed."""
    return sorted((tp for tp, offset in committed.items()
                   if not offset and is_input(tp.topic)), key=str)


def read_uncommitted_from_start(app: faust.App) -> None:
    """Make the app's consumer a ``FromStartConsumer`` (before it is created)."""
    app.transport.Consumer = FromStartConsumer  # type: ignore[misc]
