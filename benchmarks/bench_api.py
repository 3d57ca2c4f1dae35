"""Load test of the provider API on loopback: one `ecm api` command, real Kafka and PostgreSQL.

Single events are offered open-loop by vegeta (a fixed request rate, whatever the answers'
speed, so a slow server cannot slow the offered load down as a closed loop of N clients
would): first 300 requests/s, then rising rates until one fails; the figure is the highest
rate sustained for ``--seconds`` with every request accepted and p99 under 100 ms.
Batches (``--batch`` events each) are sent by a closed loop of vegeta workers as fast as
they are answered. Then a generated CSV of actuals is streamed and the server's peak RSS
reported (bounded memory).

    .venv/bin/python benchmarks/bench_api.py [--seconds 30] [--batch 500] [--workers 1]
        [--only single|batch|csv ...]

Robust to what once made it slow (RESULTS.md, "API"): the topics are created and the
visits planned before anything is measured, a warm-up runs first, and each step prints
the load average and the CPU the server and the generator used, so a step run while
something else held the CPUs shows as such. vegeta is built with ``go install`` into
``~/.cache/ecm/bench`` the first time (the Go module proxy). Uses a topic prefix of its own
(``bench-<random>``) and the database at ECM_DB__DSN (migrated; keys issued and revoked).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from figures import emit

from ecm.api.keys import Role
from ecm.api.keystore import PgKeyStore, issue_key
from ecm.kafka.admin import ensure_topics
from ecm.settings import KafkaSettings, get_settings
from ecm.storage.migrate import migrate

VEGETA = "github.com/tsenart/vegeta/v12@v12.13.0"
PROVIDER, VISITS, CARER = "BENCH", 5000, "K-BENCH"
PHASES = ("single", "batch", "csv")
P99_LIMIT_MS = 100.0
RATES = (300, 450, 600, 750, 900, 1000, 1100, 1250, 1400, 1600, 1800, 2000, 2400, 2800)
BELOW_300 = (200, 100, 50)


def vegeta_binary() -> str:
    """The vegeta binary: on PATH, or built once into ~/.cache/ecm/bench from the Go proxy."""
    found = shutil.which("vegeta")
    if found:
        return found
    gobin = Path.home() / ".cache" / "ecm" / "bench"
    binary = gobin / "vegeta"
    if not binary.exists():
        print(f"building vegeta ({VEGETA}) into {gobin}", flush=True)
        subprocess.run(["go", "install", VEGETA], check=True,
                       env={**os.environ, "GOBIN": str(gobin)})
    return str(binary)


async def _keys(dsn: str) -> dict[str, tuple[str, str]]:
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True}) as pool:
        store = PgKeyStore(pool)
        out = {}
        for name, who, role in (("provider", PROVIDER, Role.PROVIDER),
                                ("admin", "COUNCIL", Role.ADMIN)):
            issued = await issue_key(store, who, role, "bench_api")
            out[name] = (issued.token, issued.stored.key_id)
        return out


async def _revoke(dsn: str, key_ids: list[str]) -> None:
    from datetime import UTC, datetime

    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True}) as pool:
        for key_id in key_ids:
            await PgKeyStore(pool).revoke(key_id, datetime.now(UTC))


def check_in(n: int) -> dict[str, object]:
    """A check-in to one of the planned visits, with an event id of its own."""
    return {"event_type": "carer_checked_in", "event_id": f"b-{uuid.uuid4()}",
            "occurred_at": "2026-01-05T09:02:00+00:00", "provider_id": PROVIDER,
            "visit_id": f"V{n % VISITS}", "client_id": "C1", "carer_id": CARER, "method": "nfc"}


def planned(n: int) -> dict[str, object]:
    """The plan of visit ``V<n>``."""
    return {"event_type": "visit_planned", "event_id": f"plan-{n}-{uuid.uuid4()}",
            "occurred_at": "2026-01-01T12:00:00+00:00", "provider_id": PROVIDER,
            "visit_id": f"V{n}", "client_id": "C1", "service": "home_care",
            "planned_start": "2026-01-05T09:00:00+00:00",
            "planned_end": "2026-01-05T09:30:00+00:00"}


def _prepare(url: str, keys: dict[str, tuple[str, str]]) -> None:
    """Register the carer and plan every visit, as a provider's rota would be."""
    carer = {"event_type": "carer_registered", "event_id": f"reg-{uuid.uuid4()}",
             "occurred_at": "2026-01-01T00:00:00+00:00", "provider_id": PROVIDER,
             "carer_id": CARER, "effective_from": "2026-01-01"}
    with httpx.Client(base_url=url, timeout=60) as client:
        r = client.post("/v1/events", json=carer, headers={"X-API-Key": keys["admin"][0]})
        r.raise_for_status()
        for start in range(0, VISITS, 500):
            r = client.post("/v1/events/batch", headers={"X-API-Key": keys["provider"][0]},
                            json={"events": [planned(n) for n in range(start, start + 500)]})
            r.raise_for_status()


def write_targets(path: Path, url: str, key: str, bodies: Iterator[dict[str, object]],
                  count: int) -> Path:
    """vegeta's JSON targets: one POST per line, each with a body of its own."""
    header = {"X-API-Key": [key], "Content-Type": ["application/json"]}
    with path.open("w") as out:
        for _ in range(count):
            body = base64.b64encode(json.dumps(next(bodies)).encode()).decode()
            out.write(json.dumps({"method": "POST", "url": url, "body": body,
                                  "header": header}) + "\n")
    return path


@dataclass(frozen=True)
class Step:
    """One vegeta attack as its report and the CPU it cost, server and generator."""

    offered: float  # requests/s asked for (0: as fast as answered)
    achieved: float  # requests/s vegeta actually sent
    throughput: float  # successful requests/s
    requests: int
    success: float
    p50_ms: float
    p99_ms: float
    server_cpu: float  # CPUs' worth (1.0 = one core busy) over the attack
    generator_cpu: float
    load: float  # 1-minute load average at the end
    problems: str  # vegeta's status codes and errors, when not all were accepted

    def sustained(self) -> bool:
        """Every request accepted, p99 under the limit, and the rate actually offered."""
        return (self.success == 1.0 and self.p99_ms < P99_LIMIT_MS
                and self.achieved >= 0.98 * self.offered)

    def line(self, label: str) -> str:
        """The step for people."""
        return (f"{label}: offered={self.offered:.0f}/s sent={self.achieved:.0f}/s "
                f"ok={self.throughput:.0f}/s requests={self.requests} "
                f"success={self.success:.4f} p50_ms={self.p50_ms:.1f} p99_ms={self.p99_ms:.1f} "
                f"server_cpu={self.server_cpu:.2f} generator_cpu={self.generator_cpu:.2f} "
                f"load1={self.load:.2f}{self.problems}")


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def server_pids(pid: int) -> list[int]:
    """The `ecm api` process and its uvicorn worker processes, if any."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def attack(vegeta: str, targets: Path, rate: float, seconds: float, server: list[int],
           workers: int | None = None) -> Step:
    """Run one attack; ``rate`` 0 with ``workers`` is a closed loop of that many."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as results:
        cmd = [vegeta, "attack", "-format=json", f"-targets={targets}", f"-rate={rate:.0f}/s",
               f"-duration={seconds}s", "-timeout=10s", f"-output={results.name}"]
        if workers:
            cmd += [f"-workers={workers}", f"-max-workers={workers}"]
        server_before, started = _cpu_seconds(server), time.monotonic()
        before = os.times()
        subprocess.run(cmd, check=True)
        after = os.times()
        elapsed = time.monotonic() - started
        server_cpu = (_cpu_seconds(server) - server_before) / elapsed
        generator = (after.children_user + after.children_system
                     - before.children_user - before.children_system) / elapsed
        report = json.loads(subprocess.run([vegeta, "report", "-type=json", results.name],
                                           check=True, capture_output=True).stdout)
    latencies = report["latencies"]
    problems = "" if report["success"] == 1.0 else (
        f" status_codes={report['status_codes']} errors={report['errors'][:3]}")
    return Step(rate, report["rate"], report["throughput"], report["requests"],
                report["success"], latencies["50th"] / 1e6, latencies["99th"] / 1e6,
                server_cpu, generator, os.getloadavg()[0], problems)


async def _csv_rows(rows: int) -> AsyncIterator[bytes]:
    yield b"visit_id,client_id,carer_id,check_in_time,check_in_method,check_out_time\n"
    chunk: list[str] = []
    for i in range(rows):
        chunk.append(f"V{i % VISITS},C1,{CARER},2026-01-05 09:00,telephony,2026-01-05 09:30\n")
        if len(chunk) == 2000:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


async def _upload(url: str, key: str, rows: int) -> dict[str, object]:
    headers = {"X-API-Key": key, "content-type": "text/csv"}
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=1800) as client:
        r = await client.post("/v1/uploads/actuals", content=_csv_rows(rows), headers=headers)
    body = r.json()
    return {"status": r.status_code, "rows_accepted": body.get("rows_accepted"),
            "events": body.get("events_published"), "seconds": time.monotonic() - t0}


def wait_for_quiet(seconds: float) -> None:
    """Wait (bounded) for the 1-minute load average to fall under the CPU count.

    On this shared 2-CPU machine a load of 5-7 (other sessions' tests and benchmarks)
    starves the server and the broker: the same code measured 19 events/s with p99
    2.6 s there and 227 events/s with p99 0.4 s at load 4.5 a minute later. The load is
    printed with every step either way, so a busy run shows as one.
    """
    cpus = os.cpu_count() or 1
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= cpus and time.monotonic() < deadline:
        time.sleep(5)
    load = os.getloadavg()
    busy = "" if load[0] < cpus else f" (BUSY: over {cpus} CPUs; figures are the machine's)"
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in load)}{busy}", flush=True)
    emit("api_load_average_at_start", load[0], "load1")


@contextmanager
def serving(port: int, prefix: str, state: str, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    """One `ecm api` command on loopback, ready (owners read from the topics) when yielded."""
    env = {**os.environ, "ECM_KAFKA__TOPIC_PREFIX": prefix, "ECM_STATE_DIR": state,
           "ECM_API__RATE_LIMIT_PER_MINUTE": "100000000", "ECM_API__RATE_LIMIT_BURST": "1000000"}
    ecm = str(Path(sys.executable).with_name("ecm"))
    proc = subprocess.Popen([ecm, "api", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], env=env)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("the API did not become ready (is `make stack-up` running?)")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="each single-event step")
    parser.add_argument("--batch-seconds", type=float, default=15)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batch-workers", type=int, default=4)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1, help="`ecm api --workers`")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--quiet-wait", type=float, default=120,
                        help="seconds to wait at most for a load average under the CPU count")
    parser.add_argument("--no-migrate", action="store_true",
                        help="use the database as it is (already migrated)")
    parser.add_argument("--only", choices=PHASES, action="append",
                        help="run only this phase (repeatable); all of them by default")
    args = parser.parse_args()
    vegeta = vegeta_binary()
    dsn = get_settings().db.dsn.get_secret_value()
    if not args.no_migrate:
        migrate(dsn)
    keys = asyncio.run(_keys(dsn))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topics(KafkaSettings(**{**get_settings().kafka.model_dump(), "topic_prefix": prefix}))
    url = f"http://127.0.0.1:{args.port}"
    wait_for_quiet(args.quiet_wait)
    with tempfile.TemporaryDirectory() as state, serving(args.port, prefix, state,
                                                         args.workers) as proc:
        try:
            _prepare(url, keys)
            _run_phases(url, keys["provider"][0], proc.pid, vegeta, Path(state), args)
        finally:
            asyncio.run(_revoke(dsn, [key_id for _, key_id in keys.values()]))
    print("command: " + " ".join([".venv/bin/python", "benchmarks/bench_api.py", *sys.argv[1:]]))


def _run_phases(url: str, key: str, pid: int, vegeta: str, state: Path,
                args: argparse.Namespace) -> None:
    server = server_pids(pid)
    counter = iter(range(10**9))
    singles = write_targets(state / "single.json", f"{url}/v1/events", key,
                            (check_in(n) for n in counter), 20_000)
    batches = write_targets(state / "batch.json", f"{url}/v1/events/batch", key,
                            ({"events": [check_in(next(counter)) for _ in range(args.batch)]}
                             for _ in iter(int, 1)), 200)
    phases = args.only or PHASES
    print(attack(vegeta, singles, 100, 3, server).line("warm-up (not counted)"), flush=True)
    if "single" in phases:
        at_300 = attack(vegeta, singles, 300, args.seconds, server)
        print(at_300.line("single events"), flush=True)
        emit("api_single_p99_ms_at_300_rps", at_300.p99_ms, "ms")
        emit("api_single_events_per_s", _highest_sustained(vegeta, singles, server, at_300,
                                                           args.seconds), "events/s")
    if "batch" in phases:
        step = attack(vegeta, batches, 0, args.batch_seconds, server,
                      workers=args.batch_workers)
        print(step.line(f"batches of {args.batch}, {args.batch_workers} workers closed loop"),
              flush=True)
        emit("api_batch_events_per_s", step.throughput * args.batch, "events/s")
        emit("api_batch_p99_ms", step.p99_ms, "ms")
    if "csv" in phases:
        _csv(url, key, pid, args.csv_rows)

def _highest_sustained(vegeta: str, targets: Path, server: list[int], at_300: Step,
                       seconds: float) -> float:
    """Rising rates from 300/s until one fails (falling ones if 300/s already failed).

    The figure is the highest *offered* rate sustained, as issue 18 defines it (every
    request answered 202, p99 under the limit, at least 98% of the rate actually sent);
    each step's line also gives the rate answered.
    """
    rates = RATES[1:] if at_300.sustained() else BELOW_300
    best = float(at_300.offered) if at_300.sustained() else 0.0
    for rate in rates:
        time.sleep(2)
        step = attack(vegeta, targets, rate, seconds, server)
        print(step.line("single events"), flush=True)
        if step.sustained():
            best = max(best, float(step.offered))
            if rates is BELOW_300:
                break
        elif rates is not BELOW_300:
            break
    return best


def _csv(url: str, key: str, pid: int, rows: int) -> None:
    field = "VmHWM"
    read = lambda: next(int(line.split()[1]) for line in  # noqa: E731
                        Path(f"/proc/{pid}/status").read_text().splitlines()
                        if line.startswith(field + ":"))
    before = read()
    up = asyncio.run(_upload(url, key, rows))
    after = read()
    seconds = float(up["seconds"])  # type: ignore[arg-type]
    print(f"csv rows={rows} status={up['status']} accepted={up['rows_accepted']} "
          f"events={up['events']} seconds={seconds:.1f} rows_per_s={rows / seconds:.0f} "
          f"server_peak_rss_mib before={before / 1024:.0f} after={after / 1024:.0f}")
    emit("api_csv_rows_per_s", rows / seconds, "rows/s")
    emit("api_csv_peak_rss_mb", after / 1024, "MiB")


if __name__ == "__main__":
    main()
