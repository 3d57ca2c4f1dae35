"""A real Prometheus server scrapes a real ``ecm worker`` and answers queries about it.

The worker runs as a subprocess with its own topic prefix, database, state directory and
metrics port (``tests/pipeline.py``), and is fed valid and malformed visit events.
Prometheus gets its own config, data dir and loopback port, scrapes the worker every
second as job ``ecm-worker`` (the job the alert rules watch), loads the repository's
alert rules, and is queried over its HTTP API. Both are stopped at the end, pass or fail.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pipeline import Pipeline
from support import free_port, fresh_database

from ecm.contracts.examples import examples
from ecm.contracts.workflow import WORKFLOW_ACTS
from ecm.topics import REFERENCE, VISIT_EVENTS, route

from .prom import PROM_DIR, binary

pytestmark = [pytest.mark.prometheus, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
JOB = "ecm-worker"
DEADLINE_SECONDS = 45
MALFORMED = {
    "invalid_json": b"{not json",
    "unknown_event_type": b'{"event_type": "carer_teleported", "event_id": "x"}',
    "schema_invalid": b'{"event_type": "carer_checked_in", "event_id": "e1"}',
}


@dataclass
class Worker:
    """A running ``ecm worker`` and the port of its ``/metrics``."""

    pipeline: Pipeline
    metrics_port: int

    def check_alive(self) -> None:
        process = self.pipeline.workers["1"]
        if process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}): {self.pipeline.tail('1')}")


@dataclass
class Prometheus:
    """A running Prometheus server."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"prometheus exited: {self.log.read_text()[-2000:]}")

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = _get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert data["status"] == "success", data
        return list(data["data"]["result"])

    def values(self, expr: str, label: str) -> dict[str, float]:
        """Return ``{value of label: sample value}`` of an instant query."""
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}


@pytest.fixture()
def worker(kafka_bootstrap: str, test_dsn: str, tmp_path: Path) -> Iterator[Worker]:
    """Start one worker (replay clock: no wall-clock deadlines) on its own everything."""
    state_dir = tmp_path / "worker"
    state_dir.mkdir()
    with fresh_database(test_dsn, prefix="ecm_prom") as dsn:
        pipeline = Pipeline(kafka_bootstrap, dsn, state_dir)
        pipeline.create_topics()
        port = free_port()
        try:
            pipeline.start_worker("1", clock="replay", metrics_port=port)
            yield Worker(pipeline, port)
        finally:
            pipeline.stop_all()


@pytest.fixture()
def prometheus(worker: Worker, tmp_path: Path) -> Iterator[Prometheus]:
    """Start Prometheus scraping the worker every second, with the repository's rules."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{PROM_DIR / 'rules'}/*.yml']\n"
        "scrape_configs:\n"
        f"  - job_name: {JOB}\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{worker.metrics_port}']}}]\n"
    )
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait(lambda: _get(f"{server.url}/-/ready", raw=True), "prometheus ready", [server])
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _get(url: str, raw: bool = False) -> Any:
    with urllib.request.urlopen(url, timeout=3) as resp:
        body = resp.read()
    return body if raw else json.loads(body)


def _wait(
    check: Callable[[], Any],
    what: str,
    watched: Sequence[Worker | Prometheus],
    show: Callable[[], object] | None = None,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail early if a process died.

    On timeout the failure shows ``show()`` if given, else what ``check`` last returned.
    """
    deadline = time.monotonic() + DEADLINE_SECONDS
    last: Any = None
    while time.monotonic() < deadline:
        for process in watched:
            process.check_alive()
        try:
            last = check()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    if show is not None:
        last = show()
    pytest.fail(f"timed out after {DEADLINE_SECONDS}s waiting for {what}; last: {last!r}")


def _settled(
    prometheus: Prometheus,
    expr: str,
    label: str,
    expected: dict[str, float],
    watched: Sequence[Worker | Prometheus],
) -> dict[str, float]:
    """Wait until ``prometheus.values(expr, label)`` equals ``expected``; return the last."""
    last: dict[str, float] = {}

    def check() -> bool:
        nonlocal last
        last = prometheus.values(expr, label)
        return last == expected

    _wait(check, f"{expr} by {label} == {expected}", watched, show=lambda: last)
    return last


def test_prometheus_scrapes_a_running_worker_and_returns_its_event_and_dead_letter_counts(
    worker: Worker, prometheus: Prometheus
) -> None:
    # People's acts about visits the examples never planned would be refused (dead-letter
    # reason "refused", tested in tests/unit/visits): the feed is facts only.
    feed = [e for e in examples() if route(e).topic in (REFERENCE, VISIT_EVENTS)
            and not isinstance(e, WORKFLOW_ACTS)]
    visit_events = [e for e in feed if route(e).topic == VISIT_EVENTS]
    assert visit_events
    worker.pipeline.send(feed, MALFORMED.values())
    watched: list[Worker | Prometheus] = [worker, prometheus]

    up = _wait(lambda: prometheus.values(f'up{{job="{JOB}"}} == 1', "job"), "the worker up",
               watched)
    worker.pipeline.wait_until_idle(timeout_s=DEADLINE_SECONDS, settle_s=2)
    # Everything is processed; the next scrape has the final counts (a scrape per second).
    counts = Counter(e.event_type for e in visit_events)
    consumed_expected = {event_type: float(n) for event_type, n in counts.items()}
    dead_expected = {reason: 1.0 for reason in MALFORMED}
    consumed = _settled(prometheus, f'ecm_events_consumed_total{{job="{JOB}"}}', "event_type",
                        consumed_expected, watched)
    dead = _settled(prometheus, f'ecm_events_dead_lettered_total{{job="{JOB}"}}', "reason",
                    dead_expected, watched)

    assert up == {JOB: 1.0}
    assert consumed == consumed_expected
    assert dead == dead_expected
    assert prometheus.values(f'sum(ecm_events_consumed_total{{job="{JOB}"}})', "") == {
        "": float(len(visit_events))
    }
    assert prometheus.values(f'ecm_worker_info{{job="{JOB}"}}', "component") == {"worker": 1.0}
    rules = _get(f"{prometheus.url}/api/v1/rules")["data"]["groups"]
    assert any(r["name"] == "EcmWorkerDown" for g in rules for r in g["rules"])
