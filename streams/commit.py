"""Writes held until the commit point: each key once, with its last value.

Kafka Streams keeps a record cache in front of its changelogs: a key written many times
between two commits is sent once, with its last value, just before the offsets are
committed. Faust sends a changelog record on every table write. Here:

* ``CoalescedTable`` marks a written key dirty instead of sending it;
* ``HeldRecords`` keeps the last record per identity where only the latest one matters
  (a visit's outcome revisions, a gap's judgements);
* ``CommitPoint`` (a Faust sensor) sends every dirty key's current value and every held
  record when a commit starts: ``on_commit_initiated`` runs before the offsets to commit
  are chosen (with no await in between) and before the producer flush that precedes
  the commit, so every offset committed covers only writes already sent (at-least-once).

Partitions given up in a rebalance: Faust commits what is done before it lets them go
(its ``wait_empty``), which sends their writes; anything still held after that (a commit
already under way makes Faust skip its own) is sent and flushed before the rebalance
goes on, as plain Faust would have sent it at write time. It is not dropped: Faust keeps
an in-memory table of a partition handed back to the same worker, so a write dropped from
the changelog would be missing from it for good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust


class CoalescedTable(faust.Table[Any, Any]):
    """A Faust table whose changelog gets each key once per commit, with its last value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the table as ``faust.Table`` does."""
        super().__init__(*args, **kwargs)
        self._dirty: dict[Any, int] = {}  # key -> changelog partition

    def on_key_set(self, key: Any, value: Any) -> None:
        """Mark ``key`` to be sent at the commit point (written inside stream iteration)."""
        self._dirty[key] = self._changelog_partition(key)
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        """Mark ``key`` to be sent, as a tombstone, at the commit point."""
        self._dirty[key] = self._changelog_partition(key)
        self._sensor_on_del(self, key)

    def _changelog_partition(self, key: Any) -> int:
        partition = self.partition_for_key(key)
        if partition is None:  # only with use_partitioner, which these tables do not use
            raise RuntimeError(f"table {self.name}: no changelog partition for a key")
        return int(partition)

    @property
    def dirty(self) -> int:
        """How many keys wait for the commit point."""
        return len(self._dirty)

    def send_dirty(self) -> int:
        """Send each dirty key's current value (a tombstone if deleted); return how many."""
        dirty, self._dirty = self._dirty, {}
        data = self.data
        for key, partition in dirty.items():
            value = data.get(key)
            if value is None:
                self.send_changelog(partition, key, None, value_serializer="raw")
            else:
                self.send_changelog(partition, key, value)
        return len(dirty)



class HeldRecords:
    """The last record per (topic, identity), sent at the commit point.

    For records where a later one replaces an earlier one of the same identity (a
    visit's outcome revisions, a gap's judgements: the sink keeps the latest), so
    within one commit interval only the last is worth sending. Values are encoded only
    when sent.
    """

    def __init__(self, app: faust.App, encode: Callable[[Any], bytes]) -> None:
        """Send through ``app``'s producer, encoding records with ``encode``."""
        self._app = app
        self._encode = encode
        self._topics: dict[str, Any] = {}
        self._held: dict[tuple[str, bytes], tuple[bytes, Any]] = {}

    def hold(self, topic: str, key: bytes, record: Any, replaces: bytes | None = None) -> None:
        """Keep ``record`` as the one to send with ``key``.

        ``replaces``: the identity a later record replaces (default: the key; a visit's
        two carers' gaps share the visit's key but are two gaps).
        """
        self._held[(topic, key if replaces is None else replaces)] = (key, record)

    @property
    def held(self) -> int:
        """How many records wait for the commit point."""
        return len(self._held)

    def send_held(self) -> int:
        """Hand every held record to the producer's buffer; return how many."""
        held, self._held = self._held, {}
        for (topic, _), (key, record) in held.items():
            self._topic(topic).send_soon(key=key, value=self._encode(record),
                                         key_serializer="raw", value_serializer="raw")
        return len(held)

    def _topic(self, name: str) -> Any:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = self._app.topic(name, key_type=bytes,
                                                         value_type=bytes)
        return topic


class CommitPoint(faust.Sensor):
    """Sends what the tables and holders keep back, when Faust starts a commit."""

    def __init__(self, tables: Iterable[CoalescedTable], holders: Iterable[HeldRecords]
                 ) -> None:
        """Watch ``tables`` and ``holders``."""
        super().__init__()
        self._tables = list(tables)
        self._holders = list(holders)
        self.sent = 0

    def on_commit_initiated(self, consumer: Any) -> Any:
        """Send every dirty key and held record before the offsets are chosen."""
        for table in self._tables:
            self.sent += table.send_dirty()
        for holder in self._holders:
            self.sent += holder.send_held()
        return None

    def at_rebalance(self) -> int:
        """Send everything still kept (a rebalance is under way); return how many.

        The caller flushes the producer before the rebalance goes on, so the next owner
        of a partition reads these writes when it recovers the changelog.
        """
        self.on_commit_initiated(consumer=None)
        sent, self.sent = self.sent, 0
        return sent
