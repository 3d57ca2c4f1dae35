"""Small inline SVG charts for the HTML pack and the portal: no scripts, no external files.

Axes are scaled to the data (with "nice" round bounds and labelled grid lines), so a
delivery ratio moving between 0.89 and 0.93 is visibly a movement, and a target, when
given, is drawn as a dashed line. Values compared across providers are drawn as dots on
a shared scale (a dot plot), not as bars: bars must start at zero to be honest, and then
0.89 and 0.93 look the same. A single point is drawn as a point, with a note saying so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

_W, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 640, 56, 30, 44, 36
_COLOURS = ("#1d4f91", "#a4161a", "#0b6b2b", "#6f3c91")  # dark enough on white (WCAG AA)
_MARKS = ("circle", "square", "diamond", "triangle")  # shape, not colour alone, tells series apart


def nice_bounds(values: Sequence[float], ticks: int = 4) -> tuple[float, float, float]:
    """Round lower and upper bounds around ``values`` and the tick step between them."""
    low, high = min(values), max(values)
    if math.isclose(low, high):
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    lower = math.floor(low / step + 1e-9) * step
    upper = math.ceil(high / step - 1e-9) * step
    return round(lower, 12), round(upper, 12), round(step, 12)


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.4g}%" if percent else f"{value:.4g}"


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    target: float | None = None,
    percent: bool = False,
    height: int = 240,
) -> str:
    """An SVG line chart of ``series`` over ``labels`` (gaps for None), axis fitted to the data."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values:
        return _empty(title, height, "no data for this period")
    low, high, step = nice_bounds(values + ([target] if target is not None else []))
    inner_w, inner_h = _W - _PAD_L - _PAD_R, height - _PAD_T - _PAD_B
    x_step = inner_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return _PAD_L + (i * x_step if len(labels) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return _PAD_T + (high - v) / (high - low) * inner_h

    parts = [_title(title), *_y_grid(low, high, step, y, percent)]
    if target is not None:
        parts.append(_target_line(y(target), f"target {_fmt(target, percent)}"))
    for n, ((name, vs), colour) in enumerate(zip(series.items(), _COLOURS, strict=False)):
        points = [(x(i), y(v), v, labels[i]) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" '
                         f'points="{path}"/>')
        parts.extend(_mark(_MARKS[n % len(_MARKS)], px, py, colour,
                           f"{name}, {label}: {_fmt(v, percent)}")
                     for px, py, v, label in points)
    parts.extend(_legend(list(series)))
    parts.extend(_x_labels(labels, x, height))
    if len(labels) == 1:
        parts.append(f'<text x="{_W - _PAD_R}" y="{height - 4}" text-anchor="end" '
                     f'font-size="11" fill="#4b4f54">one week only: no trend yet</text>')
    return _svg(parts, height, title)


def dot_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    target: float | None = None,
    percent: bool = False,
) -> str:
    """One row per label with a dot at its value, on an axis fitted to the values."""
    present = [v for v in values if v is not None]
    row = 24
    height = _PAD_T + _PAD_B + row * max(len(labels), 1)
    if not present:
        return _empty(title, height, "no data for this period")
    low, high, step = nice_bounds(present + ([target] if target is not None else []))
    pad_l = 150
    inner_w = _W - pad_l - _PAD_R

    def x(v: float) -> float:
        return pad_l + (v - low) / (high - low) * inner_w

    parts = [_title(title)]
    tick = low
    while tick <= high + step / 2:
        parts.append(f'<line x1="{x(tick):.1f}" y1="{_PAD_T - 6}" x2="{x(tick):.1f}" '
                     f'y2="{height - _PAD_B}" stroke="#d8dadb"/>'
                     f'<text x="{x(tick):.1f}" y="{height - _PAD_B + 16}" font-size="11" '
                     f'text-anchor="middle">{escape(_fmt(tick, percent))}</text>')
        tick += step
    if target is not None:
        parts.append(f'<line x1="{x(target):.1f}" y1="{_PAD_T - 6}" x2="{x(target):.1f}" '
                     f'y2="{height - _PAD_B}" stroke="#0b0c0c" stroke-dasharray="5 4"/>'
                     f'<text x="{x(target):.1f}" y="{_PAD_T - 10}" font-size="11" '
                     f'text-anchor="middle">target {escape(_fmt(target, percent))}</text>')
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        cy = _PAD_T + row * i + row / 2
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{pad_l - 8}" y="{cy + 4:.1f}" font-size="12" '
                     f'text-anchor="end">{escape(short)}<title>{escape(label)}</title></text>'
                     f'<line x1="{pad_l}" y1="{cy:.1f}" x2="{_W - _PAD_R}" y2="{cy:.1f}" '
                     f'stroke="#eeeeee"/>')
        if v is not None:
            below = target is not None and v < target
            colour = _COLOURS[1] if below else _COLOURS[0]
            parts.append(_mark("diamond" if below else "circle", x(v), cy, colour,
                               f"{label}: {_fmt(v, percent)}"))
    return _svg(parts, height, title)


def _mark(shape: str, x: float, y: float, colour: str, text: str) -> str:
    tip = f"<title>{escape(text)}</title>"
    if shape == "square":
        return (f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                f'fill="{colour}">{tip}</rect>')
    if shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} '
                f'{x - 6:.1f},{y:.1f}" fill="{colour}">{tip}</polygon>')
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - 6:.1f} {x + 6:.1f},{y + 5:.1f} '
                f'{x - 6:.1f},{y + 5:.1f}" fill="{colour}">{tip}</polygon>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}">{tip}</circle>'


def _title(title: str) -> str:
    return f'<text x="{_PAD_L}" y="18" font-weight="bold" font-size="14">{escape(title)}</text>'


def _y_grid(
    low: float, high: float, step: float, y: Callable[[float], float], percent: bool
) -> list[str]:
    parts, tick = [], low
    while tick <= high + step / 2:
        ty = y(tick)
        parts.append(f'<line x1="{_PAD_L}" y1="{ty:.1f}" x2="{_W - _PAD_R}" y2="{ty:.1f}" '
                     f'stroke="#d8dadb"/><text x="{_PAD_L - 6}" y="{ty + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{escape(_fmt(tick, percent))}</text>')
        tick += step
    return parts


def _target_line(y: float, label: str) -> str:
    return (f'<line x1="{_PAD_L}" y1="{y:.1f}" x2="{_W - _PAD_R}" y2="{y:.1f}" stroke="#0b0c0c" '
            f'stroke-dasharray="5 4"/><text x="{_W - _PAD_R}" y="{y - 4:.1f}" font-size="11" '
            f'text-anchor="end">{escape(label)}</text>')


def _legend(names: list[str]) -> list[str]:
    parts = []
    for i, (name, colour) in enumerate(zip(names, _COLOURS, strict=False)):
        lx = _PAD_L + i * 150
        parts.append(_mark(_MARKS[i % len(_MARKS)], lx + 5, 32, colour, name))
        parts.append(f'<text x="{lx + 14}" y="36" font-size="11">{escape(name)}</text>')
    return parts


def _x_labels(labels: Sequence[str], x: Callable[[int], float], height: int) -> list[str]:
    every = max(1, math.ceil(len(labels) / 12))
    return [
        f'<text x="{x(i):.1f}" y="{height - _PAD_B + 16}" font-size="10" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels) if i % every == 0
    ]


def _empty(title: str, height: int, note: str) -> str:
    return _svg([_title(title), f'<text x="{_PAD_L}" y="{height / 2:.0f}" font-size="12" '
                 f'fill="#4b4f54">{escape(note)}</text>'], height, title)


def _svg(parts: list[str], height: int, title: str) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" '
        f'height="{height}" font-family="system-ui, sans-serif" role="img" '
        f'aria-label="{escape(title)}">{body}</svg>'
    )
