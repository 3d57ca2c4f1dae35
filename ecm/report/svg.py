"""Small inline SVG charts for the HTML pack: no scripts, no external files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

_W, _H, _PAD = 640, 220, 40
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def line_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]]
) -> str:
    """Return an SVG line chart of ``series`` (values 0..max) over ``labels``; gaps for None."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max([*values, 1e-9])
    step = (_W - 2 * _PAD) / max(len(labels) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{_PAD + i * step:.1f},{_H - _PAD - v / top * (_H - 2 * _PAD):.1f}"

    parts = [_frame(title, f"max {top:.3g}")]
    for (name, vs), colour in zip(series.items(), _COLOURS, strict=False):
        points = " ".join(xy(i, v) for i, v in enumerate(vs) if v is not None)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        parts.extend(
            f'<circle cx="{xy(i, v).split(",")[0]}" cy="{xy(i, v).split(",")[1]}" r="3" '
            f'fill="{colour}"><title>{escape(name)} {escape(labels[i])}: {v:.4g}</title></circle>'
            for i, v in enumerate(vs)
            if v is not None
        )
    parts.extend(_legend(list(series)))
    parts.extend(_x_labels(labels, step))
    return _svg(parts)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """Return an SVG bar chart, one bar per label (None draws no bar)."""
    top = max([v for v in values if v is not None] + [1e-9])
    width = (_W - 2 * _PAD) / max(len(labels), 1)
    parts = [_frame(title, f"max {top:.3g}")]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        if v is None:
            continue
        h = v / top * (_H - 2 * _PAD)
        parts.append(
            f'<rect x="{_PAD + i * width + 1:.1f}" y="{_H - _PAD - h:.1f}" '
            f'width="{max(width - 2, 1):.1f}" height="{h:.1f}" fill="{_COLOURS[0]}">'
            f"<title>{escape(label)}: {v:.4g}</title></rect>"
        )
    parts.extend(_x_labels(labels, width, offset=width / 2))
    return _svg(parts)


def _frame(title: str, note: str) -> str:
    return (
        f'<text x="{_PAD}" y="20" font-weight="bold">{escape(title)}</text>'
        f'<text x="{_W - _PAD}" y="20" text-anchor="end" font-size="11">{escape(note)}</text>'
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#999"/>'
    )


def _legend(names: list[str]) -> list[str]:
    return [
        f'<text x="{_PAD + 10 + i * 150}" y="{_PAD - 6}" font-size="11" fill="{c}">'
        f"■ {escape(n)}</text>"
        for i, (n, c) in enumerate(zip(names, _COLOURS, strict=False))
    ]


def _x_labels(labels: Sequence[str], step: float, offset: float = 0.0) -> list[str]:
    every = max(1, len(labels) // 12)
    return [
        f'<text x="{_PAD + offset + i * step:.1f}" y="{_H - _PAD + 14}" font-size="10" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _svg(parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" font-family="sans-serif" role="img">{body}</svg>'
    )
