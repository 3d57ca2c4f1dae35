"""The rota gate's low watermark: the lowest instant heard from every partition."""

from __future__ import annotations

from domain.builders import at

from ecm.visits.gate import LowWatermark


def test_nothing_is_known_until_every_partition_has_been_heard() -> None:
    low = LowWatermark(3)
    assert low.hear(0, at(10)) is None and low.hear(2, at(5)) is None and low.low is None
    assert low.hear(1, at(7)) == at(5)


def test_it_moves_only_when_the_slowest_partition_moves() -> None:
    low = LowWatermark(2)
    low.hear(0, at(10))
    assert low.hear(1, at(20)) == at(10)
    assert low.hear(1, at(30)) is None  # partition 0 is still at 10
    assert low.hear(0, at(5)) is None and low.low == at(10)  # a tick heard again: no step back
    assert low.hear(0, at(25)) == at(25)


def test_what_was_heard_survives_a_restart() -> None:
    low = LowWatermark(2)
    low.hear(0, at(10))
    low.hear(1, at(20))
    again = LowWatermark.decode(2, low.encode())
    assert again.low == at(10) and again.hear(0, at(40)) == at(20)
