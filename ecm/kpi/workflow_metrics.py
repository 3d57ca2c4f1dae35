"""Prometheus metrics of closing the loop, read from PostgreSQL at scrape time.

A custom collector (``WorkflowCollector``): each scrape (at most one query round per
``ttl_seconds``) reads the workflow tables and yields gauges. Labels are bounded: provider
ids and reason codes are reference data; statuses, tiers, kinds and age buckets are fixed
sets. Registered by the API next to its ``/metrics`` (``register_workflow_collector``).

Metrics (names relied on by deploy/prometheus/rules):

* ``ecm_workflow_exceptions{provider_id,status,reason_code,age}`` exceptions by where they
  stand; ``reason_code`` is the explanation's (``none`` before one), ``age`` since detected:
  ``lt_1d``, ``1d_3d``, ``3d_7d``, ``gt_7d``;
* ``ecm_workflow_time_to_explain_seconds{quantile}`` (0.5, 0.9): from an exception's raise
  (``detected_at``) to its first explanation, over first explanations of the last 30 days;
  ``ecm_workflow_time_to_decide_seconds{quantile}``: from that explanation to the first
  decision after it, over decisions of the last 30 days; the same per provider as
  ``ecm_workflow_provider_time_to_explain_seconds{provider_id,quantile}`` and
  ``ecm_workflow_provider_time_to_decide_seconds{provider_id,quantile}``. Acts are read
  from ``workflow_acts``, leaving out those the engine refused where that can be told
  (see ``_SPANS``);
* ``ecm_workflow_alerts_acknowledged{kind,within_target}`` alerts raised in the last 30 days
  and acknowledged; within target when acknowledged before any escalation on timeout (the
  contract's own per-service minutes, applied by the engine: an ``escalated`` row of
  ``alert_history`` by ``system``);
* ``ecm_workflow_alerts_escalated{kind,tier}`` alerts of the last 30 days now above the
  provider's on-call; ``ecm_workflow_alerts_closed{kind,outcome_code}`` those closed;
* ``ecm_workflow_visits_verified_ratio{provider_id}`` share of visits of the last 30 local
  days that are verified;
* ``ecm_alerts_unacknowledged_past_escalation{kind,tier}`` open alerts (not resolved, not
  closed), not acknowledged, not monitor-only, that have been escalated above the provider's
  on-call, by the tier they are with. The engine escalates an unacknowledged alert at the
  time its contract rules say (``escalate_to_council_after_minutes``, per service), so
  the tier, not a fixed number of minutes, says it is past its escalation time;
* ``ecm_workflow_metrics_up`` 1 when the last read succeeded, else 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, LiteralString

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

log = logging.getLogger(__name__)

_EXCEPTIONS: LiteralString = """
SELECT provider_id, status, coalesce(reason_code, 'none'),
       CASE WHEN now() - detected_at < interval '1 day' THEN 'lt_1d'
            WHEN now() - detected_at < interval '3 days' THEN '1d_3d'
            WHEN now() - detected_at < interval '7 days' THEN '3d_7d'
            ELSE 'gt_7d' END,
       count(*)
FROM visit_exceptions GROUP BY 1, 2, 3, 4
"""
# Spans of each explained exception: raise -> first explanation -> first decision after it.
# The sink keeps only an exception's latest move (status_event_id) and the times of its
# last explanation and last decision the engine accepted (explained_at, decided_at), so an
# act later than those was refused (an accepted one would have moved the exception again)
# or is not judged yet, and is left out; earlier refused acts cannot be told apart. Where
# the acts are not stored yet, the moves' own times stand in.
_SPANS: LiteralString = """
WITH explained AS (
    SELECT x.exception_id, x.provider_id, x.detected_at, x.decided_at,
           coalesce((SELECT min(a.occurred_at) FROM workflow_acts a
                     WHERE a.exception_id = x.exception_id
                       AND a.event_type = 'exception_explained'
                       AND a.occurred_at <= x.explained_at), x.explained_at) AS explained_at
    FROM visit_exceptions x
    WHERE x.explained_at IS NOT NULL
), spans AS (
    SELECT e.provider_id, e.explained_at, d.decided_at,
           extract(epoch FROM e.explained_at - e.detected_at)::float8 AS to_explain,
           extract(epoch FROM d.decided_at - e.explained_at)::float8 AS to_decide
    FROM explained e
    LEFT JOIN LATERAL (
        SELECT coalesce(min(a.occurred_at), e.decided_at) AS decided_at
        FROM workflow_acts a
        WHERE a.exception_id = e.exception_id AND a.event_type = 'exception_decided'
          AND a.occurred_at >= e.explained_at AND a.occurred_at <= e.decided_at
    ) d ON d.decided_at >= e.explained_at
    WHERE e.explained_at >= e.detected_at
)
SELECT provider_id,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY to_explain) FILTER (WHERE recent_explain),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY to_explain) FILTER (WHERE recent_explain),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY to_decide) FILTER (WHERE recent_decide),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY to_decide) FILTER (WHERE recent_decide)
FROM (SELECT *, explained_at > now() - interval '30 days' AS recent_explain,
             decided_at > now() - interval '30 days' AS recent_decide FROM spans) s
GROUP BY GROUPING SETS ((provider_id), ())
"""
# Within target: acknowledged before the engine escalated it on timeout, if it did.
_ACKNOWLEDGED: LiteralString = """
SELECT a.kind,
       (NOT EXISTS (SELECT 1 FROM alert_history h
                    WHERE h.alert_id = a.alert_id AND h.action = 'escalated'
                      AND h.by_role = 'system' AND h.occurred_at < a.acknowledged_at))::text,
       count(*)
FROM alerts a
WHERE a.acknowledged_at IS NOT NULL AND a.raised_at > now() - interval '30 days'
GROUP BY 1, 2
"""
_ESCALATED: LiteralString = """
SELECT kind, tier, count(*) FROM alerts
WHERE tier <> 'provider_on_call' AND raised_at > now() - interval '30 days' GROUP BY 1, 2
"""
_CLOSED: LiteralString = """
SELECT kind, coalesce(outcome_code, 'none'), count(*) FROM alerts
WHERE closed_at IS NOT NULL AND raised_at > now() - interval '30 days' GROUP BY 1, 2
"""
_VERIFIED: LiteralString = """
SELECT provider_id, avg((verification = 'verified')::int)::float8 FROM visit_outcomes
WHERE local_date > current_date - 30 AND local_date <= current_date GROUP BY 1
"""
# The engine moved the tier when the contract's minutes passed unacknowledged; a tier
# above the provider's on-call with nobody acknowledging is what needs someone now.
_OVERDUE: LiteralString = """
SELECT kind, tier, count(*) FROM alerts
WHERE resolved_at IS NULL AND acknowledged_at IS NULL AND closed_at IS NULL
  AND NOT monitor_only AND raised_at IS NOT NULL AND tier <> 'provider_on_call'
GROUP BY 1, 2
"""


class WorkflowCollector(Collector):
    """Reads the workflow gauges from PostgreSQL at ``dsn``, at most once per ``ttl_seconds``."""

    def __init__(self, dsn: str, ttl_seconds: float = 15.0) -> None:
        self._dsn = dsn
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        """Yield the gauges (cached for ``ttl_seconds``); ``up`` 0 when the read failed."""
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                self._cached = (now, self._read())
            yield from self._cached[1]

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: the collector is not read at registration."""
        return iter(())

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily("ecm_workflow_metrics_up",
                               "1 when the workflow metrics were read from PostgreSQL.")
        try:
            with psycopg.connect(self._dsn, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SET statement_timeout = '5s'")
                metrics = self._families(conn)
        except psycopg.Error as exc:
            log.warning("workflow metrics not read: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [*metrics, up]

    def _families(self, conn: psycopg.Connection[Any]) -> list[Metric]:
        return [
            _gauge(conn, _EXCEPTIONS, {}, "ecm_workflow_exceptions",
                   "Exceptions by provider, workflow status, reason code and age.",
                   ["provider_id", "status", "reason_code", "age"]),
            *_durations(conn),
            _gauge(conn, _ACKNOWLEDGED, {}, "ecm_workflow_alerts_acknowledged",
                   "Alerts of the last 30 days acknowledged, before an escalation on "
                   "timeout (within target) or not.",
                   ["kind", "within_target"]),
            _gauge(conn, _ESCALATED, {}, "ecm_workflow_alerts_escalated",
                   "Alerts of the last 30 days escalated above the provider's on-call.",
                   ["kind", "tier"]),
            _gauge(conn, _CLOSED, {}, "ecm_workflow_alerts_closed",
                   "Alerts of the last 30 days closed, by outcome code.",
                   ["kind", "outcome_code"]),
            _gauge(conn, _VERIFIED, {}, "ecm_workflow_visits_verified_ratio",
                   "Share of visits of the last 30 local days that are verified.",
                   ["provider_id"]),
            _gauge(conn, _OVERDUE, {}, "ecm_alerts_unacknowledged_past_escalation",
                   "Open alerts not acknowledged, closed or monitor-only, escalated on "
                   "timeout to the tier they are with.", ["kind", "tier"]),
        ]  # fmt: skip


def _gauge(
    conn: psycopg.Connection[Any], sql: LiteralString, params: dict[str, Any], name: str,
    documentation: str, labels: list[str],
) -> GaugeMetricFamily:  # fmt: skip
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, value in conn.execute(sql, params).fetchall():
        family.add_metric([str(v) for v in values], float(value or 0))
    return family


_SPAN_HELP = {
    "explain": "Raise to first explanation",
    "decide": "First explanation to the decision on it",
}


def _durations(conn: psycopg.Connection[Any]) -> list[GaugeMetricFamily]:
    """The p50 and p90 of time to explain and to decide, overall and per provider."""
    overall = {step: GaugeMetricFamily(
        f"ecm_workflow_time_to_{step}_seconds", f"{_SPAN_HELP[step]}, last 30 days.",
        labels=["quantile"]) for step in _SPAN_HELP}
    per_provider = {step: GaugeMetricFamily(
        f"ecm_workflow_provider_time_to_{step}_seconds",
        f"{_SPAN_HELP[step]}, last 30 days, by provider.", labels=["provider_id", "quantile"])
        for step in _SPAN_HELP}  # fmt: skip
    for provider_id, *quantiles in conn.execute(_SPANS).fetchall():
        for i, step in enumerate(_SPAN_HELP):
            for quantile, value in zip(("0.5", "0.9"), quantiles[2 * i:2 * i + 2], strict=True):
                if value is None:
                    continue
                if provider_id is None:
                    overall[step].add_metric([quantile], float(value))
                else:
                    per_provider[step].add_metric([provider_id, quantile], float(value))
    return [*overall.values(), *per_provider.values()]


_registered: dict[int, WorkflowCollector] = {}


def register_workflow_collector(
    dsn: str, registry: CollectorRegistry = REGISTRY
) -> WorkflowCollector:
    """Register the collector once per registry (a second call returns the first)."""
    found = _registered.get(id(registry))
    if found is None:
        found = WorkflowCollector(dsn)
        registry.register(found)
        _registered[id(registry)] = found
    return found
