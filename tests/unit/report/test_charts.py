"""The pack's and the portal's charts make small differences visible and draw lone points."""

from __future__ import annotations

import re

from ecm.report.svg import dot_chart, line_chart, nice_bounds


def _dots(svg: str) -> list[float]:
    return [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]


def test_ratios_a_few_points_apart_are_drawn_far_apart() -> None:
    svg = dot_chart("Delivery", ["P1", "P2"], [0.89, 0.93], percent=True)
    low, high = _dots(svg)
    assert high - low > 200  # of 640 px: not two bars of equal height from zero


def test_the_axis_is_fitted_with_round_labelled_bounds() -> None:
    assert nice_bounds([0.89, 0.93]) == (0.89, 0.93, 0.01)
    low, high, step = nice_bounds([0.021, 0.9])
    assert low <= 0.021 and high >= 0.9 and step == 0.25
    assert ">89%<" in dot_chart("Delivery", ["P1", "P2"], [0.89, 0.93], percent=True)


def test_a_single_week_is_a_visible_point_with_a_note() -> None:
    svg = line_chart("On time", ["2026-W47"], {"on time": [0.91]}, percent=True)
    assert len(_dots(svg)) == 2  # the point, and the legend's marker
    assert "one week only" in svg and "<polyline" not in svg


def test_a_target_is_drawn_and_values_below_it_are_marked_by_shape_not_only_colour() -> None:
    svg = dot_chart("Logged electronically", ["P1", "P2"], [0.80, 0.90], target=0.85,
                    percent=True)
    assert "target 85%" in svg and 'stroke-dasharray' in svg
    assert svg.count("<polygon") == 1  # P1 below target: a diamond; P2: a circle


def test_no_data_says_so() -> None:
    assert "no data" in line_chart("On time", [], {"on time": []})
    assert "no data" in dot_chart("Delivery", [], [])
