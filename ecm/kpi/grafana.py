"""Grafana dashboards as code: every SQL panel runs the KPI layer's SQL (``grafana_sql``).

``python -m ecm.kpi.grafana deploy/grafana/dashboards`` (``make dashboards``) writes the
dashboard JSON files that ``deploy/grafana/provisioning`` loads. Query parameters are bound
to Grafana text, never rewritten:

* ``start``/``end``: ``$__timeFrom()``/``$__timeTo()`` (the dashboard time range; the KPI
  query selects the ISO weeks whose Monday falls in it);
* ``as_of``: ``$__timeTo()`` on the live missed-call board (``end`` is then NULL);
* ``provider_id``: ``'$provider'`` on the scorecard, NULL elsewhere;
* ``lot_id``: ``nullif('$lot', '__all')`` (the lot variable, '__all' for every lot);
* ``grain``, ``limit``: literals.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecm.kpi.queries import grafana_sql

PG = {"type": "grafana-postgresql-datasource", "uid": "ecm-postgres"}
PROM = {"type": "prometheus", "uid": "ecm-prometheus"}
DATASOURCE_UIDS = frozenset({PG["uid"], PROM["uid"]})
ALL_LOTS = "nullif('$lot', '__all')"
PERIOD = {"start": "$__timeFrom()", "end": "$__timeTo()"}

Json = dict[str, Any]


def kpi(grain: str, provider: str = "NULL", lot: str = "NULL") -> str:
    """The KPI query at ``grain`` over the dashboard's time range."""
    return grafana_sql("kpi", {**PERIOD, "grain": f"'{grain}'", "provider_id": provider,
                               "lot_id": lot})  # fmt: skip


def open_alerts(provider: str = "NULL", lot: str = "NULL") -> str:
    """The alerts open now (at the end of the time range), oldest first."""
    return grafana_sql("open_alerts", {"end": "NULL", "as_of": "$__timeTo()", "limit": "500",
                                       "provider_id": provider, "lot_id": lot})  # fmt: skip


def exceptions(provider: str = "NULL", lot: str = "NULL") -> str:
    """Exceptions in the time range, per provider and kind."""
    return grafana_sql("exception_counts", {**PERIOD, "provider_id": provider, "lot_id": lot})


def rota(provider: str = "NULL", lot: str = "NULL") -> str:
    """Rota realism in the time range, per provider, lot and week (docs/rules.md)."""
    return grafana_sql("rota_realism", {**PERIOD, "provider_id": provider, "lot_id": lot})


def sql_variable(name: str, label: str, query: str) -> Json:
    """A single-value variable whose options come from a KPI-layer query."""
    return {"name": name, "label": label, "type": "query", "datasource": PG,
            "query": grafana_sql(query), "definition": grafana_sql(query), "refresh": 1,
            "multi": False, "includeAll": False, "sort": 0, "hide": 0}  # fmt: skip


def _panel(kind: str, title: str, targets: list[Json], datasource: Json, grid: tuple[int, ...],
           **extra: Any) -> Json:  # fmt: skip
    x, y, w, h = grid
    return {"type": kind, "title": title, "datasource": datasource,
            "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets, **extra}  # fmt: skip


def sql(kind: str, title: str, query: str, grid: tuple[int, ...], **extra: Any) -> Json:
    """A panel with one SQL (table-format) target."""
    target = {"refId": "A", "datasource": PG, "format": "table", "rawQuery": True,
              "editorMode": "code", "rawSql": query}  # fmt: skip
    return _panel(kind, title, [target], PG, grid, **extra)


def prom(kind: str, title: str, exprs: dict[str, str], grid: tuple[int, ...],
         unit: str = "short") -> Json:  # fmt: skip
    """A panel of PromQL expressions (legend format -> expression)."""
    targets = [{"refId": chr(65 + i), "datasource": PROM, "expr": expr, "legendFormat": legend}
               for i, (legend, expr) in enumerate(exprs.items())]  # fmt: skip
    return _panel(kind, title, targets, PROM, grid,
                  fieldConfig={"defaults": {"unit": unit}, "overrides": []})


def _fields(*names: str) -> list[Json]:
    """Keep only ``names`` (in that order) of a SQL result."""
    order = {n: i for i, n in enumerate(names)}
    return [{"id": "filterFieldsByName", "options": {"include": {"names": list(names)}}},
            {"id": "organize", "options": {"excludeByName": {}, "indexByName": order,
                                           "renameByName": {}}}]  # fmt: skip


def bars(x: str, *ys: str) -> Json:
    """Bar chart options over the string field ``x`` (no time column needed)."""
    return {"options": {"xField": x, "orientation": "auto", "showValue": "auto",
                        "legend": {"displayMode": "list", "placement": "bottom",
                                   "showLegend": True}},
            "transformations": _fields(x, *ys)}  # fmt: skip


def dashboard(uid: str, title: str, panels: list[Json], variables: list[Json],
              time_from: str, refresh: str = "") -> Json:  # fmt: skip
    """A dashboard with panel ids 1..n in order."""
    for i, panel in enumerate(panels, start=1):
        panel["id"] = i
    return {"uid": uid, "title": title, "tags": ["ecm"], "editable": False,
            "schemaVersion": 39, "version": 1, "timezone": "Europe/London",
            "weekStart": "monday", "refresh": refresh,
            "time": {"from": time_from, "to": "now/w" if time_from.endswith("/w") else "now"},
            "templating": {"list": variables}, "annotations": {"list": []},
            "panels": panels}  # fmt: skip


RATE_COLUMNS = ("delivery_ratio", "on_time_rate", "missed_rate", "short_rate")


def contract_overview() -> Json:
    """Delivered vs commissioned hours by lot and provider, on-time %, missed rate, trends."""
    lot = ALL_LOTS
    lots = kpi("lot", lot=lot)
    providers = kpi("provider", lot=lot)
    weeks = kpi("week_total", lot=lot)
    pct = {"fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 1}, "overrides": []}}
    panels = [
        sql("barchart", "Delivered vs commissioned hours by lot", lots, (0, 0, 12, 8),
            **bars("lot_id", "commissioned_hours", "delivered_hours")),
        sql("barchart", "Delivered vs commissioned hours by provider", providers, (12, 0, 12, 8),
            **bars("provider_id", "commissioned_hours", "delivered_hours")),
        sql("table", "Lots", lots, (0, 8, 24, 7), transformations=_fields(
            "lot_id", "commissioned_hours", "delivered_hours", "delivery_ratio",
            "visits_planned", "on_time_rate", "missed", "missed_rate", "payable_gbp")),
        sql("table", "Providers (best delivery first)", providers, (0, 15, 24, 9),
            transformations=[*_fields(
                "provider_id", "commissioned_hours", "delivered_hours", "delivery_ratio",
                "visits_planned", "on_time_rate", "missed", "missed_rate", "short_rate",
                "continuity", "ecm_compliance", "payable_gbp", "mean_trust_score"),
                {"id": "sortBy", "options": {"sort": [{"field": "delivery_ratio",
                                                       "desc": True}]}}]),
        sql("barchart", "Weekly delivered vs commissioned hours", weeks, (0, 24, 12, 8),
            **bars("iso_week", "commissioned_hours", "delivered_hours")),
        sql("barchart", "Weekly on-time % and missed rate", weeks, (12, 24, 12, 8),
            **bars("iso_week", "on_time_rate", "missed_rate"), **pct),
        sql("table", "Exceptions by provider and kind", exceptions(lot=lot), (0, 32, 24, 8)),
        sql("table", "Rota realism: gaps too short for travel, by provider, lot and week",
            rota(lot=lot), (0, 40, 24, 8), transformations=[
                {"id": "sortBy", "options": {"sort": [{"field": "short_gap_share",
                                                       "desc": True}]}}]),
    ]
    return dashboard("ecm-contract-overview", "ECM · Contract overview", panels,
                     [sql_variable("lot", "Lot", "lots")], "now-12w/w")


def provider_scorecard() -> Json:
    """One provider ($provider): headline KPIs, weekly trends, weeks by lot, alerts."""
    p = "'$provider'"
    headline = kpi("provider", provider=p)
    pct = {"defaults": {"unit": "percentunit", "decimals": 1}, "overrides": []}

    def stat(title: str, field: str, x: int, rates: bool = False) -> Json:
        return sql("stat", title, headline, (x, 0, 4, 4),
                   options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": f"/^{field}$/",
                                              "values": False}, "colorMode": "value"},
                   **({"fieldConfig": pct} if rates else {}))  # fmt: skip

    panels = [
        stat("Delivered hours", "delivered_hours", 0),
        stat("Commissioned hours", "commissioned_hours", 4),
        stat("Delivery ratio", "delivery_ratio", 8, rates=True),
        stat("On time", "on_time_rate", 12, rates=True),
        stat("Missed rate", "missed_rate", 16, rates=True),
        stat("Continuity (carers per client)", "continuity", 20),
        sql("barchart", "Weekly delivered vs commissioned hours", kpi("provider_week", p),
            (0, 4, 12, 8), **bars("iso_week", "commissioned_hours", "delivered_hours")),
        sql("barchart", "Weekly on-time % and missed rate", kpi("provider_week", p),
            (12, 4, 12, 8), **bars("iso_week", "on_time_rate", "missed_rate"),
            fieldConfig=pct),
        sql("barchart", "Weekly mean trust score", kpi("provider_week", p), (0, 12, 24, 6),
            **bars("iso_week", "mean_trust_score"),
            fieldConfig={"defaults": {"min": 0, "max": 100, "decimals": 2}, "overrides": []}),
        sql("table", "Weeks by lot and service", kpi("week", p), (0, 18, 24, 8)),
        sql("table", "Open alerts (oldest first)", open_alerts(p), (0, 26, 14, 8)),
        sql("table", "Exceptions by kind", exceptions(p), (14, 26, 10, 8)),
        sql("table", "Rota realism: gaps too short for travel, by week and lot", rota(p),
            (0, 34, 24, 8)),
    ]
    return dashboard("ecm-provider-scorecard", "ECM · Provider scorecard", panels,
                     [sql_variable("provider", "Provider", "providers")], "now-12w/w")


def missed_call_board() -> Json:
    """Alerts open now, oldest first, and how many per lot; refreshed every 30 s."""
    query = open_alerts(lot=ALL_LOTS)
    panels = [
        sql("stat", "Open alerts", query, (0, 0, 6, 6),
            options={"reduceOptions": {"calcs": ["count"], "fields": "/^alert_id$/",
                                       "values": False}, "colorMode": "background"}),
        sql("barchart", "Open alerts by lot", query, (6, 0, 18, 6),
            options={"xField": "lot_id", "orientation": "horizontal", "showValue": "auto"},
            transformations=[{"id": "groupBy", "options": {"fields": {
                "lot_id": {"aggregations": [], "operation": "groupby"},
                "alert_id": {"aggregations": ["count"], "operation": "aggregate"}}}}]),
        sql("table", "Open alerts, oldest first", query, (0, 6, 24, 18)),
    ]
    return dashboard("ecm-missed-calls", "ECM · Live missed-call board", panels,
                     [sql_variable("lot", "Lot", "lots")], "now-7d", refresh="30s")


def _p99(metric: str, by: str = "") -> str:
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile(0.99, sum by ({group}) (rate({metric}_bucket[5m])))"


def pipeline_health() -> Json:
    """Throughput, lag, dead letters, latency and the deadline sweep (Prometheus)."""
    panels = [
        prom("timeseries", "Events consumed per second", {"{{event_type}}": (
            "sum by (event_type) (rate(ecm_events_consumed_total[5m]))")}, (0, 0, 12, 8), "ops"),
        prom("timeseries", "Consumer lag (records)", {"{{topic}}/{{partition}}": (
            "max by (topic, partition) (ecm_consumer_lag)")}, (12, 0, 12, 8)),
        prom("timeseries", "Dead letters per second by reason", {"{{reason}}": (
            "sum by (reason) (rate(ecm_events_dead_lettered_total[5m]))")}, (0, 8, 12, 8),
            "ops"),
        prom("timeseries", "Open alerts by kind", {"{{kind}}": (
            "sum by (kind) (ecm_alerts_open)")}, (12, 8, 12, 8)),
        prom("timeseries", "Processing latency p99", {"p99": _p99(
            "ecm_event_processing_seconds")}, (0, 16, 8, 8), "s"),
        prom("timeseries", "Sink flush latency p99", {"{{table}}": _p99(
            "ecm_sink_flush_seconds", "table")}, (8, 16, 8, 8), "s"),
        prom("timeseries", "Deadline sweep p99", {"p99": _p99(
            "ecm_deadline_sweep_seconds")}, (16, 16, 8, 8), "s"),
        prom("timeseries", "Sink failures per second", {"{{table}}": (
            "sum by (table) (rate(ecm_sink_failures_total[5m]))")}, (0, 24, 12, 8), "ops"),
        prom("timeseries", "HTTP requests per second", {"{{route}} {{status}}": (
            "sum by (route, status) (rate(ecm_http_requests_total[5m]))")}, (12, 24, 12, 8),
            "reqps"),
    ]
    return dashboard("ecm-pipeline-health", "ECM · Pipeline health", panels, [], "now-6h",
                     refresh="30s")


MACROS = ("$__timeFrom()", "$__timeTo()")
"""The Grafana macros the panels use; ``interpolate`` expands them as Grafana does."""


def interpolate(query: str, time_from: datetime, time_to: datetime,
                variables: dict[str, str]) -> str:  # fmt: skip
    """Expand ``query`` as Grafana's PostgreSQL datasource would, for tests and debugging.

    ``$__timeFrom()``/``$__timeTo()`` become quoted RFC 3339 UTC instants; ``$name`` of a
    single-value variable becomes its raw value (the panels quote it themselves).
    """

    def instant(at: datetime) -> str:
        return "'" + at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"

    query = query.replace("$__timeFrom()", instant(time_from))
    query = query.replace("$__timeTo()", instant(time_to))
    return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], query)


def variables_used(query: str) -> set[str]:
    """The ``$variables`` of ``query`` (macros excluded)."""
    for macro in MACROS:
        query = query.replace(macro, "")
    return set(re.findall(r"\$\{?(\w+)", query))


def dashboards() -> dict[str, Json]:
    """Every dashboard by its file name."""
    return {"contract-overview.json": contract_overview(),
            "provider-scorecard.json": provider_scorecard(),
            "missed-call-board.json": missed_call_board(),
            "pipeline-health.json": pipeline_health()}  # fmt: skip


def render(board: Json) -> str:
    """The file text of one dashboard."""
    return json.dumps(board, indent=2) + "\n"


def write(directory: Path) -> list[Path]:
    """Write every dashboard into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in dashboards().items():
        path = directory / name
        path.write_text(render(board))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - `make dashboards`
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/grafana/dashboards")):
        print(path)
