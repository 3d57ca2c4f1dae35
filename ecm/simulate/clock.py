"""Local (Europe/London) wall-clock times to UTC epoch seconds and back, DST-safe.

All arithmetic on times is done on UTC epoch seconds; a local wall-clock time is only
ever built from a calendar day and minutes after midnight, so a visit at 07:00 is at
07:00 on both sides of a clock change.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from ecm.simulate.config import LONDON


def local_ts(day: date, minute: int) -> int:
    """Epoch seconds of ``minute`` minutes after local midnight of ``day`` (wall clock).

    Minutes of 24 hours or more roll over to the next days. In the hour skipped in
    spring the time maps forward by an hour; in the repeated hour of autumn the first
    occurrence is used.
    """
    day = day + timedelta(days=minute // 1440)
    minute %= 1440
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=LONDON)
    return int(local.timestamp())


def to_local(ts: float) -> datetime:
    """Return an aware Europe/London datetime (UTC offset included) for epoch seconds."""
    return datetime.fromtimestamp(ts, LONDON)


def local_day(ts: float) -> date:
    """Return the local calendar day of an instant."""
    return to_local(ts).date()
