"""Load test of the provider API on loopback: real uvicorn, real Kafka, real PostgreSQL.

Measures sustained accepted events/s and p99 latency for single events and batches,
then streams a generated 200,000-row CSV of actuals and reports the server's peak RSS
before and after (VmHWM), which shows the upload runs in bounded memory.

    .venv/bin/python benchmarks/bench_api.py [--seconds 15] [--concurrency 16] [--batch 100]

Bounded: each phase stops after ``--seconds`` or ``--max-requests``. Uses a topic prefix
of its own (``bench-<random>``) and the database at ECM_DB__DSN (migrated, one key
issued and revoked at the end). Prints the figures; writes no files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from figures import emit

from ecm.api.keys import Role
from ecm.api.keystore import PgKeyStore, issue_key
from ecm.settings import get_settings
from ecm.storage.migrate import migrate


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


async def _key(dsn: str) -> tuple[str, str]:
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True}) as pool:
        issued = await issue_key(PgKeyStore(pool), "BENCH", Role.PROVIDER, "bench_api")
    return issued.token, issued.stored.key_id


async def _revoke(dsn: str, key_id: str) -> None:
    from datetime import UTC, datetime

    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True}) as pool:
        await PgKeyStore(pool).revoke(key_id, datetime.now(UTC))


def _event(n: int) -> dict[str, object]:
    return {"event_type": "carer_checked_in", "event_id": f"b-{uuid.uuid4()}",
            "occurred_at": "2026-01-05T09:02:00+00:00", "provider_id": "BENCH",
            "visit_id": f"V{n % 5000}", "client_id": "C1", "carer_id": "K1", "method": "nfc"}


async def _load(url: str, key: str, batch: int, seconds: float, concurrency: int,
                max_requests: int) -> dict[str, float]:
    latencies: list[float] = []
    accepted = errors = 0
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted, errors
        n = 0
        while time.monotonic() < deadline and len(latencies) < max_requests:
            t0 = time.perf_counter()
            if batch == 1:
                r = await client.post("/v1/events", json=_event(n))
            else:
                r = await client.post("/v1/events/batch",
                                      json={"events": [_event(n + i) for i in range(batch)]})
            latencies.append(time.perf_counter() - t0)
            if r.status_code == 202:
                accepted += batch
            else:
                errors += 1
            n += batch

    started = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=60,
                                 limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "errors": errors, "events_per_s": accepted / elapsed,
            "p50_ms": p(0.50), "p99_ms": p(0.99), "seconds": elapsed}


async def _csv_rows(rows: int) -> AsyncIterator[bytes]:
    yield b"visit_id,client_id,carer_id,check_in_time,check_in_method,check_out_time\n"
    chunk: list[str] = []
    for i in range(rows):
        chunk.append(f"V{i},C{i % 900},K{i % 300},2026-01-05 09:00,telephony,2026-01-05 09:30\n")
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


def _start_server(port: int, prefix: str, state: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ECM_KAFKA__TOPIC_PREFIX": prefix, "ECM_STATE_DIR": state,
           "ECM_API__RATE_LIMIT_PER_MINUTE": "100000000", "ECM_API__RATE_LIMIT_BURST": "1000000"}
    cmd = [sys.executable, "-m", "uvicorn", "ecm.api:create_app", "--factory", "--host",
           "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env)
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the API did not become ready (is `make stack-up` running?)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    dsn = get_settings().db.dsn.get_secret_value()
    migrate(dsn)
    key, key_id = asyncio.run(_key(dsn))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as state:
        proc = _start_server(args.port, prefix, state)
        try:
            _run_phases(url, key, proc.pid, args)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            asyncio.run(_revoke(dsn, key_id))
    print("command: " + " ".join([".venv/bin/python", "benchmarks/bench_api.py", *sys.argv[1:]]))


def _run_phases(url: str, key: str, pid: int, args: argparse.Namespace) -> None:
    for batch in (1, args.batch):
        r = asyncio.run(_load(url, key, batch, args.seconds, args.concurrency, args.max_requests))
        print(f"batch={batch:<4} concurrency={args.concurrency} requests={r['requests']} "
              f"errors={r['errors']} accepted_events_per_s={r['events_per_s']:.0f} "
              f"p50_ms={r['p50_ms']:.1f} p99_ms={r['p99_ms']:.1f} over {r['seconds']:.1f}s")
        kind = "single" if batch == 1 else "batch"
        emit(f"api_{kind}_events_per_s", r["events_per_s"], "events/s")
        emit(f"api_{kind}_p99_ms", r["p99_ms"], "ms")
    before = _rss_kib(pid, "VmHWM")
    up = asyncio.run(_upload(url, key, args.csv_rows))
    after = _rss_kib(pid, "VmHWM")
    print(f"csv rows={args.csv_rows} status={up['status']} accepted={up['rows_accepted']} "
          f"events={up['events']} seconds={up['seconds']:.1f} "
          f"rows_per_s={args.csv_rows / float(up['seconds']):.0f} "  # type: ignore[arg-type]
          f"server_peak_rss_mib before={before / 1024:.0f} after={after / 1024:.0f}")
    emit("api_csv_rows_per_s", args.csv_rows / float(up["seconds"]), "rows/s")  # type: ignore[arg-type]
    emit("api_csv_peak_rss_mb", after / 1024, "MiB")


if __name__ == "__main__":
    main()
