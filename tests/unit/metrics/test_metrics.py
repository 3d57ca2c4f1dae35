"""The metrics module: bounded labels, helper semantics, the HTTP middleware and server."""

from __future__ import annotations

import urllib.request

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from ecm import metrics
from ecm.settings import MetricsSettings


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _ecm_collectors() -> list[object]:
    names = REGISTRY._collector_to_names  # noqa: SLF001 - the registry has no public listing
    return [c for c, n in names.items() if any(x.startswith("ecm_") for x in n)]


def test_no_ecm_metric_has_a_per_visit_person_or_path_label() -> None:
    collectors = _ecm_collectors()
    assert len(collectors) >= 20
    for collector in collectors:
        labels = set(getattr(collector, "_labelnames", ()))
        assert not labels & metrics.FORBIDDEN_LABELS, (collector, labels)


def test_every_metric_declared_by_the_module_is_named_ecm_and_registered_once() -> None:
    declared = [
        v for v in vars(metrics).values() if hasattr(v, "_labelnames") and hasattr(v, "_name")
    ]
    names = [m._name for m in declared]
    assert all(n.startswith("ecm_") for n in names)
    assert len(names) == len(set(names))


def test_an_unknown_event_type_is_counted_as_other_not_as_a_new_series() -> None:
    before = _value("ecm_events_consumed_total", event_type="other")
    metrics.event_consumed("carer_checked_in")
    metrics.event_consumed("made_up_by_a_client_" + "x" * 40)
    assert _value("ecm_events_consumed_total", event_type="other") == before + 1
    assert _value("ecm_events_consumed_total", event_type="carer_checked_in") >= 1


def test_dead_letter_reason_must_be_one_of_the_fixed_set() -> None:
    metrics.dead_lettered(metrics.DeadLetterReason.SCHEMA_INVALID)
    assert _value("ecm_events_dead_lettered_total", reason="schema_invalid") >= 1
    with pytest.raises(ValueError):
        metrics.dead_lettered("anything")  # type: ignore[arg-type]


def test_raising_and_resolving_alerts_moves_the_open_gauge_and_never_below_zero() -> None:
    metrics.alert_raised("missed", "PU1", "LU1")
    metrics.alert_raised("missed", "PU1", None)
    assert _value("ecm_alerts_open", kind="missed", provider_id="PU1") == 2
    assert _value("ecm_alerts_raised_total", kind="missed", provider_id="PU1", lot_id="LU1") == 1
    assert _value("ecm_alerts_raised_total", kind="missed", provider_id="PU1", lot_id="") == 1
    for _ in range(3):
        metrics.alert_resolved("missed", "PU1")
    assert _value("ecm_alerts_open", kind="missed", provider_id="PU1") == 0
    assert _value("ecm_alerts_resolved_total", kind="missed") >= 3


def test_set_open_alerts_replaces_every_series() -> None:
    metrics.alert_raised("not_arrived", "PU2", "L")
    metrics.set_open_alerts({("not_arrived", "PU3"): 4})
    assert _value("ecm_alerts_open", kind="not_arrived", provider_id="PU2") == 0
    assert _value("ecm_alerts_open", kind="not_arrived", provider_id="PU3") == 4


def test_sink_flush_records_rows_latency_and_the_last_success_time() -> None:
    metrics.sink_flushed("visit_outcomes", 10, 0.02, now=1_700_000_000.0)
    metrics.sink_failed("visit_outcomes")
    assert _value("ecm_sink_last_success_timestamp_seconds") == 1_700_000_000.0
    assert _value("ecm_sink_rows_total", table="visit_outcomes") >= 10
    assert _value("ecm_sink_failures_total", table="visit_outcomes") >= 1
    assert _value("ecm_sink_flush_seconds_count", table="visit_outcomes") >= 1


def test_consumer_lag_is_per_partition_and_forgotten_on_revoke() -> None:
    metrics.set_consumer_lag("ecm.visit-events", 3, 120)
    metrics.set_consumer_lag("ecm.visit-events", 4, -5)
    assert _value("ecm_consumer_lag", topic="ecm.visit-events", partition="3") == 120
    assert _value("ecm_consumer_lag", topic="ecm.visit-events", partition="4") == 0
    metrics.forget_consumer_lag("ecm.visit-events", 3)
    metrics.forget_consumer_lag("ecm.visit-events", 99)
    assert REGISTRY.get_sample_value(
        "ecm_consumer_lag", {"topic": "ecm.visit-events", "partition": "3"}
    ) is None


def test_deadline_sweep_counts_due_deadlines_by_kind() -> None:
    before = _value("ecm_deadlines_due_total", kind="missed")
    metrics.deadline_sweep_done(0.003, {"missed": 2, "not_arrived": 0})
    assert _value("ecm_deadlines_due_total", kind="missed") == before + 2
    assert _value("ecm_deadline_sweep_seconds_count") >= 1


def test_worker_info_names_the_component() -> None:
    metrics.worker_started("worker", "1.2.3")
    assert _value("ecm_worker_info", component="worker", version="1.2.3") == 1


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/visits/{visit_id}")
    def visit(visit_id: str) -> dict[str, str]:
        return {"visit_id": visit_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(metrics.HttpMetricsMiddleware)
    return app


def test_middleware_labels_requests_by_route_template_not_raw_path() -> None:
    route = "/v1/visits/{visit_id}"
    before = _value("ecm_http_requests_total", method="GET", route=route, status="200")
    client = TestClient(_app())
    for visit_id in ("V1", "V2", "V3"):
        assert client.get(f"/v1/visits/{visit_id}").status_code == 200
    assert _value("ecm_http_requests_total", method="GET", route=route, status="200") == before + 3
    assert _value("ecm_http_request_seconds_count", route=route) >= 3
    assert REGISTRY.get_sample_value(
        "ecm_http_requests_total", {"method": "GET", "route": "/v1/visits/V1", "status": "200"}
    ) is None


def test_middleware_records_unmatched_paths_and_errors_with_bounded_labels() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    before_404 = _value("ecm_http_requests_total", method="GET", route="<unmatched>", status="404")
    before_500 = _value("ecm_http_requests_total", method="GET", route="/boom", status="500")
    assert client.get("/wp-admin/x.php").status_code == 404
    assert client.get("/boom").status_code == 500
    assert (
        _value("ecm_http_requests_total", method="GET", route="<unmatched>", status="404")
        == before_404 + 1
    )
    assert _value("ecm_http_requests_total", method="GET", route="/boom", status="500") == (
        before_500 + 1
    )


def test_api_hook_maps_a_raw_path_of_a_404_to_unmatched() -> None:
    hook = metrics.PrometheusApiMetrics()
    before = _value("ecm_http_requests_total", method="POST", route="<unmatched>", status="404")
    hook.request_done("POST", "/v1/no/such/thing", 404, 0.001)
    hook.events_accepted("batch", 7)
    assert (
        _value("ecm_http_requests_total", method="POST", route="<unmatched>", status="404")
        == before + 1
    )
    assert _value("ecm_api_events_accepted_total", source="batch") >= 7


def test_metrics_server_serves_the_default_registry() -> None:
    server, thread = metrics.start_metrics_server(MetricsSettings(host="127.0.0.1"), port=0)
    try:
        metrics.event_consumed("visit_planned")
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        assert 'ecm_events_consumed_total{event_type="visit_planned"}' in text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
