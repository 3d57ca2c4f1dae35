"""Storage benchmark: a generated Kent year of visit outcomes in PostgreSQL.

Measures the p95 latency of the league-table query for a month and of the 12-week trend
for one provider (target < 200 ms each), the database size per million visits, and the
sink's ingest rates side by side with a bare COPY of the same rows (the ceiling) in the
same run: outcome rows (write + rollups, with the µs per row of each step), revisions of
them (updates), raw-event appends, and whole mixed batches through ``OutcomeSink.write``
(raw events, outcomes, alerts, exceptions). Then a simulated week (``--week-scale``) is
replayed and written through the sink into a database of its own, and every table and
index is measured, scaled per million visits, with how many outcome revisions were
updated in place and the dead rows left (no VACUUM). Two floors come from the same runs:
the sink's ratio if its rollups cost nothing, and the bytes of the week's live rows alone
(no index, dead row or free space), the least any row store of the same facts takes.

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
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
from figures import emit
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ecm.contracts import (
    AlertKind,
    AlertRaised,
    CancelledBy,
    CarePackageAgreed,
    CarerCheckedIn,
    CheckMethod,
    ContractError,
    ContractEvent,
    ExceptionKind,
    Punctuality,
    Service,
    VisitExceptionRaised,
    VisitOutcomeRecorded,
    VisitStatus,
)
from ecm.kpi import Period, league_table, trend
from ecm.replay import parse_line
from ecm.replay import run as replay_run
from ecm.simulate import SimulationConfig, simulate
from ecm.storage import sink_sql
from ecm.storage.migrate import migrate
from ecm.storage.rows import OUTCOME_COLUMNS, RAW_EVENT_COLUMNS, Row, outcome_row, raw_event_row
from ecm.storage.sink import OutcomeSink

KENT_VISITS_PER_WEEK = 72_000
KENT_CLIENTS = 4_700
PROVIDERS = 130
LOTS = 12
YEAR_START = date(2025, 1, 6)  # Monday of 2025-W02; 52 weeks
BATCH = 2000  # streams/sink.py: the stream worker's sink batch
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


def outcomes(
    rng: random.Random, plan: list, weeks: int, first: date, tag: str
) -> Iterator[VisitOutcomeRecorded]:
    """Yield outcomes for ``weeks`` weeks from ``first`` (visit ids carry ``tag``)."""
    for week in range(weeks):
        monday = first + timedelta(weeks=week)
        for c in plan:
            for k in range(c[4]):
                day = monday + timedelta(days=k % 7)
                start = datetime(day.year, day.month, day.day, 7 + (k * 3) % 14, tzinfo=UTC)
                yield _outcome(rng, f"{tag}-{c[0]}-{week}-{k}", c, start)


def generate(rng: random.Random, plan: list, weeks: int, first: date, tag: str) -> Iterator[Row]:
    """Yield outcome rows for ``weeks`` weeks from ``first`` (visit ids carry ``tag``)."""
    return map(outcome_row, outcomes(rng, plan, weeks, first, tag))


def visit_events(o: VisitOutcomeRecorded) -> list[ContractEvent]:
    """Return what the stream worker writes for one visit.

    Its outcome, its check-in (an input event) and, if missed, an alert and an exception.
    """
    events: list[ContractEvent] = [o]
    if o.first_check_in is not None:
        events.append(CarerCheckedIn.model_construct(
            event_id=f"{o.visit_id}:in", event_type="carer_checked_in", schema_version=1,
            occurred_at=o.first_check_in, provider_id=o.provider_id, visit_id=o.visit_id,
            client_id=o.client_id, carer_id=o.carer_ids[0], method=CheckMethod.APP_GPS,
            location=None, reason_code=None,
        ))  # fmt: skip
    if o.status is VisitStatus.MISSED:
        due = o.planned_start + timedelta(minutes=30)
        events.append(AlertRaised.model_construct(
            event_id=f"{o.visit_id}:alert", event_type="alert_raised", schema_version=1,
            occurred_at=due, alert_id=f"{o.visit_id}:missed", kind=AlertKind.MISSED,
            visit_id=o.visit_id, provider_id=o.provider_id, client_id=o.client_id,
            lot_id=o.lot_id, due_at=due,
        ))  # fmt: skip
        events.append(VisitExceptionRaised.model_construct(
            event_id=f"{o.visit_id}:exc", event_type="visit_exception_raised", schema_version=1,
            occurred_at=due, exception_id=f"{o.visit_id}:no_check_in",
            kind=ExceptionKind.NO_CHECK_IN, visit_id=o.visit_id, provider_id=o.provider_id,
            client_id=o.client_id, carer_id=None, detail="",
        ))  # fmt: skip
    return events


def copy_rows(
    conn: psycopg.Connection, table: str, rows: Iterable[Row],
    columns: tuple[str, ...] = OUTCOME_COLUMNS,
) -> float:  # fmt: skip
    """COPY ``rows`` into ``table``; return the seconds taken."""
    started = time.perf_counter()
    cols = ", ".join(columns)
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
        emit(f"storage_{'league' if name.startswith('league') else 'trend'}_p95_ms", p95_, "ms")


def _side_by_side(
    conn: psycopg.Connection, name: str, write: object, rows: list[Row], batch: int,
    table: str, columns: tuple[str, ...], steps: dict[str, float] | None = None,
) -> float:  # fmt: skip
    """Per batch: a bare COPY of it into ``table`` (rolled back), then the sink (committed).

    Interleaving the two cancels the drift of a shared machine's load between them.
    ``steps`` gains the sink's seconds per step (``write`` adds its own; stage and commit
    are added here).
    """
    copy_s = sink_s = 0.0
    split: dict[str, float] = steps if steps is not None else {}
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        copy_s += copy_rows(conn, table, chunk, columns)
        conn.rollback()
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(sink_sql.STAGE_TABLES)
            staged = time.perf_counter()
            write(conn, chunk)  # type: ignore[operator]
            written = time.perf_counter()
        done = time.perf_counter()
        split["stage"] = split.get("stage", 0.0) + staged - started
        split["commit"] = split.get("commit", 0.0) + done - written
        sink_s += done - started
    n = len(rows)
    print(
        f"  {name:26s} n={n:7,d}  bare COPY {n / copy_s:8,.0f} rows/s"
        f"  sink {n / sink_s:8,.0f} rows/s  ratio {copy_s / sink_s:4.2f}"
    )
    if table == "visit_outcomes":  # the headline: outcome upserts + rollups vs bare COPY
        emit("storage_sink_rows_per_s", n / sink_s, "rows/s")
        emit("storage_copy_rows_per_s", n / copy_s, "rows/s")
        emit("storage_sink_ratio_to_copy", copy_s / sink_s, "ratio")
        # The ceiling of any sink that keeps the rollups in step with each batch: the
        # same batches as if the rollups cost nothing (every other step as measured).
        emit("storage_sink_ratio_without_rollups", copy_s / (sink_s - split["rollups"]),
             "ratio")
        print(f"  {'':26s} sink µs/row: bare COPY {copy_s / n * 1e6:.1f}; " + ", ".join(
            f"{step} {seconds / n * 1e6:.1f}" for step, seconds in split.items()))
    return copy_s


def bench_revisions(conn: psycopg.Connection, rows: list[Row], batch: int) -> None:
    """The sink's µs per row by step for revisions of stored visits (updates, not inserts)."""
    steps: dict[str, float] = {}
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        with conn.transaction():
            conn.execute(sink_sql.STAGE_TABLES)
            OutcomeSink.write_outcome_rows(conn, rows[i : i + batch], steps)
    took = time.perf_counter() - started
    n = len(rows)
    print(f"  {'revised outcomes (update)':26s} n={n:7,d}  sink {n / took:8,.0f} rows/s;"
          " µs/row: " + ", ".join(f"{k} {v / n * 1e6:.1f}" for k, v in steps.items()))


def bench_ingest(conn: psycopg.Connection, rows: list[Row], raw: list[Row], batch: int) -> None:
    """Sink rates next to a bare COPY of the same rows (the ceiling), measured together."""
    conn.execute("SELECT ecm_ensure_partitions('2026-01-01', 2)")
    conn.commit()
    print(f"  ingest, sink batches of {batch:,}:")
    steps: dict[str, float] = {}

    def write(c: psycopg.Connection, chunk: list[Row]) -> int:
        return OutcomeSink.write_outcome_rows(c, chunk, steps)

    copy_s = _side_by_side(conn, "outcomes (upsert+rollups)", write, rows, batch,
                           "visit_outcomes", OUTCOME_COLUMNS, steps)  # fmt: skip
    started = time.perf_counter()
    for i in range(0, len(rows), batch):  # a redelivery: every row is already stored
        with conn.transaction():
            conn.execute(sink_sql.STAGE_TABLES)
            write(conn, rows[i : i + batch])
    again_s = time.perf_counter() - started
    print(
        f"  {'same outcomes again':26s} n={len(rows):7,d}  (no-op)"
        f"{'':28s}sink {len(rows) / again_s:8,.0f} rows/s  ratio {copy_s / again_s:4.2f}"
    )
    _side_by_side(conn, "raw events (append)", OutcomeSink.write_raw_rows, raw, batch,
                  "raw_events", RAW_EVENT_COLUMNS)  # fmt: skip


def bench_mixed(conn: psycopg.Connection, events: list[ContractEvent], batch: int) -> None:
    """Whole mixed batches through ``OutcomeSink.write``, as the stream worker calls it."""
    conn.commit()
    sink = OutcomeSink(conn)
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        sink.write(events[i : i + batch])
    took = time.perf_counter() - started
    print(f"  mixed write(), n={len(events):,} events: {len(events) / took:8,.0f} events/s")


def simulated_week(scale: float, seed: int) -> list[ContractEvent]:
    """A simulated week's inputs and the records the engine derives, in the live order.

    Each input event is followed by the records its replay published (outcome revisions,
    alerts, exceptions), as the sink's consumer meets them on the topics.
    """
    stream: list[ContractEvent] = []

    def inputs() -> Iterator[bytes]:
        for line in simulate(SimulationConfig(seed=seed, scale=scale, malformed_rate=0.0)):
            try:
                stream.append(parse_line(line.payload))
            except ContractError:
                continue
            yield line.payload

    replay_run(inputs(), story=stream.append)
    return stream


def relation_sizes(conn: psycopg.Connection) -> dict[str, int]:
    """Bytes of every table of the database with its indexes and TOAST, by table.

    Partitions (and TimescaleDB chunks) count under the table they belong to.
    """
    rows = conn.execute(
        "SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid))"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_inherits i ON i.inhrelid = c.oid"
        " LEFT JOIN pg_class p ON p.oid = i.inhparent"
        " WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'"
        " GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    return {name: int(size) for name, size in rows}


def live_row_bytes(conn: psycopg.Connection) -> dict[str, int]:
    """Bytes of every table's live rows alone, by table: each row as stored (its header and
    values, ``pg_column_size`` of the row) and its 4-byte line pointer.

    No index, dead row, free space, page header or TOAST overhead: the floor of any row
    store of these facts in these types (a partitioned table counts its partitions).
    """
    tables = [name for (name,) in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public' AND NOT c.relispartition"
    ).fetchall()]  # fmt: skip
    return {
        table: int(conn.execute(
            sql.SQL("SELECT coalesce(sum(pg_column_size(t.*) + 4), 0) FROM {} t").format(
                sql.Identifier(table))).fetchone()[0])
        for table in tables
    }  # fmt: skip


def bench_week_storage(admin_dsn: str, scale: float, seed: int, batch: int) -> None:
    """Every table and index after a simulated week replayed through the sink, scaled.

    A scratch database of its own: the inputs and every record (each outcome revision
    included) are written by ``OutcomeSink.write`` in batches, as the stream worker's sink
    writes them, then every relation is measured (no VACUUM: dead rows count).
    """
    events = simulated_week(scale, seed)
    name, dsn = scratch_dsn(admin_dsn)
    try:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            sink, started = OutcomeSink(conn), time.perf_counter()
            for i in range(0, len(events), batch):
                sink.write(events[i : i + batch])
            took = time.perf_counter() - started
            visits = conn.execute("SELECT count(*) FROM visit_outcomes").fetchone()[0]
            conn.execute("SELECT pg_stat_force_next_flush()")
            conn.execute("SELECT pg_stat_clear_snapshot()")
            dead, updated, hot = conn.execute(
                "SELECT coalesce(sum(n_dead_tup), 0), coalesce(sum(n_tup_upd), 0),"
                " coalesce(sum(n_tup_hot_upd), 0) FROM pg_stat_user_tables"
                " WHERE relname LIKE 'visit_outcomes%'"
            ).fetchone()
            sizes = relation_sizes(conn)
            live = sum(live_row_bytes(conn).values())
    finally:
        drop_database(admin_dsn, name)
    total = sum(sizes.values())
    per_million = total / 2**20 / visits * 1e6
    print(f"  simulated week at scale {scale}: {len(events):,} events and records,"
          f" {visits:,} visits, sunk in {took:.1f} s ({len(events) / took:,.0f}/s);"
          f" visit_outcomes: {updated:,} revisions updated, {hot / max(updated, 1):.0%} in"
          f" place (HOT), {dead:,} dead rows")  # fmt: skip
    print(f"  all tables and indexes {total / 2**20:,.1f} MiB = {per_million:,.0f} MiB"
          " per million visits; by table (MiB per million visits):")
    print("   " + ", ".join(f"{t} {b / 2**20 / visits * 1e6:,.0f}"
                            for t, b in sizes.items() if b))  # fmt: skip
    emit("storage_mib_per_million_visits_all_tables", per_million, "MiB")
    # The live mix through the whole sink, into a database that starts empty (its
    # statistics behind its growth, as a new deployment's are).
    emit("storage_week_sink_records_per_s", len(events) / took, "records/s")
    live_per_million = live / 2**20 / visits * 1e6
    print(f"  the live rows alone (no index, dead row or free space): {live_per_million:,.0f}"
          " MiB per million visits")
    emit("storage_live_rows_mib_per_million_visits", live_per_million, "MiB")


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
            drop_database(args.admin_dsn, name)
    bench_week_storage(args.admin_dsn, args.week_scale, args.seed, BATCH)


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop the scratch database; FORCE cannot end an autovacuum worker without privileges."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        for attempt in range(10):
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                try:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    return
                except psycopg.errors.ObjectInUse:
                    time.sleep(1 + attempt)
        print(f"  could not drop {name}; drop it by hand")


def load_and_measure(
    conn: psycopg.Connection, rng: random.Random, args: argparse.Namespace
) -> None:
    plan = client_plan(rng, max(10, round(KENT_CLIENTS * args.scale)))
    OutcomeSink(conn).write(packages(plan))
    conn.execute("SELECT ecm_ensure_partitions('2025-01-01', 13)")
    conn.commit()
    # Streamed: a Kent year of rows would not fit in memory at once.
    copy_s = copy_rows(conn, "visit_outcomes", generate(rng, plan, 52, YEAR_START, "v"))
    conn.commit()
    visits = conn.execute("SELECT count(*) FROM visit_outcomes").fetchone()[0]
    latest_s = timed(conn.execute, "SELECT ecm_rebuild_visit_latest()")  # the sink's lookup
    conn.commit()
    started = time.perf_counter()
    rebuild_rollups(conn, YEAR_START, YEAR_START + timedelta(weeks=52))
    roll_s = time.perf_counter() - started
    conn.execute("ANALYZE")
    conn.commit()
    print(f"scale {args.scale}: {visits:,} visits, {len(plan):,} clients, {PROVIDERS} providers")
    print(
        f"  generate + bulk COPY {copy_s:.1f} s ({visits / copy_s:,.0f} rows/s);"
        f" visit_latest {latest_s:.1f} s; rollups rebuilt {roll_s:.1f} s"
    )
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    vo = float(
        conn.execute(
            "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
            " WHERE inhparent = 'visit_outcomes'::regclass"
        ).fetchone()[0]
    )
    vl = conn.execute("SELECT pg_total_relation_size('visit_latest')").fetchone()[0]
    print(
        f"  database {size / 2**20:,.0f} MiB = {size / 2**20 / visits * 1e6:,.0f} MiB per million"
        f" visits (visit_outcomes incl. indexes {vo / 2**20 / visits * 1e6:,.0f} MiB/M,"
        f" visit_latest {vl / 2**20 / visits * 1e6:,.0f} MiB/M)"
    )
    emit("storage_mb_per_million_visits", size / 2**20 / visits * 1e6, "MiB")
    bench_queries(conn, rng, args.reps)
    share = plan[: max(1, round(len(plan) * args.sink_share))]
    # In the order the stream worker meets them: visits end through the week.
    week = sorted(outcomes(rng, share, 1, date(2026, 1, 5), "s"), key=lambda o: o.planned_start)
    raw = [raw_event_row(e) for o in week for e in visit_events(o) if isinstance(e, CarerCheckedIn)]
    bench_ingest(conn, [outcome_row(o) for o in week], raw, args.batch)
    revised = [o.model_copy(update={"event_id": f"{o.event_id}:2",
                                    "occurred_at": o.occurred_at + timedelta(hours=1)})
               for o in week]  # fmt: skip
    bench_revisions(conn, [outcome_row(o) for o in revised], args.batch)
    later = sorted(outcomes(rng, share, 1, date(2026, 1, 12), "m"), key=lambda o: o.planned_start)
    mixed = [e for o in later for e in visit_events(o)]
    bench_mixed(conn, mixed, args.batch)


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
    parser.add_argument(
        "--week-scale", type=float, default=0.1,
        help="scale of the simulated week replayed through the sink for the storage figure",
    )
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
