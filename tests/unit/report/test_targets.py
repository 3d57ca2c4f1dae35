"""Red, amber and green against the contract's targets."""

from __future__ import annotations

import pytest

from ecm.kpi.targets import TARGETS, Target

ELECTRONIC = next(t for t in TARGETS if t.measure == "ecm_compliance")
MISSED = next(t for t in TARGETS if t.measure == "missed_rate")


@pytest.mark.parametrize(("target", "value", "rag"), [
    (ELECTRONIC, 0.85, "green"), (ELECTRONIC, 0.849, "amber"), (ELECTRONIC, 0.80, "amber"),
    (ELECTRONIC, 0.7999, "red"), (ELECTRONIC, None, None),
    (MISSED, 0.0, "green"), (MISSED, 0.01, "green"), (MISSED, 0.015, "amber"),
    (MISSED, 0.03, "red"),
])
def test_rag(target: Target, value: float | None, rag: str | None) -> None:
    assert target.rag(value) == rag


def test_the_councils_own_target_is_85_percent_logged_electronically() -> None:
    assert ELECTRONIC.target == 0.85


def test_continuity_is_a_count_of_carers_and_fewer_is_better() -> None:
    continuity = next(t for t in TARGETS if t.measure == "continuity")
    assert continuity.rag(2.5) == "green" and continuity.rag(3.5) == "amber"
    assert continuity.rag(4.6) == "red"
    assert continuity.show(3.3333) == "3.33" and continuity.target_label == "≤ 3"
