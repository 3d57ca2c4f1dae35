"""Writes held until the commit point: each key once, its last value; all sent at a rebalance."""

from __future__ import annotations

from typing import Any

import faust
import pytest

from streams.commit import CoalescedTable, CommitPoint, HeldRecords


class SentChangelog:
    def __init__(self) -> None:
        self.sent: list[tuple[int, Any, Any]] = []

    def __call__(self, partition: int, key: Any, value: Any, **_: Any) -> None:
        self.sent.append((partition, key, value))


@pytest.fixture()
def table(monkeypatch: pytest.MonkeyPatch) -> tuple[CoalescedTable, SentChangelog]:
    app = faust.App("commit-point-test", store="memory://", broker="kafka://127.0.0.1:1")
    table = CoalescedTable(app, name="visits", beacon=app.tables.beacon, partitions=4,
                           key_type=bytes, value_type=bytes)
    partitions = {b"V1": 0, b"V2": 1, b"V3": 2}
    monkeypatch.setattr(table, "partition_for_key", partitions.__getitem__)
    sent = SentChangelog()
    monkeypatch.setattr(table, "send_changelog", sent)
    return table, sent


def test_a_key_written_three_times_is_sent_once_with_its_last_value(table: Any) -> None:
    visits, sent = table
    for value in (b"planned", b"checked in", b"checked out"):
        visits[b"V1"] = value
    assert sent.sent == []
    assert visits.send_dirty() == 1
    assert sent.sent == [(0, b"V1", b"checked out")]
    assert visits.send_dirty() == 0  # nothing new since


def test_a_deleted_key_is_sent_as_a_tombstone_on_its_partition(table: Any) -> None:
    visits, sent = table
    visits[b"V2"] = b"planned"
    del visits[b"V2"]
    visits.send_dirty()
    assert sent.sent == [(1, b"V2", None)]


def test_at_a_rebalance_everything_kept_is_sent_not_dropped(table: Any) -> None:
    visits, sent = table
    visits[b"V1"], visits[b"V2"], visits[b"V3"] = b"a", b"b", b"c"
    point = CommitPoint([visits], [])
    assert point.at_rebalance() == 3
    assert sorted(sent.sent) == [(0, b"V1", b"a"), (1, b"V2", b"b"), (2, b"V3", b"c")]
    assert point.at_rebalance() == 0


class FakeTopic:
    def __init__(self, name: str, log: list[tuple[str, bytes, bytes]]) -> None:
        self.name, self.log = name, log

    def send_soon(self, *, key: bytes, value: bytes, **_: Any) -> None:
        self.log.append((self.name, key, value))


class FakeApp:
    def __init__(self) -> None:
        self.log: list[tuple[str, bytes, bytes]] = []

    def topic(self, name: str, **_: Any) -> FakeTopic:
        return FakeTopic(name, self.log)


def test_only_the_last_outcome_revision_of_a_visit_is_sent_and_encoded() -> None:
    app, encoded = FakeApp(), []

    def encode(record: str) -> bytes:
        encoded.append(record)
        return record.encode()

    outcomes = HeldRecords(app, encode)  # type: ignore[arg-type]
    outcomes.hold("outcomes", b"V1", "V1 rev 1")
    outcomes.hold("outcomes", b"V2", "V2 rev 1")
    outcomes.hold("outcomes", b"V1", "V1 rev 2")
    assert outcomes.held == 2
    CommitPoint([], [outcomes]).on_commit_initiated(consumer=None)
    assert app.log == [("outcomes", b"V1", b"V1 rev 2"), ("outcomes", b"V2", b"V2 rev 1")]
    assert encoded == ["V1 rev 2", "V2 rev 1"]
    assert outcomes.held == 0


def test_records_of_one_key_with_different_identities_are_each_sent() -> None:
    """A double-handed visit's two gaps share the visit's key: both are sent, each last."""
    app = FakeApp()
    held = HeldRecords(app, str.encode)  # type: ignore[arg-type]
    held.hold("exceptions", b"V1", "gap W1 first", replaces=b"gap:V1:W1")
    held.hold("exceptions", b"V1", "gap W2", replaces=b"gap:V1:W2")
    held.hold("exceptions", b"V1", "gap W1 last", replaces=b"gap:V1:W1")
    CommitPoint([], [held]).on_commit_initiated(consumer=None)
    assert sorted(app.log) == [("exceptions", b"V1", b"gap W1 last"),
                               ("exceptions", b"V1", b"gap W2")]


def test_outcomes_held_at_a_rebalance_are_sent() -> None:
    app = FakeApp()
    outcomes = HeldRecords(app, str.encode)  # type: ignore[arg-type]
    outcomes.hold("outcomes", b"V1", "kept")
    outcomes.hold("outcomes", b"V9", "also kept")
    assert CommitPoint([], [outcomes]).at_rebalance() == 2
    assert app.log == [("outcomes", b"V1", b"kept"), ("outcomes", b"V9", b"also kept")]
