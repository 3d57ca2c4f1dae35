"""The contract KPIs in storage: the one KPI query layer (``queries``) over the rollups."""

from ecm.domain.kpis import KPI_COLUMNS
from ecm.kpi.period import Period
from ecm.kpi.queries import (
    LEAGUE_COLUMNS,
    TREND_COLUMNS,
    exception_counts,
    grafana_sql,
    kpis,
    league_table,
    open_alerts,
    rota_realism,
    sql_text,
    trend,
    weekly_kpis,
)

__all__ = [
    "KPI_COLUMNS",
    "LEAGUE_COLUMNS",
    "TREND_COLUMNS",
    "Period",
    "exception_counts",
    "grafana_sql",
    "kpis",
    "league_table",
    "open_alerts",
    "rota_realism",
    "sql_text",
    "trend",
    "weekly_kpis",
]
