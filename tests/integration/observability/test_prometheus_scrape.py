"""A real Prometheus server scrapes ecm's metrics endpoint and answers queries about it.

The server gets its own config, data dir and loopback port, runs for at most a minute,
and is stopped at the end. Set ``ECM_TEST_WORKER_METRICS=host:port`` to also require a
running worker's endpoint to be scraped (``up == 1``) and to expose ``ecm_worker_info``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from ecm import metrics
from ecm.settings import MetricsSettings

from .prom import PROM_DIR, binary, free_port

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
DEADLINE_SECONDS = 60


@contextmanager
def prometheus(
    tmp: Path, targets: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run a Prometheus server scraping ``{job: host:port}``; yield its URL and process."""
    port = free_port()
    jobs = "\n".join(
        f"  - job_name: {job}\n    static_configs: [{{targets: ['{target}']}}]"
        for job, target in targets.items()
    )
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{PROM_DIR / 'rules'}/*.yml']\n"
        f"scrape_configs:\n{jobs}\n"
    )
    log = (tmp / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{url}/-/ready", raw=True), "prometheus ready", proc, tmp)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _get(url: str, raw: bool = False) -> Any:
    with urllib.request.urlopen(url, timeout=3) as resp:
        body = resp.read()
    return body if raw else json.loads(body)


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    data = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert data["status"] == "success", data
    return list(data["data"]["result"])


def _wait(check: Any, what: str, proc: subprocess.Popen[bytes], tmp: Path) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    last: Any = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited: {(tmp / 'prometheus.log').read_text()[-2000:]}")
        try:
            last = check()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


def test_prometheus_scrapes_the_ecm_metrics_endpoint_and_returns_the_values(
    tmp_path: Path,
) -> None:
    server, thread = metrics.start_metrics_server(MetricsSettings(host="127.0.0.1"), port=0)
    targets = {"ecm-worker": f"127.0.0.1:{server.server_port}"}
    worker = os.environ.get("ECM_TEST_WORKER_METRICS")
    if worker:
        targets["ecm-worker-live"] = worker
    try:
        metrics.worker_started("test", "0.0.0-test")
        for _ in range(5):
            metrics.event_consumed("visit_changed")
        metrics.alert_raised("missed", "PSCRAPE", "LSCRAPE")
        expected = REGISTRY.get_sample_value(
            "ecm_events_consumed_total", {"event_type": "visit_changed"}
        )
        with prometheus(tmp_path, targets) as (base, proc):
            result = _wait(
                lambda: _query(base, 'ecm_events_consumed_total{event_type="visit_changed"}'),
                "the scraped counter",
                proc,
                tmp_path,
            )
            assert float(result[0]["value"][1]) == expected
            assert result[0]["metric"]["job"] == "ecm-worker"
            up = _query(base, 'up{job="ecm-worker"}')
            assert [float(r["value"][1]) for r in up] == [1.0]
            raised = _query(base, 'ecm_alerts_raised_total{provider_id="PSCRAPE"}')
            assert raised[0]["metric"]["lot_id"] == "LSCRAPE"
            rules = _get(f"{base}/api/v1/rules")["data"]["groups"]
            assert any(r["name"] == "EcmMissedCall" for g in rules for r in g["rules"])
            if worker:
                live = _wait(
                    lambda: _query(base, 'up{job="ecm-worker-live"} == 1'),
                    "the running worker scraped",
                    proc,
                    tmp_path,
                )
                assert live
                assert _query(base, 'ecm_worker_info{job="ecm-worker-live"}')
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

