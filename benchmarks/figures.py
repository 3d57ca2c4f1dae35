"""The one machine-readable line every benchmark prints per headline figure.

``benchmarks/run_all.py`` collects these lines from each benchmark's stdout into
``benchmarks/results.json``; everything else a benchmark prints is for people.
"""

from __future__ import annotations

PREFIX = "FIGURE"


def emit(name: str, value: float, unit: str) -> None:
    """Print ``FIGURE <name> <value> <unit>`` on a line of its own (flushed at once).

    ``name`` and ``unit`` must contain no whitespace; ``value`` is printed with up to
    six significant decimals so the line parses back with ``float``.
    """
    if any(ch.isspace() for ch in name + unit):
        raise ValueError(f"figure name and unit must have no spaces: {name!r} {unit!r}")
    print(f"{PREFIX} {name} {float(value):.6g} {unit}", flush=True)


def parse(line: str) -> tuple[str, float, str] | None:
    """Return (name, value, unit) if ``line`` is a figure line, else ``None``."""
    parts = line.split()
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    try:
        return parts[1], float(parts[2]), parts[3]
    except ValueError:
        return None
