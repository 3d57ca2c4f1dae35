"""Real stream workers against the real broker and database (the stream and observability tests)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from psycopg.rows import dict_row

from ecm import contracts as c
from ecm.domain.kpis import ROTA_COLUMNS
from ecm.kafka.admin import ensure_topics, pipeline_lag, pipeline_lags, total_lag
from ecm.kafka.connection import client_options
from ecm.kafka.publish import publish_replay
from ecm.kpi import KPI_COLUMNS, Period, rota_realism, weekly_kpis
from ecm.replay import replay_file
from ecm.report.pack import cell
from ecm.settings import KafkaSettings
from ecm.storage.records import OUTCOME_EVENT_COLUMNS, outcome_json
from ecm.topics import DEADLINE_COMMANDS, OUTCOMES, VISIT_EVENTS, route, worker_group

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Pipeline:
    """One isolated pipeline: its own topic prefix, database and state directory."""

    bootstrap: str
    dsn: str
    state_dir: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    partitions: int = 4
    security: dict[str, str] = field(default_factory=dict)  # KafkaSettings security fields
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # more settings, ECM_*

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap, topic_prefix=self.prefix,
                             partitions=self.partitions, **self.security)  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        return os.environ | {
            "ECM_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
            "ECM_KAFKA__TOPIC_PREFIX": self.prefix,
            "ECM_KAFKA__PARTITIONS": str(self.partitions),
            "ECM_DB__DSN": self.dsn,
            "ECM_STATE_DIR": str(self.state_dir),
        } | {f"ECM_KAFKA__{k.upper()}": v for k, v in self.security.items()} | self.environment

    def create_topics(self) -> None:
        ensure_topics(self.kafka)

    def publish(self, path: Path) -> None:
        with path.open("rb") as lines:
            publish_replay(lines, self.kafka)

    def send(self, events: Iterable[c.ContractEvent], raw: Iterable[bytes] = ()) -> None:
        """Publish events where ``route`` says, and ``raw`` bytes to the visit-events topic."""
        producer = KafkaProducer(**client_options(self.kafka), acks="all")
        try:
            for event in events:
                target = route(event)
                producer.send(self.kafka.topic(target.topic), key=target.key.encode(),
                              value=c.dump_event(event))  # fmt: skip
            for value in raw:
                producer.send(self.kafka.topic(VISIT_EVENTS), key=b"V-bad", value=value)
            producer.flush()
        finally:
            producer.close()

    def start_worker(
        self, worker_id: str = "1", clock: str = "replay", metrics_port: int = 0, sink: bool = True
    ) -> None:
        self._start(worker_id, "worker", "--worker-id", worker_id, "--clock", clock,
                    "--metrics-port", str(metrics_port), *([] if sink else ["--no-sink"]))

    def start_sink(self, sink_id: str = "sink") -> None:
        """``ecm sink`` apart, for workers started with ``sink=False``; stopped like one."""
        self._start(sink_id, "sink", "--metrics-port", "0")

    def _start(self, name: str, *command: str) -> None:
        log = (self.state_dir / f"worker-{name}.log").open("ab")
        self.workers[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "ecm"), *command, "--loglevel", "warning"],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )

    def kill_worker(self, worker_id: str = "1", sig: int = signal.SIGKILL) -> None:
        """Stop a worker (SIGTERM waits for a clean stop, then kills)."""
        process = self.workers.pop(worker_id)
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def scrape_metrics(self, port: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            return reply.read().decode()

    def stop_all(self) -> None:
        for worker_id in list(self.workers):
            process = self.workers[worker_id]
            if process.poll() is None:
                self.kill_worker(worker_id, signal.SIGTERM)
            else:
                self.workers.pop(worker_id)

    def lag(self) -> int:
        """Messages the workers (agents and database sink) have not committed yet."""
        return pipeline_lag(self.kafka)

    def wait_until_idle(self, timeout_s: float = 300, settle_s: float = 4) -> None:
        """Wait until every input is committed (and stays so for ``settle_s``)."""
        deadline, idle_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            for worker_id, process in self.workers.items():
                if process.poll() is not None:
                    raise AssertionError(f"worker {worker_id} exited: {self.tail(worker_id)}")
            if self.lag() == 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= settle_s:
                    return
            else:
                idle_since = None
            time.sleep(1)
        raise AssertionError(f"pipeline not idle after {timeout_s}s: {self.behind()}")

    def behind(self) -> str:
        """What each consumer group has not committed, by partition, and the workers' logs."""
        lags = pipeline_lags(self.kafka)
        told = [f"lag {total_lag(lags)}"]
        told += [f"{group} {tp.topic}[{tp.partition}]: {n}"
                 for group, by in lags.items() for tp, n in sorted(by.items())]
        told += [f"--- worker {w} (last 3,000 characters):\n{self.tail(w)}" for w in self.workers]
        return "\n".join(told)

    def wait_for_progress(self, below: int, timeout_s: float = 300) -> None:
        """Wait until the workers have committed enough that the lag is under ``below``."""
        deadline = time.monotonic() + timeout_s
        while self.lag() >= below:
            if time.monotonic() > deadline:
                raise AssertionError(f"no progress below {below} in {timeout_s}s")
            time.sleep(0.5)

    def members(self) -> int:
        """Workers in the agents' consumer group once it is stable (0 while rebalancing)."""
        admin = KafkaAdminClient(**client_options(self.kafka))
        try:
            name = worker_group(self.kafka)
            group = admin.describe_groups([name])[name]
        except KafkaError as exc:  # a coordinator not ready yet: no members yet
            if not exc.retriable:
                raise
            return 0
        finally:
            admin.close()
        return len(group.get("members") or []) if group.get("group_state") == "Stable" else 0

    def wait_for_members(self, count: int, timeout_s: float = 120) -> None:
        """Wait until ``count`` workers share the partitions (the group is stable)."""
        deadline = time.monotonic() + timeout_s
        while self.members() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} workers not in the group after {timeout_s}s")
            time.sleep(0.2)

    def log(self, worker_id: str) -> str:
        path = self.state_dir / f"worker-{worker_id}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tail(self, worker_id: str) -> str:
        return self.log(worker_id)[-3000:]

    def story(self, visit_id: str) -> str:
        """Every message keyed by a visit, topic by topic, to explain a failed comparison.

        Its inputs and commands (with offsets), each outcome revision published, and each
        state of it the workers wrote to the visits table's changelog (events, last
        judgement and the message that last changed it).
        """
        changelog = f"{worker_group(self.kafka)}-visits-changelog"
        topics = [self.kafka.topic(VISIT_EVENTS), self.kafka.topic(DEADLINE_COMMANDS),
                  self.kafka.topic(OUTCOMES), changelog]
        consumer = KafkaConsumer(**client_options(self.kafka), group_id=None,
                                 enable_auto_commit=False, consumer_timeout_ms=3000)
        lines: list[str] = []
        try:
            parts = [TopicPartition(t, p) for t in topics
                     for p in sorted(consumer.partitions_for_topic(t) or ())]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends = consumer.end_offsets(parts)
            for message in consumer:
                if message.key == visit_id.encode():
                    lines.append(f"  {message.topic.removeprefix(self.prefix + '-')}"
                                 f"[{message.partition}]@{message.offset}"
                                 f" t={message.timestamp} {_gist(message.value)}")
                if all(consumer.position(tp) >= ends[tp] for tp in parts):
                    break
        finally:
            consumer.close()
        return f"story of {visit_id}:\n" + "\n".join(lines)


# ---------------------------------------------------------------- what was derived


@dataclass
class Derived:
    """Outcomes, alerts, open exceptions, KPI and rota realism rows, comparable across
    the two paths."""

    outcomes: dict[str, dict[str, Any]]
    alerts: dict[str, tuple[str | None, str | None, str | None]]
    exceptions: set[str]
    kpis: list[list[str]]
    rota: list[list[str]] = field(default_factory=list)


def from_replay(input_path: Path, out_dir: Path) -> Derived:
    """Run ``ecm replay`` in process and read its files."""
    replay_file(input_path, out_dir)
    outcomes = {o["visit_id"]: o for o in _jsonl(out_dir / "outcomes.jsonl")}
    alerts: dict[str, list[str | None]] = {}
    for record in _jsonl(out_dir / "alerts.jsonl"):
        entry = alerts.setdefault(record["alert_id"], [None, None, None])
        if record["event_type"] == "alert_raised":
            entry[0] = _instant(record["occurred_at"])
        else:
            entry[1], entry[2] = _instant(record["occurred_at"]), record["resolution"]
    exceptions = {e["exception_id"] for e in _jsonl(out_dir / "exceptions.jsonl")}
    with (out_dir / "kpis.csv").open() as handle:
        kpis = list(csv.reader(handle))[1:]
    with (out_dir / "rota.csv").open() as handle:
        rota = list(csv.reader(handle))[1:]
    return Derived(outcomes, {k: tuple(v) for k, v in alerts.items()},  # type: ignore[misc]
                   exceptions, kpis, rota)


def from_database(dsn: str, weeks: Iterable[str]) -> Derived:
    """Read what the workers wrote, through the KPI layer for the KPIs."""
    with psycopg.connect(dsn) as conn:
        stored = conn.cursor(row_factory=dict_row).execute(
            "SELECT " + OUTCOME_EVENT_COLUMNS + " FROM visit_outcomes")
        outcomes = {row["visit_id"]: _normalise(outcome_json(row)) for row in stored}
        alerts = {
            row[0]: (_instant_db(row[1]), _instant_db(row[2]), row[3])
            for row in conn.execute(
                "SELECT alert_id, raised_at, resolved_at, resolution FROM alerts")
        }
        exceptions = {
            row[0] for row in conn.execute(
                "SELECT exception_id FROM visit_exceptions WHERE resolved_at IS NULL")
        }
        kpis, rota = [], []
        for week in sorted(set(weeks)):
            rows = weekly_kpis(conn, Period.iso_week(week))
            kpis += [[cell(r[col]) for col in KPI_COLUMNS] for r in rows]
            rota += [["" if r[col] is None else str(r[col]) for col in ROTA_COLUMNS]
                     for r in rota_realism(conn, Period.iso_week(week))]
    return Derived(outcomes, alerts, exceptions, kpis, rota)


def replay_outcomes_normalised(derived: Derived) -> dict[str, dict[str, Any]]:
    return {k: _normalise(v) for k, v in derived.outcomes.items()}


def _normalise(payload: dict[str, Any] | str) -> dict[str, Any]:
    data = json.loads(payload) if isinstance(payload, str) else payload
    return json.loads(c.dump_event(c.parse_event(data)))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _instant(text: str) -> str:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()


def _instant_db(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def weeks_of(derived: Derived) -> set[str]:
    return {row[3] for row in derived.kpis}


def _gist(value: bytes | None) -> str:
    """What one message about a visit says, in a line."""
    if value is None:
        return "tombstone"
    try:
        data = json.loads(value)
    except ValueError:
        return repr(value[:80])
    if "fmt" in data:  # a stored visit (ecm/visits/state.py)
        events = sorted(e.get("event_id", "?") for e in data.get("v", {}).get("events", []))
        return f"stored: events {events} judged {data.get('j')} last change {data.get('n')}"
    if data.get("event_type") == "visit_outcome_recorded":
        return f"outcome {data.get('status')} at {data.get('occurred_at')} ({data.get('event_id')})"
    if "event_type" not in data:  # a fact between visits (ecm/kafka/records.py)
        said = {k: data[k] for k in ("seq", "said_at", "leave_by", "next_visit_id",
                                     "from_visit_id", "occurred_at") if data.get(k)}
        return f"fact {data.get('event_id', '')} {said}"
    return f"{data['event_type']} {data.get('event_id', '')}"

