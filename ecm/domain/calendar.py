"""Local days and ISO weeks in Europe/London, computed from UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
"""The contract time zone for days and weeks."""


def ensure_utc(instant: datetime) -> datetime:
    """Return ``instant`` converted to UTC.

    Raises:
        ValueError: the datetime is naive (every instant in the domain is aware).

    """
    if instant.tzinfo is None:
        raise ValueError("naive datetime: every instant must carry a time zone")
    return instant if instant.tzinfo is UTC else instant.astimezone(UTC)


def local_date(instant: datetime) -> date:
    """Return the Europe/London calendar day on which ``instant`` falls."""
    return _local_date_of_hour((instant - _EPOCH) // _HOUR)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)


@lru_cache(maxsize=65536)
def _local_date_of_hour(hour: int) -> date:
    # Offsets change only on whole hours in London, so caching by UTC hour is exact (the
    # hour as a number since the epoch: cheaper to work out and to hash than a datetime).
    return (_EPOCH + hour * _HOUR).astimezone(LONDON).date()


@lru_cache(maxsize=4096)
def iso_week_of_date(day: date) -> str:
    """Return the ISO week of a calendar day as ``YYYY-Www`` (e.g. ``2026-W47``)."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def iso_week(instant: datetime) -> str:
    """Return the Europe/London ISO week (weeks start Monday 00:00 local) of an instant."""
    return iso_week_of_date(local_date(instant))


def week_days(week: str) -> tuple[date, ...]:
    """Return the seven local days, Monday to Sunday, of an ISO week ``YYYY-Www``."""
    year, _, number = week.partition("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return tuple(monday + timedelta(days=i) for i in range(7))


def week_start_utc(week: str) -> datetime:
    """Return the UTC instant of Monday 00:00 Europe/London that starts an ISO week."""
    return day_start_utc(week_days(week)[0])


def day_start_utc(day: date) -> datetime:
    """Return the UTC instant of 00:00 Europe/London that starts a local day.

    An instant falls before it exactly when ``local_date`` of it is before ``day``
    (London's clocks never change at midnight).
    """
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=LONDON)
    return local_midnight.astimezone(UTC)
