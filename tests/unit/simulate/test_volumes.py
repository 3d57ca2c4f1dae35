from __future__ import annotations

from decimal import Decimal

import pytest

from ecm.simulate import SimulationConfig
from ecm.simulate.config import TARGET_HOURS_PER_WEEK, TARGET_VISITS_PER_WEEK

from .conftest import run_lines


def _within(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance * target


def test_volumes_are_proportional_to_scale() -> None:
    _, small = run_lines(SimulationConfig(seed=5, scale=0.05))
    _, large = run_lines(SimulationConfig(seed=5, scale=0.1))
    assert _within(large.visits_planned / small.visits_planned, 2.0, 0.2)
    ratio = large.weekly_commissioned_hours() / small.weekly_commissioned_hours()
    assert _within(float(ratio), 2.0, 0.2)


def test_a_tenth_of_kent_plans_a_tenth_of_the_visits_and_hours() -> None:
    _, summary = run_lines(SimulationConfig(seed=42, scale=0.1))
    assert _within(summary.visits_planned, TARGET_VISITS_PER_WEEK * 0.1, 0.10)
    hours = float(summary.weekly_commissioned_hours())
    assert _within(hours, TARGET_HOURS_PER_WEEK * 0.1, 0.10)
    assert 0.07 <= summary.double_handed_planned / summary.visits_planned <= 0.13


def test_a_two_week_run_commissions_about_the_same_hours_each_week() -> None:
    _, summary = run_lines(SimulationConfig(seed=2, scale=0.02, weeks=2))
    first, second = summary.commissioned_hours.values()
    assert abs(first - second) < Decimal("0.1") * first


@pytest.mark.slow
def test_a_full_scale_week_matches_kent_within_ten_percent() -> None:
    _, summary = run_lines(SimulationConfig(seed=42, scale=1.0))
    assert _within(summary.visits_planned, TARGET_VISITS_PER_WEEK, 0.10)
    assert _within(float(summary.weekly_commissioned_hours()), TARGET_HOURS_PER_WEEK, 0.10)
    assert 0.08 <= summary.double_handed_planned / summary.visits_planned <= 0.12
