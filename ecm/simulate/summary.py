"""What a run produced: lines by event type, planned visits, commissioned hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, TypeVar

from ecm.simulate.episodes import is_short_term

if TYPE_CHECKING:
    from ecm.simulate.day import World


class _Line(Protocol):
    """What the summary reads from a line."""

    @property
    def payload(self) -> bytes: ...
    @property
    def event_type(self) -> str: ...
    @property
    def duplicate(self) -> bool: ...


L = TypeVar("L", bound=_Line)


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Summary:
    """Counters filled in while a run streams; ``on_day`` is called after each day."""

    by_type: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    lines: int = 0
    bytes: int = 0
    commissioned_hours: dict[str, Decimal] = field(default_factory=dict)
    double_handed_planned: int = 0
    on_day: Callable[[date], None] | None = None

    @property
    def malformed(self) -> int:
        """Lines that are not valid events."""
        return self.by_type["malformed"]

    @property
    def visits_planned(self) -> int:
        """Distinct planned visits (duplicates not counted)."""
        return self.by_type["visit_planned"]

    def count(self, line: L) -> L:
        """Count one line on its way out, and hand it back."""
        self.lines += 1
        self.bytes += len(line.payload) + 1
        if line.duplicate:
            self.duplicates += 1
        else:
            self.by_type[line.event_type] += 1
            if line.event_type == "visit_planned" and b'"carers_required":2' in line.payload:
                self.double_handed_planned += 1
        return line

    def note_population(self, world: World) -> None:
        """Commissioned hours per ISO week, pro rata by the days each package is active."""
        days = world.config.days
        packages = [p for p in world.population.packages if not is_short_term(p)]
        packages += [e for found in world.episodes.values() for e in found]
        hours: dict[str, Decimal] = {}
        for package in packages:
            last = package.effective_to or days[-1]
            for day in days:
                if package.effective_from <= day <= last:
                    week = _iso_week(day)
                    hours[week] = hours.get(week, Decimal(0)) + package.plan.weekly_hours / 7
        self.commissioned_hours = {w: h.quantize(Decimal("0.01")) for w, h in hours.items()}

    def day_done(self, day: date) -> None:
        """Report progress after a day has been generated."""
        if self.on_day is not None:
            self.on_day(day)

    def weekly_commissioned_hours(self) -> Decimal:
        """Mean commissioned hours over the run's weeks."""
        if not self.commissioned_hours:
            return Decimal(0)
        total = sum(self.commissioned_hours.values(), Decimal(0))
        return (total / len(self.commissioned_hours)).quantize(Decimal("0.01"))

    def render(self, weeks: int) -> str:
        """Return a human-readable summary for stderr."""
        rows = [f"  {name:<24} {count:>10,}" for name, count in sorted(self.by_type.items())]
        share = self.double_handed_planned / self.visits_planned if self.visits_planned else 0.0
        return "\n".join(
            [
                "synthetic run summary (all data synthetic)",
                "events by type (first deliveries):",
                *rows,
                f"lines written: {self.lines:,} ({self.bytes / 1e6:,.1f} MB)",
                f"duplicate deliveries: {self.duplicates:,}",
                f"malformed lines: {self.malformed:,}",
                f"visits planned: {self.visits_planned:,} ({self.visits_planned / weeks:,.0f}/week,"
                f" {share:.1%} double-handed)",
                f"commissioned hours/week: {self.weekly_commissioned_hours():,}",
            ]
        )
