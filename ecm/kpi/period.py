"""Reporting periods: local (Europe/London) date ranges, end exclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    """Local days ``start`` (inclusive) to ``end`` (exclusive).

    KPIs cover the ISO weeks whose Monday falls in the period (see ``kpi.sql``).
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"period end {self.end} must be after its start {self.start}")

    @classmethod
    def month(cls, text: str) -> Period:
        """Return the calendar month ``YYYY-MM``."""
        match = _MONTH.match(text)
        if not match:
            raise ValueError(f"{text!r}: expected a month as YYYY-MM")
        start = date(int(match[1]), int(match[2]), 1)
        return cls(start, (start + timedelta(days=32)).replace(day=1))

    @classmethod
    def iso_week(cls, text: str) -> Period:
        """Return the ISO week ``YYYY-Www``."""
        match = _WEEK.match(text)
        if not match:
            raise ValueError(f"{text!r}: expected an ISO week as YYYY-Www")
        start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        return cls(start, start + timedelta(days=7))

    def trailing_weeks(self, weeks: int) -> Period:
        """Return the ``weeks`` ISO weeks ending with the last week starting in this period."""
        last_monday = self.end - timedelta(days=1)
        last_monday -= timedelta(days=last_monday.weekday())
        return Period(last_monday - timedelta(weeks=weeks - 1), last_monday + timedelta(days=1))

    def label(self) -> str:
        """Return a short label: ``2024-06``, ``2024-W23`` or ``2024-06-03..2024-06-30``."""
        if self.start.day == 1 and Period.month(self.start.strftime("%Y-%m")) == self:
            return self.start.strftime("%Y-%m")
        iso = self.start.isocalendar()
        if self.start.weekday() == 0 and (self.end - self.start).days == 7:
            return f"{iso.year}-W{iso.week:02d}"
        return f"{self.start}..{self.end - timedelta(days=1)}"
