"""The monitoring pack a contract manager takes into a provider meeting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from ecm.kpi import Period, exception_counts, league_table, open_alerts, rota_realism, trend
from ecm.report.audit import trust_by_provider, visits_to_audit

Rows = list[dict[str, Any]]


def cell(value: Any) -> str:
    """Return a value as report text: empty for none, ISO for times, plain for numbers."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


@dataclass(frozen=True)
class MonitoringPack:
    """League table, 12-week trend and what to discuss, for a period and optional filters."""

    period: Period
    provider_id: str | None
    lot_id: str | None
    generated_at: datetime
    league: Rows
    trend: Rows
    open_alerts: Rows
    exceptions: Rows
    trust: Rows = field(default_factory=list)
    """Per provider, lowest first: the mean trust score (the KPI) and the visits under 70."""
    audit: Rows = field(default_factory=list)
    """The visits most worth auditing: the least trusted first."""
    rota: Rows = field(default_factory=list)
    """Rota realism per provider, lot and week: gaps too short for travel (docs/rules.md)."""

    def title(self) -> str:
        """Return the pack's title, naming the period and the filters."""
        scope = ", ".join(
            f"{k} {v}" for k, v in (("provider", self.provider_id), ("lot", self.lot_id)) if v
        )
        return f"Contract monitoring pack {self.period.label()}" + (f" ({scope})" if scope else "")

    def sections(self) -> dict[str, Rows]:
        """Return the pack's tables by section name, in reading order."""
        return {
            "league": self.league,
            "trend": self.trend,
            "open_alerts": self.open_alerts,
            "exceptions": self.exceptions,
            "trust": self.trust,
            "visits_to_audit": self.audit,
            "rota_realism": self.rota,
        }


def build_pack(
    conn: psycopg.Connection[Any],
    period: Period,
    provider_id: str | None = None,
    lot_id: str | None = None,
    *,
    now: datetime,
    progress: Callable[[str], None] = lambda step: None,
) -> MonitoringPack:
    """Run the pack's queries (calling ``progress`` before each) and return the pack."""
    progress("league table")
    league = league_table(conn, period, provider_id, lot_id)
    progress("12-week trend")
    weekly = trend(conn, period, provider_id, lot_id)
    progress("open alerts")
    alerts = open_alerts(conn, period, provider_id, lot_id)
    progress("exceptions")
    exceptions = exception_counts(conn, period, provider_id, lot_id)
    progress("trust")
    trust = trust_by_provider(conn, period, provider_id, lot_id)
    audit = visits_to_audit(conn, period, provider_id, lot_id)
    progress("rota realism")
    rota = rota_realism(conn, period, provider_id, lot_id)
    return MonitoringPack(period, provider_id, lot_id, now, league, weekly, alerts, exceptions,
                          trust, audit, rota)
