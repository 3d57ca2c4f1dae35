"""Prometheus metrics of closing the loop, read from PostgreSQL at scrape time.

A custom collector (``WorkflowCollector``): each scrape (at most one query round per
``ttl_seconds``) reads the workflow tables and yields gauges. Labels are bounded: provider
ids and reason codes are reference data; statuses, tiers, kinds and age buckets are fixed
sets. Registered by the API next to its ``/metrics`` (``register_workflow_collector``).

Metrics (names relied on by deploy/prometheus/rules):

* ``ecm_workflow_exceptions{provider_id,status,reason_code,age}`` exceptions by where they
  stand; ``reason_code`` is the explanation's (``none`` before one), ``age`` since detected:
  ``lt_1d``, ``1d_3d``, ``3d_7d``, ``gt_7d``;
* ``ecm_workflow_time_to_explain_seconds{quantile}`` and
  ``ecm_workflow_time_to_decide_seconds{quantile}`` (0.5, 0.9) over the last 30 days;
* ``ecm_workflow_alerts_acknowledged{kind,within_target}`` alerts raised in the last 30 days
  and acknowledged, within the escalation time to the council or not;
* ``ecm_workflow_alerts_escalated{kind,tier}`` alerts of the last 30 days now above the
  provider's on-call; ``ecm_workflow_alerts_closed{kind,outcome_code}`` those closed;
* ``ecm_workflow_visits_verified_ratio{provider_id}`` share of visits of the last 30 local
  days that are verified;
* ``ecm_alerts_unacknowledged_past_escalation{kind,tier}`` open alerts, not acknowledged,
  not closed, not monitor-only, older than their current tier's escalation time;
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

from ecm.domain.workflow import EscalationTimings

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
_DURATIONS: LiteralString = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM explained_at - detected_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM explained_at - detected_at)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - explained_at))
           FILTER (WHERE decided_at >= explained_at),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - explained_at))
           FILTER (WHERE decided_at >= explained_at)
FROM visit_exceptions
WHERE explained_at IS NOT NULL AND explained_at >= detected_at
  AND explained_at > now() - interval '30 days'
"""
_ACKNOWLEDGED: LiteralString = """
SELECT kind, (acknowledged_at <= raised_at + make_interval(mins => %(target)s))::text, count(*)
FROM alerts
WHERE acknowledged_at IS NOT NULL AND raised_at > now() - interval '30 days'
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
# The tier's escalation time (from the raise): council_duty after the first timing, the
# manager after the second; a manager's alert is overdue once past the second.
_OVERDUE: LiteralString = """
SELECT kind, tier, count(*) FROM alerts
WHERE resolved_at IS NULL AND acknowledged_at IS NULL AND closed_at IS NULL
  AND NOT monitor_only AND raised_at IS NOT NULL
  AND now() > raised_at + make_interval(mins => CASE tier
        WHEN 'provider_on_call' THEN %(council)s ELSE %(manager)s END)
GROUP BY 1, 2
"""


class WorkflowCollector(Collector):
    """Reads the workflow gauges from PostgreSQL at ``dsn``, at most once per ``ttl_seconds``."""

    def __init__(self, dsn: str, ttl_seconds: float = 15.0,
                 timings: EscalationTimings | None = None) -> None:  # fmt: skip
        self._dsn = dsn
        self._ttl = ttl_seconds
        self._timings = timings or EscalationTimings()
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
        t = self._timings
        return [
            _gauge(conn, _EXCEPTIONS, {}, "ecm_workflow_exceptions",
                   "Exceptions by provider, workflow status, reason code and age.",
                   ["provider_id", "status", "reason_code", "age"]),
            *_durations(conn),
            _gauge(conn, _ACKNOWLEDGED, {"target": t.council_after_minutes},
                   "ecm_workflow_alerts_acknowledged",
                   "Alerts of the last 30 days acknowledged, within target or not.",
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
            _gauge(conn, _OVERDUE, {"council": t.council_after_minutes,
                                    "manager": t.manager_after_minutes},
                   "ecm_alerts_unacknowledged_past_escalation",
                   "Open alerts not acknowledged, closed or monitor-only, past their "
                   "tier's escalation time.", ["kind", "tier"]),
        ]  # fmt: skip


def _gauge(
    conn: psycopg.Connection[Any], sql: LiteralString, params: dict[str, Any], name: str,
    documentation: str, labels: list[str],
) -> GaugeMetricFamily:  # fmt: skip
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, value in conn.execute(sql, params).fetchall():
        family.add_metric([str(v) for v in values], float(value or 0))
    return family


def _durations(conn: psycopg.Connection[Any]) -> list[GaugeMetricFamily]:
    row = conn.execute(_DURATIONS).fetchone() or (None, None, None, None)
    explain = GaugeMetricFamily("ecm_workflow_time_to_explain_seconds",
                                "Detection to explanation, last 30 days.", labels=["quantile"])
    decide = GaugeMetricFamily("ecm_workflow_time_to_decide_seconds",
                               "Explanation to decision, last 30 days.", labels=["quantile"])
    for family, (p50, p90) in ((explain, row[0:2]), (decide, row[2:4])):
        for quantile, value in (("0.5", p50), ("0.9", p90)):
            if value is not None:
                family.add_metric([quantile], float(value))
    return [explain, decide]


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
