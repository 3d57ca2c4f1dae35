"""Stream benchmarks (issue 4, item 6): real workers, the real broker and PostgreSQL.

Measured side by side in one run on the same broker, on loopback, each bounded in time:

a. end-to-end throughput: a simulated week (``ecm simulate --seed 5 --scale S``) is
   published with its watermark ticks, then ``ecm worker --clock replay`` is started and
   timed until its consumer group has committed every input topic (the sink flushes at
   the commit point, so everything is in PostgreSQL then); next to it, the ceiling: a raw
   aiokafka consumer reading the same visit-events topic from the start, doing nothing,
   and the ceiling of Faust itself: an agent iterating that topic and doing nothing
   (``faust_noop.py``), and Kafka's own ``kafka-consumer-perf-test.sh`` (its class,
   ``ConsumerPerformance``, run from the jars the local stack installed). After the one
   worker's replay, every record it and its sink wrote (outputs, table changelogs) is
   counted per topic: records produced per input event.
   Timed on fresh topics for each of ``--layouts`` (``LAYOUTS``): one worker with the sink
   inside (always); ``ecm worker --no-sink`` next to ``ecm sink``; two workers sharing
   the partitions;
b. alert latency in live mode: ``--alerts`` visits whose "not arrived" deadline (planned
   start + 30 min) falls over the next ``--spread-s`` seconds; for each "not arrived"
   alert, the time it reached a consumer of the alerts topic minus its ``due_at``;
c. recovery: with ``--open-visits`` visits planned for tomorrow (a Kent day is ~10,000)
   in the worker's table, kill -9 the worker, restart it, and time until a new visit's
   outcome reaches the outcomes topic (``--open-days`` spreads them: 7 and ~72,000 is a
   Kent week of open state);
d. four weeks (``ecm simulate --weeks 4 --scale W``) through one worker, published a week
   at a time once the one before is committed: the rate in the fourth week over the first.

    .venv/bin/python benchmarks/bench_stream.py                    # a Kent week
    .venv/bin/python benchmarks/bench_stream.py --scale 0.1 --open-visits 1000

Each part has its own topic prefix, scratch database (``ecm_bench_<random>``, next to
ECM_TEST_DB__DSN, dropped afterwards) and state directory; topics are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from figures import emit
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as SyncPartition
from kafka.admin import KafkaAdminClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ecm import contracts as c
from ecm import topics
from ecm.contracts.examples import examples
from ecm.domain.watermark import Watermark
from ecm.kafka.admin import ensure_topics, pipeline_lag
from ecm.kafka.publish import publish_replay
from ecm.kafka.records import CONTROL_HEADER
from ecm.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[1]
ECM = str(Path(sys.executable).parent / "ecm")
NOT_ARRIVED_AFTER = timedelta(minutes=30)  # ecm.domain.rules default for a standard visit
KAFKA_VERSION = "3.9.1"  # deploy/local/stack.sh's default (ECM_KAFKA_VERSION)


@dataclass
class Scratch:
    """One isolated pipeline: topic prefix, scratch database and state directory."""

    bootstrap: str
    partitions: int
    admin_dsn: str
    state_dir: Path
    prefix: str = ""
    database: str = ""
    dsn: str = ""

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap, topic_prefix=self.prefix,
                             partitions=self.partitions)  # fmt: skip

    def lag(self) -> int:
        return pipeline_lag(self.kafka)

    def start_worker(
        self, clock: str, *options: str, worker_id: str = "1"
    ) -> subprocess.Popen[bytes]:
        return self._start("worker", "--clock", clock, "--worker-id", worker_id, *options)

    def start_sink(self) -> subprocess.Popen[bytes]:
        """``ecm sink`` apart from a worker started with ``--no-sink``."""
        return self._start("sink")

    def _start(self, *command: str) -> subprocess.Popen[bytes]:
        env = os.environ | {
            "ECM_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap, "ECM_KAFKA__TOPIC_PREFIX": self.prefix,
            "ECM_KAFKA__PARTITIONS": str(self.partitions), "ECM_DB__DSN": self.dsn,
            "ECM_STATE_DIR": str(self.state_dir),
        }  # fmt: skip
        log = (self.state_dir / "worker.log").open("ab")
        cmd = [ECM, *command, "--metrics-port", "0", "--loglevel", "warning"]
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def tail(self) -> str:
        path = self.state_dir / "worker.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def wait_idle(
        self, processes: subprocess.Popen[bytes] | list[subprocess.Popen[bytes]], timeout_s: float
    ) -> float:
        """Wait until the worker group has committed every input; return when it first did."""
        deadline = time.monotonic() + timeout_s
        watched = processes if isinstance(processes, list) else [processes]
        while time.monotonic() < deadline:
            for process in watched:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[1]} exited ({process.returncode}):\n"
                                       f"{self.tail()}")  # fmt: skip
            if self.lag() == 0:
                return time.monotonic()
            time.sleep(0.5)
        raise RuntimeError(f"not idle after {timeout_s:.0f}s (lag {self.lag()}):\n{self.tail()}")


@contextmanager
def scratch(args: argparse.Namespace, part: str) -> Iterator[Scratch]:
    """A fresh prefix, database (migrated with ``ecm db migrate``) and state dir; removed after."""
    with tempfile.TemporaryDirectory(prefix=f"ecm-bench-{part}-") as state:
        s = Scratch(args.bootstrap, args.partitions, args.admin_dsn, Path(state))
        s.prefix = f"bench{part}{uuid.uuid4().hex[:8]}"
        s.database = f"ecm_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{s.database}"')
        s.dsn = make_conninfo(**(conninfo_to_dict(args.admin_dsn) | {"dbname": s.database}))
        try:
            subprocess.run([ECM, "db", "migrate", "--dsn", s.dsn], check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
            ensure_topics(s.kafka)
            yield s
        finally:
            delete_topics(s)
            drop_database(args.admin_dsn, s.database)


def stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a worker we started (SIGTERM waits up to 30 s for a clean stop, then kills)."""
    if worker.poll() is None:
        worker.send_signal(sig)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=30)


def delete_topics(s: Scratch) -> None:
    """Delete the pipeline's topics and Faust's internal ones (best effort)."""
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap)
    try:
        mine = [t for t in admin.list_topics() if t.startswith((f"{s.prefix}.", f"{s.prefix}-"))]
        if mine:
            admin.delete_topics(mine)
    except Exception as exc:  # cleanup must not hide the figures
        print(f"  could not delete topics of {s.prefix}: {exc}")
    finally:
        admin.close()


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop a scratch database, retrying while the worker's connections go away."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        for attempt in range(10):
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                time.sleep(1 + attempt)
    print(f"  could not drop {name}; drop it by hand")


# ------------------------------------------------------------------ a. throughput


LAYOUTS = {
    "one": "one worker (sink inside)",
    "apart": "worker --no-sink + ecm sink",
    "two": "two workers (each with its sink), sharing the partitions",
}


def bench_throughput(args: argparse.Namespace) -> None:
    """End-to-end events/s in each layout, and the raw consumer's ceiling next to each."""
    with tempfile.TemporaryDirectory() as tmp:
        week = Path(tmp) / "week.jsonl"
        subprocess.run([ECM, "simulate", "--seed", "5", "--scale", str(args.scale), "--weeks",
                        "1", "--out", str(week)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # fmt: skip
        runs = {layout: end_to_end(args, week, layout) for layout in args.layouts}
    one = runs["one"]
    emit("stream_e2e_events_per_s", one.per_s, "events/s")
    emit("stream_e2e_scale", args.scale, "kent_weeks")
    emit("stream_raw_consumer_events_per_s", one.raw_per_s, "events/s")
    emit("stream_e2e_ratio_to_raw", one.per_s / one.raw_per_s, "ratio")
    emit("stream_faust_noop_events_per_s", one.faust_noop_per_s, "events/s")
    emit("stream_faust_noop_ratio_to_raw", one.faust_noop_per_s / one.raw_per_s, "ratio")
    emit("stream_e2e_ratio_to_faust_noop", one.per_s / one.faust_noop_per_s, "ratio")
    if one.kafka_perf_per_s:
        emit("stream_kafka_consumer_perf_msgs_per_s", one.kafka_perf_per_s, "msgs/s")
    emit("stream_records_produced_per_event", one.produced_per_event, "records/event")
    for layout, name in (("apart", "separate_sink"), ("two", "two_workers")):
        if layout in runs:
            emit(f"stream_e2e_{name}_events_per_s", runs[layout].per_s, "events/s")
            emit(f"stream_e2e_{name}_ratio_to_raw", runs[layout].per_s / runs[layout].raw_per_s,
                 "ratio")  # fmt: skip


@dataclass
class EndToEnd:
    """One end-to-end run: input events per second, and the raw consumer's rate next to it."""

    per_s: float
    raw_per_s: float
    faust_noop_per_s: float
    kafka_perf_per_s: float
    produced_per_event: float


def start_layout(s: Scratch, layout: str) -> list[subprocess.Popen[bytes]]:
    """Start the processes of one layout (``LAYOUTS``) on a replay clock."""
    if layout == "apart":
        return [s.start_worker("replay", "--no-sink"), s.start_sink()]
    workers = 2 if layout == "two" else 1
    return [s.start_worker("replay", worker_id=str(n + 1)) for n in range(workers)]


def end_to_end(args: argparse.Namespace, week: Path, layout: str) -> EndToEnd:
    """Publish the week, then time the layout's processes until all input is committed."""
    with scratch(args, "a") as s:
        with week.open("rb") as lines:
            sent = publish_replay(lines, s.kafka)
        inputs = sent.events + sent.invalid
        print(f"a. {LAYOUTS[layout]}, scale {args.scale}: published {inputs:,} events "
              f"({sent.invalid} invalid) and {sent.ticks:,} watermark ticks x "
              f"{args.partitions} partitions")  # fmt: skip
        published = end_offsets(s)
        started = time.monotonic()
        processes = start_layout(s, layout)
        try:
            done = s.wait_idle(processes, args.timeout_s)
        finally:
            for process in processes:
                stop(process)
        e2e_s = done - started
        print(f"   start -> every input committed: {e2e_s:.1f} s = "
              f"{inputs / e2e_s:,.0f} events/s (startup included)")  # fmt: skip
        with psycopg.connect(s.dsn) as conn:
            rows = conn.execute("SELECT count(*) FROM visit_outcomes").fetchone()
        print(f"   visit_outcomes rows: {rows[0] if rows else 0:,}")
        produced = asyncio.run(produced_records(s, published))
        print_produced(produced, inputs)
        messages, raw_s = asyncio.run(raw_consume(s))
        print(f"   raw aiokafka consumer, same visit-events topic: {messages:,} messages in "
              f"{raw_s:.2f} s = {messages / raw_s:,.0f} messages/s")  # fmt: skip
        faust_s = faust_noop(s, messages, args.timeout_s)
        print(f"   Faust agent doing nothing, same topic: {messages / faust_s:,.0f} messages/s")
        perf = kafka_consumer_perf(s, messages, args.timeout_s)
    records = sum(count for count, _ in produced.values())
    return EndToEnd(inputs / e2e_s, messages / raw_s, messages / faust_s, perf, records / inputs)


def prefix_topics(s: Scratch) -> list[str]:
    """Every topic of the pipeline's prefix: its own and Faust's (changelogs, leader)."""
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap)
    try:
        return sorted(t for t in admin.list_topics()
                      if t.startswith((f"{s.prefix}.", f"{s.prefix}-")))  # fmt: skip
    finally:
        admin.close()


def end_offsets(s: Scratch) -> dict[SyncPartition, int]:
    """The end offset of every partition of every topic of the pipeline's prefix."""
    consumer = KafkaConsumer(bootstrap_servers=s.bootstrap)
    try:
        parts = [SyncPartition(t, p) for t in prefix_topics(s)
                 for p in sorted(consumer.partitions_for_topic(t) or ())]  # fmt: skip
        return dict(consumer.end_offsets(parts))
    finally:
        consumer.close()


async def produced_records(
    s: Scratch, published: dict[SyncPartition, int]
) -> dict[str, tuple[int, int]]:
    """Per topic (and control kind): (records, bytes of keys and values) after ``published``.

    Reads every record past the offsets the publication left, on every topic of the
    prefix (the worker's outputs, its tables' changelogs, Faust's own topics).
    """
    ends = end_offsets(s)
    todo = {tp: (published.get(tp, 0), end) for tp, end in ends.items()
            if end > published.get(tp, 0)}  # fmt: skip
    totals = {t: (0, 0) for t in {tp.topic for tp in ends}}
    if not todo:
        return totals
    consumer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap, group_id=None,
                                enable_auto_commit=False,
                                max_partition_fetch_bytes=4 << 20)  # fmt: skip
    await consumer.start()
    try:
        parts = {TopicPartition(tp.topic, tp.partition): span for tp, span in todo.items()}
        consumer.assign(list(parts))
        for tp, (start, _) in parts.items():
            consumer.seek(tp, start)
        left, stalled = dict(parts), 0
        while left and stalled < 30:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            stalled = 0 if batches else stalled + 1
            for tp, batch in batches.items():
                for record in batch:
                    if tp in left and record.offset < left[tp][1]:
                        name = _counted_as(tp.topic, record.headers)
                        n, size = totals.get(name, (0, 0))
                        totals[name] = (n + 1, size + len(record.key or b"")
                                        + len(record.value or b""))  # fmt: skip
                if batch and batch[-1].offset >= parts[tp][1] - 1:
                    left.pop(tp, None)
            # compacted or transactional gaps: stop when every position reached its end
            for tp in list(left):
                if await consumer.position(tp) >= parts[tp][1]:
                    left.pop(tp)
        return totals
    finally:
        await consumer.stop()


def _counted_as(topic: str, headers: Any) -> str:
    """A topic's name, with the kind of control message (gate tick, visit fact) if one."""
    for key, value in headers or ():
        if key == CONTROL_HEADER:
            return f"{topic} [{bytes(value).decode()}]"
    return topic


def print_produced(produced: dict[str, tuple[int, int]], inputs: int) -> None:
    """The per-topic breakdown of what the pipeline wrote per input event."""
    records = sum(n for n, _ in produced.values())
    size = sum(b for _, b in produced.values())
    print(f"   records produced: {records:,} = {records / inputs:.2f} per input event "
          f"({size / inputs / 1024:.1f} KiB per input event)")  # fmt: skip
    for topic, (n, b) in sorted(produced.items(), key=lambda kv: -kv[1][0]):
        if n:
            print(f"     {topic}: {n:,} records = {n / inputs:.3f}/event, "
                  f"{b / max(n, 1):,.0f} B/record, {b / max(size, 1):.0%} of bytes")  # fmt: skip


def kafka_home() -> Path:
    """Where ``deploy/local/stack.sh`` installed Kafka (same environment variables)."""
    cache = Path(os.environ.get("ECM_CACHE_DIR", Path.home() / ".cache" / "ecm"))
    return cache / f"kafka-{os.environ.get('ECM_KAFKA_VERSION', KAFKA_VERSION)}"


def kafka_perf_command(home: Path) -> list[str]:
    """``kafka-consumer-perf-test.sh``, or the class it runs from the installed jars.

    The local stack installs the broker's jars only (no ``bin/``); the script is a
    wrapper of ``kafka-run-class.sh org.apache.kafka.tools.ConsumerPerformance``, whose
    jar (``kafka-tools``) is fetched once with Maven next to the stack's, as stack.sh does.
    """
    script = home / "bin" / "kafka-consumer-perf-test.sh"
    if script.exists():
        return [str(script)]
    tools = home / "tools"
    version = home.name.removeprefix("kafka-")
    if not list(tools.glob("kafka-tools-*.jar")):
        subprocess.run(["mvn", "-q", "-B", "dependency:copy",
                        f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
                        f"-DoutputDirectory={tools}"], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return ["java", "-Xmx512m", "-cp", f"{home / 'libs'}/*:{tools}/*",
            "org.apache.kafka.tools.ConsumerPerformance"]  # fmt: skip


def kafka_consumer_perf(s: Scratch, messages: int, timeout_s: float) -> float:
    """Messages/s Kafka's own consumer perf tool reads the visit-events topic at (0 if none).

    Its ``fetch.nMsg.sec`` (joining the group excluded, as for the raw consumer).
    """
    try:
        command = kafka_perf_command(kafka_home())
        done = subprocess.run([*command, "--bootstrap-server", s.bootstrap, "--topic",
                               s.kafka.topic(topics.VISIT_EVENTS), "--messages", str(messages),
                               "--group", f"{s.prefix}-perf", "--timeout", "30000"],
                              capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"   kafka-consumer-perf-test: could not run it: {exc}")
        return 0.0
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    header = next((i for i, line in enumerate(lines) if "fetch.nMsg.sec" in line), None)
    if header is None or header + 1 >= len(lines):
        print(f"   kafka-consumer-perf-test gave no result:\n{done.stderr[-800:]}")
        return 0.0
    row = dict(zip([h.strip() for h in lines[header].split(",")],
                   [v.strip() for v in lines[header + 1].split(",")], strict=False))  # fmt: skip
    per_s = float(row["fetch.nMsg.sec"])
    print(f"   kafka-consumer-perf-test, same topic: {row['data.consumed.in.nMsg']} messages, "
          f"{per_s:,.0f} messages/s fetching ({float(row['nMsg.sec']):,.0f}/s with the "
          f"group join, {row['rebalance.time.ms']} ms)")  # fmt: skip
    return per_s


def faust_noop(s: Scratch, messages: int, timeout_s: float) -> float:
    """Seconds a Faust agent that only iterates takes over the visit-events topic."""
    topic = s.kafka.topic(topics.VISIT_EVENTS)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "faust_noop.py"), s.bootstrap,
                           topic, str(messages)], capture_output=True, text=True, timeout=timeout_s,
                          cwd=ROOT)  # fmt: skip
    for line in (done.stdout + done.stderr).splitlines():
        if "RESULT " in line:
            return float(line.split("RESULT ", 1)[1].split()[1])
    raise RuntimeError(f"faust_noop.py gave no result:\n{done.stderr[-1500:]}")


async def raw_consume(s: Scratch) -> tuple[int, float]:
    """Read every message of the visit-events topic from the start; return (count, seconds)."""
    topic = s.kafka.topic(topics.VISIT_EVENTS)
    # Start from the earliest offsets by the reset policy: assign() then seek_to_beginning()
    # raced with aiokafka's default "latest" reset and, now and then, read nothing.
    consumer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=4 << 20)  # fmt: skip
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(s.partitions)]  # ensure_topics made them
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        total = sum(ends.values())
        count, started = 0, time.perf_counter()
        counts = dict.fromkeys(parts, 0)
        stalled = 0
        while count < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, records in batches.items():
                counts[tp] += len(records)
            got = sum(len(records) for records in batches.values())
            count, stalled = count + got, (0 if got else stalled + 1)
            if stalled >= 30:
                seen = {tp.partition: f"{counts[tp]}/{ends[tp]}" for tp in parts}
                raise RuntimeError(f"raw consumer stalled 30 s at {count}/{total}: {seen}")
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()


# ------------------------------------------------------------------ b. alert latency


def send(s: Scratch, events: list[c.ContractEvent]) -> None:
    """Publish contract events to their topics with their keys; wait for the acks."""
    producer = KafkaProducer(bootstrap_servers=s.bootstrap, acks="all", linger_ms=5)
    for event in events:
        target = topics.route(event)
        producer.send(s.kafka.topic(target.topic), key=target.key.encode(),
                      value=c.dump_event(event))  # fmt: skip
    producer.flush()
    producer.close()


def reference() -> list[c.ContractEvent]:
    """The example reference data (provider P017, client C04211 and their contract)."""
    return [e for e in examples() if topics.route(e).topic == topics.REFERENCE]


def planned(visit_id: str, start: datetime, now: datetime) -> c.VisitPlanned:
    """A standard 30-minute home-care visit of the example client, planned an hour ago."""
    return c.VisitPlanned(
        event_id=f"{visit_id}.plan", occurred_at=now - timedelta(hours=1), provider_id="P017",
        visit_id=visit_id, client_id="C04211", service=c.Service.HOME_CARE,
        planned_start=start, planned_end=start + timedelta(minutes=30),
    )  # fmt: skip


def end_consumer(s: Scratch, logical: str) -> KafkaConsumer:
    """A consumer of every partition of a topic, positioned at its end now."""
    consumer = KafkaConsumer(bootstrap_servers=s.bootstrap, fetch_max_wait_ms=20)
    topic = s.kafka.topic(logical)
    parts = [SyncPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_end(*parts)
    for part in parts:
        consumer.position(part)  # resolve the end offsets before anything new is sent
    return consumer


def bench_alert_latency(args: argparse.Namespace) -> None:
    """Deadline -> "not arrived" alert on the alerts topic, with a live-clock worker."""
    with scratch(args, "b") as s:
        send(s, reference())
        worker = s.start_worker("live")
        try:
            s.wait_idle(worker, 180)  # the worker has read the reference data
            alerts = end_consumer(s, topics.ALERTS)
            now = datetime.now(UTC)
            first = now + timedelta(seconds=args.lead_s)
            due = {f"VL{i:05d}": first + timedelta(seconds=args.spread_s * i / args.alerts)
                   for i in range(args.alerts)}  # fmt: skip
            send(s, [planned(v, at - NOT_ARRIVED_AFTER, now) for v, at in due.items()])
            latencies = collect_alerts(alerts, set(due), args.lead_s + args.spread_s + 60)
            alerts.close()
        finally:
            stop(worker)
    if not latencies:
        raise RuntimeError("no alert arrived")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    print(f"b. {len(latencies):,} of {args.alerts:,} 'not arrived' alerts over "
          f"{args.spread_s:.0f} s: p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, "
          f"max {latencies[-1]:.0f} ms (arrival at a consumer minus due_at)")  # fmt: skip
    emit("stream_alert_latency_p50_ms", pick(0.5), "ms")
    emit("stream_alert_latency_p99_ms", pick(0.99), "ms")
    emit("stream_alert_count", len(latencies), "alerts")
    if len(latencies) < args.alerts:
        raise RuntimeError(f"only {len(latencies)} of {args.alerts} alerts arrived")


def collect_alerts(consumer: KafkaConsumer, visits: set[str], timeout_s: float) -> list[float]:
    """Milliseconds from due_at to arrival of the first "not arrived" alert of each visit."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(seen) < len(visits) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=50).values():
            arrived = time.time()
            for record in records:
                alert = json.loads(record.value)
                if (alert.get("event_type") == "alert_raised" and alert["kind"] == "not_arrived"
                        and alert["visit_id"] in visits and alert["visit_id"] not in seen):
                    due = datetime.fromisoformat(alert["due_at"]).timestamp()
                    seen[alert["visit_id"]] = (arrived - due) * 1000
    return list(seen.values())


# ------------------------------------------------------------------ c. recovery


def bench_recovery(args: argparse.Namespace) -> None:
    """kill -9 a worker holding open visits; time until a restart handles a new one.

    Then the same after a clean stop (SIGTERM: the worker leaves its group, so no session
    has to expire): what is left is startup and the tables' recovery from their changelogs.
    """
    with scratch(args, "c") as s:
        now = datetime.now(UTC)
        tomorrow = (now + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
        # spread over --open-days days from tomorrow, 07:00-21:00 (a Kent week is ~72,000)
        day = [planned(f"VR{i:05d}", tomorrow + timedelta(days=i % args.open_days,
                                                          minutes=(i * 7) % 840), now)
               for i in range(args.open_visits)]  # fmt: skip
        send(s, [*reference(), *day])
        worker = s.start_worker("live")
        loading = time.monotonic()
        try:
            s.wait_idle(worker, args.timeout_s)
        finally:
            stop(worker, signal.SIGKILL)
        print(f"c. {args.open_visits:,} open visits over {args.open_days} days loaded in "
              f"{time.monotonic() - loading:.1f} s (startup included)")  # fmt: skip
        killed = restart_until_outcome(s, "VR-SENTINEL-1", tomorrow, args.recovery_timeout_s)
        clean = restart_until_outcome(s, "VR-SENTINEL-2", tomorrow, args.recovery_timeout_s)
    print(f"   kill -9, restart -> new visit's outcome published: {killed:.1f} s; "
          f"after a clean stop: {clean:.1f} s")  # fmt: skip
    emit("stream_recovery_s", killed, "s")
    emit("stream_recovery_clean_stop_s", clean, "s")
    emit("stream_recovery_open_visits", args.open_visits, "visits")
    emit("stream_recovery_open_days", args.open_days, "days")


def restart_until_outcome(s: Scratch, visit_id: str, start: datetime, timeout_s: float) -> float:
    """Send a new visit, start a worker, time until its outcome; stop the worker cleanly."""
    outcomes = end_consumer(s, topics.OUTCOMES)
    send(s, [planned(visit_id, start, datetime.now(UTC))])
    started = time.monotonic()
    worker = s.start_worker("live")
    try:
        return wait_for_outcome(outcomes, visit_id, started + timeout_s) - started
    except RuntimeError as exc:
        log = (s.state_dir / "worker.log").read_text(errors="replace")
        raise RuntimeError(f"{exc}; the workers logged {log.count('Error in recovery')} "
                           f"'Error in recovery' warnings:\n{log[-600:]}") from exc
    finally:
        stop(worker)
        outcomes.close()


def wait_for_outcome(consumer: KafkaConsumer, visit_id: str, deadline: float) -> float:
    """Return the monotonic time the first outcome of ``visit_id`` arrived."""
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100).values():
            if any(json.loads(r.value).get("visit_id") == visit_id for r in records):
                return time.monotonic()
    raise RuntimeError(f"no outcome for {visit_id} before the deadline")


# ------------------------------------------------------------------ d. four weeks

WEEKS = 4
WEEKS_START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday; London is on UTC then


def bench_weeks(args: argparse.Namespace) -> None:
    """Four simulated weeks through one worker, a week at a time: week 4 against week 1.

    The reference data goes first, so the worker has started before week 1 is timed. Each
    week is then published once the worker (its carer side, the facts between visits and
    its sink included) has committed everything of the weeks before: a week's time is the
    work its own events cause, with the history of the weeks before held by the worker,
    and no week carries another's backlog. The watermark runs on from week to week; the
    extract's closing flush (which fires every deadline still pending) follows the fourth
    week and is not timed: a live worker never gets one.
    """
    with tempfile.TemporaryDirectory() as tmp, scratch(args, "w") as s:
        path = Path(tmp) / "weeks.jsonl"
        subprocess.run([ECM, "simulate", "--seed", "5", "--scale", str(args.weeks_scale),
                        "--weeks", str(WEEKS), "--start", WEEKS_START.date().isoformat(),
                        "--out", str(path)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # fmt: skip
        reference_lines, *weeks = split_weeks(path.read_bytes().splitlines())
        watermark = Watermark()
        publish_replay(reference_lines, s.kafka, watermark=watermark, flush=False)
        worker = s.start_worker("replay")
        rates: list[float] = []
        try:
            s.wait_idle(worker, args.timeout_s)
            for week, lines in enumerate(weeks, start=1):
                started = time.monotonic()
                sent = publish_replay(lines, s.kafka, watermark=watermark, flush=False)
                took = s.wait_idle(worker, args.timeout_s) - started
                messages = sent.events + sent.invalid + sent.ticks * s.partitions
                rates.append(messages / took)
                print(f"   week {week}: {messages:,} input messages ({sent.events:,} events) "
                      f"in {took:.1f} s = {rates[-1]:,.0f} messages/s; worker "
                      f"{rss_mib(worker):,.0f} MiB")  # fmt: skip
            publish_replay([], s.kafka, watermark=watermark)  # the closing flush, not timed
            s.wait_idle(worker, args.timeout_s)
        finally:
            stop(worker)
    emit("stream_week1_msgs_per_s", rates[0], "msgs/s")
    emit("stream_week4_msgs_per_s", rates[-1], "msgs/s")
    emit("stream_week4_to_week1_rate_ratio", rates[-1] / rates[0], "ratio")
    emit("stream_weeks_scale", args.weeks_scale, "kent_weeks")


def split_weeks(lines: list[bytes]) -> list[list[bytes]]:
    """The lines before the first visit event, then each week's, in file (delivery) order.

    A week starts at the first line of an event that occurred in it; a late event of the
    week before, delivered after that, stays where it was delivered.
    """
    edges = [WEEKS_START + timedelta(weeks=w) for w in range(1, WEEKS)]
    parts: list[list[bytes]] = [[] for _ in range(WEEKS + 1)]
    current = 0
    for line in lines:
        at = occurred_at(line) if b'"visit_id"' in line else None
        if at is not None:
            current = max(current, 1 + sum(at >= edge for edge in edges))
        parts[current].append(line)
    return parts


def rss_mib(process: subprocess.Popen[bytes]) -> float:
    """A process's resident memory, MiB (Linux)."""
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def occurred_at(value: bytes | None) -> datetime | None:
    """An event's ``occurred_at``; ``None`` for ticks and lines that are not events."""
    try:
        at = datetime.fromisoformat(json.loads(value or b"")["occurred_at"])
    except (ValueError, TypeError, KeyError):
        return None
    return at if at.tzinfo is not None else None  # a malformed line (naive time)


PARTS = {"throughput": bench_throughput, "latency": bench_alert_latency,
         "recovery": bench_recovery, "weeks": bench_weeks}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="week size; 1.0 = Kent")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout-s", type=float, default=1200, help="bound on each wait")
    parser.add_argument("--alerts", type=int, default=1000, help="deadlines for the latency")
    parser.add_argument("--lead-s", type=float, default=20, help="seconds to the first one")
    parser.add_argument("--spread-s", type=float, default=60, help="seconds they spread over")
    parser.add_argument("--open-visits", type=int, default=10_000, help="a Kent day ~10,000")
    parser.add_argument("--recovery-timeout-s", type=float, default=300)
    parser.add_argument("--only", choices=sorted(PARTS), action="append")
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS),
                        help="throughput layouts to time ('one' is always timed)")  # fmt: skip
    parser.add_argument("--weeks-scale", type=float, default=0.05,
                        help="size of each of the four weeks of the multi-week part")  # fmt: skip
    parser.add_argument("--open-days", type=int, default=7, help="days the open visits span")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("ECM_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument(
        "--admin-dsn",
        default=os.environ.get("ECM_TEST_DB__DSN", "postgresql://ecm:ecm@127.0.0.1:5433/ecm_test"),
    )
    args = parser.parse_args()
    args.layouts = ["one", *(layout for layout in args.layouts if layout != "one")]
    print("command: " + " ".join([".venv/bin/python", "benchmarks/bench_stream.py", *sys.argv[1:]]))
    failed = []
    for name in args.only or list(PARTS):
        try:
            PARTS[name](args)
        except (Exception, asyncio.CancelledError) as exc:  # one failing must not hide the rest
            print(f"{name}: FAILED: {exc}")
            failed.append(name)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
