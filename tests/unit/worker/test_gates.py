"""The worker's rota-gate bookkeeping: which ticks are passed on, and what survives a restart."""

from __future__ import annotations

from domain.builders import at

from ecm.visits.ledger import DictStore
from streams.gates import ROTAS, VISITS, Gates


def test_a_tick_is_passed_on_once_an_hour_of_event_time_and_the_flush_always() -> None:
    gates = Gates(DictStore(), 2)
    assert gates.pass_on(0, at(0), flush=False)
    assert not gates.pass_on(0, at(59), flush=False)
    assert gates.pass_on(1, at(59), flush=False)  # each partition on its own
    assert gates.pass_on(0, at(60), flush=False)
    assert gates.pass_on(0, at(61), flush=True)


def test_what_each_side_heard_is_kept_in_the_table_for_the_next_owner() -> None:
    store: DictStore[bytes] = DictStore()
    gates = Gates(store, 2)
    assert gates.hear(VISITS, 1, 0, at(10)) is None
    assert gates.hear(VISITS, 1, 1, at(20)) == at(10)
    assert gates.low(ROTAS, 1) is None  # the other side of partition 1 heard nothing
    again = Gates(store, 2)  # a restarted worker, or another that took partition 1 over
    assert again.low(VISITS, 1) == at(10)
    assert again.hear(VISITS, 1, 0, at(30)) == at(20)


def test_a_partitions_last_tick_is_kept_for_the_next_owner_and_only_moves_forward() -> None:
    store: DictStore[bytes] = DictStore()
    gates = Gates(store, 2)
    assert gates.last_tick(0) is None
    gates.tick(0, at(30))
    gates.tick(0, at(10))  # a tick delivered again after a restart, behind the last one
    again = Gates(store, 2)  # the worker that takes partition 0 over
    assert again.last_tick(0) == at(30)
    assert again.last_tick(1) is None
    gates.release()
    gates.tick(0, at(45))
    assert Gates(store, 2).last_tick(0) == at(45)
