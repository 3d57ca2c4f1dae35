"""Which input partitions a seek back sends to their start (streams/positions.py)."""

from __future__ import annotations

from typing import NamedTuple

from streams.positions import never_committed


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
