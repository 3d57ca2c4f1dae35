"""A partition no one has committed yet is read from its start after every seek back.

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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Consumer


class FromStartConsumer(Consumer):
    """Faust's aiokafka consumer, reading never-committed input partitions from the start."""

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek to the committed offsets, and to the start where none is committed."""
        committed = await super().seek_to_committed()
        unread = never_committed(committed, self.app.topics.acks_enabled_for)
        if unread:
            await self._thread.seek_to_beginning(*unread)
        return committed


def never_committed(committed: Mapping[Any, int | None], is_input: Any) -> list[Any]:
    """The input partitions among ``committed`` that have no offset above 0 committed."""
    return sorted((tp for tp, offset in committed.items()
                   if not offset and is_input(tp.topic)), key=str)


def read_uncommitted_from_start(app: faust.App) -> None:
    """Make the app's consumer a ``FromStartConsumer`` (before it is created)."""
    app.transport.Consumer = FromStartConsumer  # type: ignore[misc]
