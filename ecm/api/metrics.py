"""A hook for request and ingestion metrics; the Prometheus side is another issue.

The app calls an ``ApiMetrics``; the default does nothing. A Prometheus adapter only
has to implement these two methods and be passed to ``create_app``.
"""

from __future__ import annotations

from typing import Protocol


class ApiMetrics(Protocol):
    """What the API reports."""

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request finished."""

    def events_accepted(self, source: str, count: int) -> None:
        """``count`` events were acknowledged by Kafka (source: events, batch, csv)."""


class NoMetrics:
    """The default: record nothing."""

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Ignore."""

    def events_accepted(self, source: str, count: int) -> None:
        """Ignore."""
