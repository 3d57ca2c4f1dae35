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
