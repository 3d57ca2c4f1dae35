"""Every Prometheus metric of the service, declared once, with helpers to record them.

This is the metrics adapter: the worker, the API and the notifier import the helpers
below and never declare metrics of their own, so names, labels and buckets stay
consistent and the alert rules in ``deploy/prometheus/rules/`` can rely on them.

Cardinality is bounded by construction: labels take values from small fixed sets
(event types, dead-letter reasons, statuses, alert kinds, tables, route templates)
or from reference data that is bounded (providers × lots, about 130 × 20). Visit,
client and carer ids are never labels; ``FORBIDDEN_LABELS`` lists them and a unit test
checks every ``ecm_`` metric against it. A value outside a fixed set is recorded as
``other`` rather than growing a new series.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from enum import StrEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as pkg_version
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, Info, make_asgi_app, start_http_server

from ecm.contracts import EVENT_MODELS, AlertKindV2, VisitStatusV2
from ecm.settings import MetricsSettings

FORBIDDEN_LABELS = frozenset(
    {"visit_id", "client_id", "carer_id", "event_id", "alert_id", "exception_id", "path"}
)
"""Label names that would make a series per visit, person, event or raw URL."""

OTHER = "other"
UNMATCHED_ROUTE = "<unmatched>"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SINK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DeadLetterReason(StrEnum):
    """Why a record went to the dead-letter topic (the only values of ``reason``)."""

    INVALID_JSON = "invalid_json"
    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    PROCESSING_ERROR = "processing_error"
    REFUSED = "refused"
    """A valid act the workflow refuses (e.g. a decision on a settled exception)."""


class DeliveryOutcome(StrEnum):
    """What happened to one webhook attempt (the only values of ``outcome``)."""

    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


# --------------------------------------------------------------------------- worker

WORKER_INFO = Info("ecm_worker", "The ecm process: its component and version (value 1).")
EVENTS_CONSUMED = Counter(
    "ecm_events_consumed_total", "Events consumed by the stream processors.", ["event_type"]
)
EVENTS_DEAD_LETTERED = Counter(
    "ecm_events_dead_lettered_total", "Records sent to the dead-letter topic.", ["reason"]
)
VISIT_OUTCOMES = Counter(
    "ecm_visit_outcomes_total", "Visit outcomes emitted, by status.", ["status"]
)
ALERTS_RAISED = Counter(
    "ecm_alerts_raised_total", "Alerts raised.", ["kind", "provider_id", "lot_id"]
)
ALERTS_RESOLVED = Counter("ecm_alerts_resolved_total", "Alerts resolved.", ["kind"])
ALERTS_OPEN = Gauge(
    "ecm_alerts_open", "Alerts raised and not yet resolved.", ["kind", "provider_id"]
)
EVENT_PROCESSING = Histogram(
    "ecm_event_processing_seconds",
    "Time to process one consumed event (decode, handle, route).",
    buckets=_LATENCY_BUCKETS,
)
SINK_FLUSH = Histogram(
    "ecm_sink_flush_seconds", "Time to flush one sink batch.", ["table"], buckets=_SINK_BUCKETS
)
SINK_ROWS = Counter("ecm_sink_rows_total", "Rows written by the sink.", ["table"])
SINK_FAILURES = Counter("ecm_sink_failures_total", "Sink flushes that failed.", ["table"])
SINK_LAST_SUCCESS = Gauge(
    "ecm_sink_last_success_timestamp_seconds",
    "Unix time of the last successful sink flush (0 before the first).",
)
RECALCULATIONS_RECORDED = Counter(
    "ecm_recalculations_recorded_total",
    "Recalculations the sink recorded by itself after a backdated rule or rate.",
)
RECALCULATIONS_FAILED = Counter(
    "ecm_recalculation_failures_total",
    "The sink's own recalculations that failed (each retried later, spaced out).",
)
CONSUMER_LAG = Gauge(
    "ecm_consumer_lag", "Records behind the log end, per partition.", ["topic", "partition"]
)
DEADLINE_SWEEP = Histogram(
    "ecm_deadline_sweep_seconds", "Time of one deadline-timer sweep.", buckets=_LATENCY_BUCKETS
)
DEADLINES_DUE = Counter(
    "ecm_deadlines_due_total", "Deadlines found due by the timer sweep.", ["kind"]
)

# --------------------------------------------------------------------------- HTTP API

HTTP_REQUESTS = Counter(
    "ecm_http_requests_total", "HTTP requests served.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "ecm_http_request_seconds", "HTTP request latency.", ["route"], buckets=_LATENCY_BUCKETS
)
API_EVENTS_ACCEPTED = Counter(
    "ecm_api_events_accepted_total", "Events acknowledged by Kafka via the API.", ["source"]
)

# --------------------------------------------------------------------------- notifier

WEBHOOK_ATTEMPTS = Counter(
    "ecm_webhook_deliveries_total",
    "Webhook delivery attempts, by target (provider or duty_team) and outcome.",
    ["target", "outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "ecm_webhook_delivery_seconds", "Time of one webhook POST.", buckets=_SINK_BUCKETS
)
WEBHOOK_OUTBOX_ENQUEUED = Counter(
    "ecm_webhook_outbox_enqueued_total", "Deliveries written to the outbox.", ["event"]
)
NOTIFY_SKIPPED = Counter(
    "ecm_notify_alerts_skipped_total",
    "Alerts read by the notifier and not sent (no endpoint, too old, unreadable).",
    ["reason"],
)

_EVENT_TYPES = frozenset(EVENT_MODELS)
_ALERT_KINDS = frozenset(k.value for k in AlertKindV2)
_STATUSES = frozenset(s.value for s in VisitStatusV2)
_DEADLINE_KINDS = _ALERT_KINDS | {"escalation", "onward"}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TARGETS = frozenset({"provider", "duty_team", "manager"})
_SKIP_REASONS = frozenset({"no_endpoint", "too_old", "unreadable", "not_notified",
                           "monitor_only"})
_OUTBOX_EVENTS = frozenset({"raised", "resolved", "escalated", "acknowledged", "closed"})


def _one_of(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


def event_consumed(event_type: str) -> None:
    """Count one consumed event; an unknown ``event_type`` is counted as ``other``."""
    EVENTS_CONSUMED.labels(_one_of(event_type, _EVENT_TYPES)).inc()


def dead_lettered(reason: DeadLetterReason) -> None:
    """Count one record sent to the dead-letter topic."""
    EVENTS_DEAD_LETTERED.labels(DeadLetterReason(reason).value).inc()


def outcome_recorded(status: str) -> None:
    """Count one emitted visit outcome by its status (a ``VisitStatusV2`` value)."""
    VISIT_OUTCOMES.labels(_one_of(str(status), _STATUSES)).inc()


def alert_raised(kind: str, provider_id: str, lot_id: str | None) -> None:
    """Count one raised alert and add it to the open-alerts gauge.

    ``lot_id`` is ``""`` when unknown. Use ``set_open_alerts`` instead of the gauge
    side when the caller can count open alerts from its state (e.g. after a restart).
    """
    kind = _one_of(str(kind), _ALERT_KINDS)
    ALERTS_RAISED.labels(kind, provider_id, lot_id or "").inc()
    ALERTS_OPEN.labels(kind, provider_id).inc()


def alert_resolved(kind: str, provider_id: str) -> None:
    """Count one resolved alert and take it off the open-alerts gauge (never below 0)."""
    kind = _one_of(str(kind), _ALERT_KINDS)
    ALERTS_RESOLVED.labels(kind).inc()
    gauge = ALERTS_OPEN.labels(kind, provider_id)
    if gauge._value.get() > 0:  # prometheus_client has no public getter
        gauge.dec()


def set_open_alerts(counts: Mapping[tuple[str, str], int]) -> None:
    """Replace the open-alerts gauge with ``{(kind, provider_id): count}`` from state."""
    ALERTS_OPEN.clear()
    for (kind, provider_id), count in counts.items():
        ALERTS_OPEN.labels(_one_of(str(kind), _ALERT_KINDS), provider_id).set(count)


def observe_processing(seconds: float) -> None:
    """Record the time taken to process one event."""
    EVENT_PROCESSING.observe(seconds)


def sink_flushed(table: str, rows: int, seconds: float, now: float | None = None) -> None:
    """Record a successful sink flush of ``rows`` rows into ``table``.

    Args:
        table: the table written (a fixed set: the sink's tables).
        rows: rows written by this flush.
        seconds: how long the flush took.
        now: Unix time of success (default: the wall clock).

    """
    SINK_FLUSH.labels(table).observe(seconds)
    SINK_ROWS.labels(table).inc(rows)
    SINK_LAST_SUCCESS.set(time.time() if now is None else now)


def sink_failed(table: str) -> None:
    """Count one failed sink flush into ``table``."""
    SINK_FAILURES.labels(table).inc()


def set_consumer_lag(topic: str, partition: int, lag: int) -> None:
    """Set the lag (records behind the log end) of one assigned partition."""
    CONSUMER_LAG.labels(topic, str(partition)).set(max(lag, 0))


def forget_consumer_lag(topic: str, partition: int) -> None:
    """Drop a partition's lag series (call when the partition is revoked)."""
    try:
        CONSUMER_LAG.remove(topic, str(partition))
    except KeyError:
        pass


def deadline_sweep_done(seconds: float, due: Mapping[str, int] | None = None) -> None:
    """Record one deadline-timer sweep and the deadlines it found due, by alert kind."""
    DEADLINE_SWEEP.observe(seconds)
    for kind, count in (due or {}).items():
        if count:
            DEADLINES_DUE.labels(_one_of(str(kind), _DEADLINE_KINDS)).inc(count)


def worker_started(component: str, version: str = "") -> None:
    """Publish ``ecm_worker_info{component, version} 1`` for this process."""
    if not version:
        try:
            version = pkg_version("ecm")
        except PackageNotFoundError:
            version = "unknown"
    WORKER_INFO.info({"component": component, "version": version})


def http_request_done(method: str, route: str, status: int, seconds: float) -> None:
    """Record one HTTP request; ``route`` must be the route template, not the raw path."""
    method = _one_of(method.upper(), _METHODS)
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)


def webhook_attempted(target: str, outcome: DeliveryOutcome, seconds: float) -> None:
    """Record one webhook POST to a ``provider`` or the ``duty_team``."""
    WEBHOOK_ATTEMPTS.labels(_one_of(target, _TARGETS), DeliveryOutcome(outcome).value).inc()
    WEBHOOK_LATENCY.observe(seconds)


def outbox_enqueued(event: str, count: int = 1) -> None:
    """Count deliveries newly written to the outbox (raised, resolved, escalated, …)."""
    WEBHOOK_OUTBOX_ENQUEUED.labels(_one_of(event, _OUTBOX_EVENTS)).inc(count)


def notify_skipped(reason: str) -> None:
    """Count an alert the notifier did not send, by reason."""
    NOTIFY_SKIPPED.labels(_one_of(reason, _SKIP_REASONS)).inc()


# --------------------------------------------------------------------------- exposure


def start_metrics_server(
    settings: MetricsSettings, port: int | None = None
) -> tuple[WSGIServer, Thread]:
    """Serve ``/metrics`` of the default registry on ``settings.host``.

    Args:
        settings: where to listen (``ECM_METRICS__HOST`` / ``ECM_METRICS__PORT``).
        port: override the port (``0`` picks a free one; read it from
            ``server.server_port``).

    Returns:
        The server and its daemon thread; call ``server.shutdown()`` to stop it.

    """
    return start_http_server(settings.port if port is None else port, addr=settings.host)


def metrics_asgi_app() -> Any:
    """Return an ASGI app serving the default registry, to mount at ``/metrics`` in the API."""
    return make_asgi_app()


class PrometheusApiMetrics:
    """The API's metrics hook (``ecm.api.metrics.ApiMetrics``) backed by Prometheus.

    A request that matched no route is recorded under ``<unmatched>`` when it
    answered 404 or 405, so scanners cannot create a series per URL.
    """

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished HTTP request."""
        if status in (404, 405) or not route.startswith("/"):
            route = UNMATCHED_ROUTE
        http_request_done(method, route, status, seconds)

    def events_accepted(self, source: str, count: int) -> None:
        """Count events acknowledged by Kafka, by ``source`` (events, batch, csv, workflow)."""
        sources = frozenset({"events", "batch", "csv", "workflow"})
        API_EVENTS_ACCEPTED.labels(_one_of(source, sources)).inc(count)


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpMetricsMiddleware:
    """Plain ASGI middleware recording ``ecm_http_requests_total`` and latency.

    The route label is the matched route's template (``/v1/visits/{visit_id}``),
    read from ``scope["route"]`` after the app ran; unmatched requests are recorded
    as ``<unmatched>``. An exception from the app is recorded as a 500 and re-raised.
    """

    def __init__(self, app: ASGIApp, skip_routes: Iterable[str] = ("/metrics",)) -> None:
        self.app = app
        self.skip_routes = frozenset(skip_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request through the app and record it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            route = route_template(scope)
            if route not in self.skip_routes:
                http_request_done(scope["method"], route, status, time.perf_counter() - started)


def route_template(scope: Mapping[str, Any]) -> str:
    """Return the template of the route that matched ``scope``, or ``<unmatched>``."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path.startswith("/"):
        return path
    return UNMATCHED_ROUTE
