"""Where a worker reads from and what it commits after a seek back (streams/positions.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

from faust.transport.drivers.aiokafka import Consumer
from intervaltree import IntervalTree

from streams.positions import FromStartConsumer, never_committed, settled_acks


class TP(NamedTuple):
    topic: str
    partition: int


INPUTS = {"ecm.visit-events", "ecm.deadline-commands", "ecm.carer-calls"}


def test_an_input_partition_never_committed_or_at_zero_is_read_from_its_start() -> None:
    committed = {
        TP("ecm.visit-events", 0): 120,  # committed: aiokafka seeks it there
        TP("ecm.visit-events", 1): None,  # its owner stopped before a first commit
        TP("ecm.deadline-commands", 3): 0,  # aiokafka does not seek to 0 either
        TP("ecm-worker-visits-changelog", 1): None,  # a table's: recovery reads it
    }
    assert never_committed(committed, INPUTS.__contains__) == [
        TP("ecm.deadline-commands", 3), TP("ecm.visit-events", 1)]


def test_nothing_to_do_when_every_input_partition_has_a_commit() -> None:
    committed = {TP("ecm.carer-calls", p): 10 + p for p in range(4)}
    assert never_committed(committed, INPUTS.__contains__) == []


def _consumer(cls: type, acked: list[int], committed: int, gaps: IntervalTree) -> Any:
    """A consumer holding only the bookkeeping ``_new_offset`` reads (no broker, no app)."""
    consumer = object.__new__(cls)
    consumer._acked = defaultdict(list, {TP_IN: list(acked)})
    consumer._acked_index = defaultdict(set, {TP_IN: set(acked)})
    consumer._gap = defaultdict(IntervalTree, {TP_IN: gaps})
    consumer._committed_offset = defaultdict(lambda: None, {TP_IN: committed})
    return consumer


TP_IN = TP("ecm.visit-events", 0)

# The shape the takeover test left (streams/positions.py): 80, already committed, still
# listed, and offsets 81-99 listed twice (a skip counted over offsets delivered again
# after the seek back to 81).
AFTER_A_SEEK_BACK = [80, *range(81, 100), *range(81, 100)]


def test_faust_alone_commits_a_few_offsets_at_a_time_once_an_offset_is_listed_twice() -> None:
    faust_consumer = _consumer(Consumer, AFTER_A_SEEK_BACK, 81, IntervalTree())
    assert faust_consumer._new_offset(TP_IN) == 82  # 80, 81: then 81 again ends the run


def test_each_acknowledged_offset_counts_once_and_the_whole_run_is_committed() -> None:
    ours = _consumer(FromStartConsumer, AFTER_A_SEEK_BACK, 81, IntervalTree())
    assert ours._new_offset(TP_IN) == 100
    assert ours._acked[TP_IN] == [] and ours._acked_index[TP_IN] == set()


def test_skipped_offsets_count_as_acknowledged_once_and_the_commit_stops_at_a_hole() -> None:
    gaps = IntervalTree.from_tuples([(84, 90)])  # seen skipped: 84-89
    ours = _consumer(FromStartConsumer, [81, 82, 83, 85, 86, 90, 91, 95], 81, gaps)
    assert ours._new_offset(TP_IN) == 92  # 81-91 (84-89 skipped), then a hole at 92
    assert ours._acked[TP_IN] == [95] and not ours._gap[TP_IN]


def test_settled_acks_drop_what_is_committed_and_keep_each_offset_once() -> None:
    assert settled_acks([7, 5, 5, 9, 3], IntervalTree.from_tuples([(6, 7)]), 5) == [5, 6, 7, 9]
    assert settled_acks([2, 2, 1], IntervalTree(), None) == [1, 2]
