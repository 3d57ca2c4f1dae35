"""Early, on time or late: the first check-in against the planned start."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Punctuality(StrEnum):
    """How the first check-in compares with the planned start."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def classify(first_check_in: datetime, planned_start: datetime, window_minutes: int) -> Punctuality:
    """Classify a check-in; the window is inclusive on both sides.

    Exactly 15 minutes either side is on time; a second more is early or late.
    """
    offset = (first_check_in - planned_start).total_seconds()
    window = window_minutes * 60
    if offset > window:
        return Punctuality.LATE
    if offset < -window:
        return Punctuality.EARLY
    return Punctuality.ON_TIME


def lateness_seconds(first_check_in: datetime, planned_start: datetime) -> int:
    """Return how late the check-in was, in whole seconds (0 if not after the start)."""
    return max(0, int((first_check_in - planned_start).total_seconds()))
