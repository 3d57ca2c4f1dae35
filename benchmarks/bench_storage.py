"""Storage benchmark: a generated Kent year of visit outcomes in PostgreSQL.

Measures the p95 latency of the league-table query for a month and of the 12-week trend
for one provider (target < 200 ms each), the sink's ingest rate next to a bare COPY of
the same rows (the ceiling), and the database size per million visits.

    .venv/bin/python benchmarks/bench_storage.py --scale 0.1   # a tenth (~370k visits)
    .venv/bin/python benchmarks/bench_storage.py               # a Kent year (~3.7M visits)

Outcomes are generated directly (no engine) but go through the sink's own row mapping.
A scratch database is created next to ECM_TEST_DB__DSN and dropped afterwards (--keep).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ecm.contracts import (
    CancelledBy,
    CarePackageAgreed,
    Punctuality,
    Service,
    VisitOutcomeRecorded,
    VisitStatus,
)
from ecm.kpi import Period, league_table, trend
from ecm.storage import sink_sql
from ecm.storage.migrate import migrate
from ecm.storage.rows import OUTCOME_COLUMNS, Row, outcome_row
from ecm.storage.sink import OutcomeSink

KENT_VISITS_PER_WEEK = 72_000
KENT_CLIENTS = 4_700
PROVIDERS = 130
LOTS = 12
YEAR_START = date(2025, 1, 6)  # Monday of 2025-W02; 52 weeks
SERVICES = [Service.HOME_CARE] * 8 + [Service.SUPPORTING_INDEPENDENCE, Service.DISABLED_CHILDREN]


def client_plan(rng: random.Random, clients: int) -> list[tuple[str, str, str, Service, int]]:
    """Each client: id, provider, lot, service, visits a week."""
    per_week = KENT_VISITS_PER_WEEK * clients / KENT_CLIENTS / clients
    plan = []
    for n in range(clients):
        provider = rng.randrange(PROVIDERS)
        lot = f"L{provider % LOTS + 1:02d}"
        visits = max(1, round(rng.gauss(per_week, 4)))
        plan.append((f"C{n:05d}", f"P{provider:03d}", lot, rng.choice(SERVICES), visits))
    return plan


def packages(plan: list[tuple[str, str, str, Service, int]]) -> list[CarePackageAgreed]:
    """One care package per client: its visits a week × 45 minutes."""
    return [
        CarePackageAgreed(
            event_id=f"pk-{c}", occurred_at=datetime(2024, 12, 1, tzinfo=UTC),
            package_id=f"PK-{c}", client_id=c, provider_id=p, lot_id=lot, service=s,
            weekly_hours=Decimal(v * 45) / 60, effective_from=date(2024, 12, 1),
        )
        for c, p, lot, s, v in plan
    ]  # fmt: skip


def _punctuality(late: int) -> Punctuality:
    if late < -15:
        return Punctuality.EARLY
    return Punctuality.LATE if late > 15 else Punctuality.ON_TIME


def _outcome(rng: random.Random, vid: str, c: tuple[str, str, str, Service, int],
             start: datetime) -> VisitOutcomeRecorded:  # fmt: skip
    client, provider, lot, service, _ = c
    roll = rng.random()
    status = (VisitStatus.COMPLETED if roll < 0.91 else VisitStatus.MISSED if roll < 0.94
              else VisitStatus.CANCELLED if roll < 0.98 else VisitStatus.NO_CHECKOUT)  # fmt: skip
    minutes = rng.choice((30, 45, 60))
    checked = status in (VisitStatus.COMPLETED, VisitStatus.NO_CHECKOUT)
    late = max(-20, round(rng.gauss(5, 10))) if checked else 0
    iso = start.isocalendar()
    done = status is VisitStatus.COMPLETED
    return VisitOutcomeRecorded.model_construct(
        event_id=f"{vid}:outcome", schema_version=1, occurred_at=start + timedelta(hours=3),
        visit_id=vid, provider_id=provider, client_id=client, lot_id=lot, service=service,
        tier=None, iso_week=f"{iso.year}-W{iso.week:02d}", local_date=start.date(),
        scheduled=True, status=status,
        cancelled_by=CancelledBy.CLIENT if status is VisitStatus.CANCELLED else None,
        planned_start=start, planned_end=start + timedelta(minutes=minutes),
        planned_minutes=minutes, carers_required=1, time_critical=False,
        first_check_in=start + timedelta(minutes=late) if checked else None,
        punctuality=_punctuality(late) if checked else None,
        lateness_minutes=max(0, late) if checked else None,
        carer_ids=(f"K{provider}-{rng.randrange(40)}",) if checked else (),
        delivered_seconds=minutes * 60 - rng.randrange(300) if done else 0,
        payable_gbp=Decimal(minutes * 24 // 60) if done else Decimal(0),
        short=done and rng.random() < 0.03, single_handed=False,
        manual_entry=checked and rng.random() < 0.05, electronic=checked,
        max_distance_m=None, corrections=(),
    )  # fmt: skip


def generate(rng: random.Random, plan: list, weeks: int, first: date, tag: str) -> Iterator[Row]:
    """Yield outcome rows for ``weeks`` weeks from ``first`` (visit ids carry ``tag``)."""
    for week in range(weeks):
        monday = first + timedelta(weeks=week)
        for c in plan:
            for k in range(c[4]):
                day = monday + timedelta(days=k % 7)
                start = datetime(day.year, day.month, day.day, 7 + (k * 3) % 14, tzinfo=UTC)
                yield outcome_row(_outcome(rng, f"{tag}-{c[0]}-{week}-{k}", c, start))


def copy_rows(conn: psycopg.Connection, table: str, rows: list[Row]) -> float:
    """COPY ``rows`` into ``table``; return the seconds taken."""
    started = time.perf_counter()
    cols = ", ".join(OUTCOME_COLUMNS)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def rebuild_rollups(conn: psycopg.Connection, first: date, last: date) -> None:
    """Recompute the rollups of every visit from ``first`` to ``last``, a month at a time."""
    month = first.replace(day=1)
    while month <= last:
        nxt = (month + timedelta(days=32)).replace(day=1)
        conn.execute(
            "SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date),"
            " array_agg(client_id)) FROM (SELECT DISTINCT provider_id, local_date, client_id"
            " FROM visit_outcomes WHERE local_date >= %s AND local_date < %s) k",
            (month, nxt),
        )
        conn.commit()
        month = nxt


def p95(samples: list[float]) -> tuple[float, float]:
    """Return (p50, p95) in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def timed(fn: object, *args: object) -> float:
    started = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def bench_queries(conn: psycopg.Connection, rng: random.Random, reps: int) -> None:
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    league = [timed(league_table, conn, Period.month(m)) for _ in range(reps) for m in months]
    providers = [f"P{rng.randrange(PROVIDERS):03d}" for _ in range(len(league))]
    trends = [timed(trend, conn, Period.month(rng.choice(months[3:])), p) for p in providers]
    for name, samples in (
        ("league table, one month", league),
        ("12-week trend, one provider", trends),
    ):
        p50, p95_ = p95(samples)
        print(f"  {name:30s} n={len(samples):4d}  p50 {p50:7.1f} ms  p95 {p95_:7.1f} ms")


def bench_ingest(conn: psycopg.Connection, rows: list[Row], batch: int) -> None:
    """Bare COPY of ``rows`` (rolled back) vs the sink's keyed upsert + rollup refresh."""
    conn.execute("SELECT ecm_ensure_partitions('2026-01-01', 2)")
    conn.commit()
    copy_s = copy_rows(conn, "visit_outcomes", rows)
    conn.rollback()
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        with conn.transaction():
            conn.execute(sink_sql.STAGE_TABLES)
            OutcomeSink.write_outcome_rows(conn, rows[i : i + batch])
    sink_s = time.perf_counter() - started
    print(f"  bare COPY into visit_outcomes   {len(rows) / copy_s:10,.0f} rows/s (ceiling)")
    print(f"  sink (upsert + rollups), b={batch} {len(rows) / sink_s:10,.0f} rows/s")
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        with conn.transaction():
            conn.execute(sink_sql.STAGE_TABLES)
            OutcomeSink.write_outcome_rows(conn, rows[i : i + batch])
    again_s = time.perf_counter() - started
    print(f"  sink, same rows again (no-op)   {len(rows) / again_s:10,.0f} rows/s")


def scratch_dsn(admin_dsn: str) -> tuple[str, str]:
    name = f"ecm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(admin_dsn)
    params["dbname"] = name
    return name, make_conninfo(**params)


def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    name, dsn = scratch_dsn(args.admin_dsn)
    try:
        migrate(dsn)
        with psycopg.connect(dsn) as conn:
            load_and_measure(conn, rng, args)
    finally:
        if not args.keep:
            with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_and_measure(
    conn: psycopg.Connection, rng: random.Random, args: argparse.Namespace
) -> None:
    plan = client_plan(rng, max(10, round(KENT_CLIENTS * args.scale)))
    OutcomeSink(conn).write(packages(plan))
    conn.execute("SELECT ecm_ensure_partitions('2025-01-01', 13)")
    conn.commit()
    started = time.perf_counter()
    rows = list(generate(rng, plan, 52, YEAR_START, "v"))
    gen_s = time.perf_counter() - started
    copy_s = copy_rows(conn, "visit_outcomes", rows)
    conn.commit()
    visits = len(rows)
    del rows
    started = time.perf_counter()
    rebuild_rollups(conn, YEAR_START, YEAR_START + timedelta(weeks=52))
    roll_s = time.perf_counter() - started
    conn.execute("ANALYZE")
    conn.commit()
    print(f"scale {args.scale}: {visits:,} visits, {len(plan):,} clients, {PROVIDERS} providers")
    print(
        f"  generate rows {gen_s:.1f} s; bulk COPY {copy_s:.1f} s ({visits / copy_s:,.0f} rows/s);"
        f" rollups rebuilt {roll_s:.1f} s"
    )
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    vo = float(
        conn.execute(
            "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
            " WHERE inhparent = 'visit_outcomes'::regclass"
        ).fetchone()[0]
    )
    print(
        f"  database {size / 2**20:,.0f} MiB = {size / 2**20 / visits * 1e6:,.0f} MiB per million"
        f" visits (visit_outcomes incl. indexes {vo / 2**20 / visits * 1e6:,.0f} MiB/M)"
    )
    bench_queries(conn, rng, args.reps)
    sink_rows = list(generate(rng, plan[: max(1, round(len(plan) * args.sink_share))], 1,
                              date(2026, 1, 5), "s"))  # fmt: skip
    bench_ingest(conn, sink_rows, args.batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a Kent year")
    parser.add_argument("--reps", type=int, default=5, help="league runs per month")
    parser.add_argument("--batch", type=int, default=5000, help="sink batch size")
    parser.add_argument(
        "--sink-share",
        type=float,
        default=1.0,
        help="share of clients whose next week goes through the sink",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--admin-dsn",
        default=os.environ.get("ECM_TEST_DB__DSN", "postgresql://ecm:ecm@127.0.0.1:5433/ecm_test"),
    )
    args = parser.parse_args()
    print(f"command: {' '.join(['benchmarks/bench_storage.py', *sys.argv[1:]])}")
    run(args)


if __name__ == "__main__":
    main()
