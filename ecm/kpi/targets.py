"""The contract's KPI targets and their red/amber/green reading (docs/rules.md, "Targets").

One target comes from the council's documents (calls logged electronically: 85%); the
others are the product's defaults, stated in docs/rules.md, for a council to replace.
A value at or better than the target is green; between the target and the amber line,
amber; worse than the amber line, red.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """One KPI's target, its amber line, and whether higher is better."""

    measure: str
    label: str
    target: float
    amber: float
    higher_is_better: bool = True
    percent: bool = True
    """A share shown as a percentage; otherwise a count shown as a number."""

    def show(self, value: float) -> str:
        """The value as the scorecard writes it."""
        return f"{value * 100:.1f}%" if self.percent else f"{value:.2f}"

    @property
    def target_label(self) -> str:
        """The target as the scorecard writes it, e.g. ``≥ 85%`` or ``≤ 3``."""
        sign = "≥ " if self.higher_is_better else "≤ "
        return sign + (f"{self.target * 100:g}%" if self.percent else f"{self.target:g}")

    def rag(self, value: float | None) -> str | None:
        """``green``, ``amber`` or ``red`` for ``value`` (None: no value, no colour)."""
        if value is None:
            return None
        sign = 1 if self.higher_is_better else -1
        if sign * value >= sign * self.target:
            return "green"
        return "amber" if sign * value >= sign * self.amber else "red"


TARGETS = (
    Target("delivery_ratio", "Delivered / commissioned", 0.95, 0.90),
    Target("on_time_rate", "On time", 0.90, 0.80),
    Target("missed_rate", "Missed", 0.01, 0.02, higher_is_better=False),
    Target("short_rate", "Short", 0.05, 0.10, higher_is_better=False),
    Target("continuity", "Carers per client (continuity)", 3.0, 4.0, higher_is_better=False,
           percent=False),
    Target("ecm_compliance", "Logged electronically", 0.85, 0.80),
)
"""The KPIs of the monthly pack with their targets, in the order they are shown."""
