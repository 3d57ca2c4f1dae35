"""Benchmark: in-process replay throughput on a generated Kent-sized week.

Generates (deterministic seed) ~72,000 visits of one ISO week with reference data,
the rota and carers' check-ins/outs as contract-v1 JSON lines, then times
``ecm.replay.run`` over them (JSON parsing and validation included) and, separately,
writing the four output files.

    .venv/bin/python benchmarks/bench_replay.py [--visits 72000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from figures import emit

from ecm.contracts import parse_event
from ecm.replay import run, write_outputs

WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)


def generate(visits: int, seed: int = 47) -> list[bytes]:
    rng = random.Random(seed)
    lines: list[dict[str, object]] = []
    n_clients, n_carers, n_providers, n_lots = visits // 16, visits // 48, 30, 12
    ref_at, valid = "2026-01-01T00:00:00Z", {"effective_from": "2026-01-01"}
    for lot in range(n_lots):
        lines.append({"event_type": "rate_card_published", "event_id": f"rc{lot}",
                      "occurred_at": ref_at, "rate_card_id": f"RC{lot}", "lot_id": f"L{lot}",
                      "service": "home_care", "hourly_rate": "21.50",
                      "rurality_weighting": {"rural_village_dispersed": "1.1"}, **valid})
    for c in range(n_clients):
        lot, provider = c % n_lots, c % n_providers
        lines.append({"event_type": "client_registered", "event_id": f"cl{c}",
                      "occurred_at": ref_at, "client_id": f"C{c}", "lot_id": f"L{lot}",
                      "rurality": rng.choice(["urban", "rural_village_dispersed"]),
                      "location": {"lat": 51.2 + c * 1e-5, "lon": 0.9}, **valid})
        lines.append({"event_type": "care_package_agreed", "event_id": f"pk{c}",
                      "occurred_at": ref_at, "package_id": f"PK{c}", "client_id": f"C{c}",
                      "provider_id": f"P{provider}", "lot_id": f"L{lot}",
                      "service": "home_care", "weekly_hours": "12", **valid})
    for k in range(n_carers):
        lines.append({"event_type": "carer_registered", "event_id": f"ca{k}",
                      "occurred_at": ref_at, "carer_id": f"K{k}",
                      "provider_id": f"P{k % n_providers}", **valid})
    calls = []
    for v in range(visits):
        client = rng.randrange(n_clients)
        provider = client % n_providers
        start = WEEK_START + timedelta(minutes=rng.randrange(7 * 24 * 4) * 15)
        length = rng.choice([30, 30, 45, 60])
        vid, cid, pid = f"V{v}", f"C{client}", f"P{provider}"
        lines.append({"event_type": "visit_planned", "event_id": f"p{v}",
                      "occurred_at": (WEEK_START - timedelta(days=3)).isoformat(),
                      "visit_id": vid, "provider_id": pid, "client_id": cid,
                      "service": "home_care", "planned_start": start.isoformat(),
                      "planned_end": (start + timedelta(minutes=length)).isoformat()})
        if rng.random() < 0.02:
            continue  # missed
        carer = f"K{provider + n_providers * rng.randrange(max(1, n_carers // n_providers))}"
        t_in = start + timedelta(minutes=rng.randint(-10, 25))
        t_out = t_in + timedelta(minutes=length + rng.randint(-12, 5))
        base = {"visit_id": vid, "provider_id": pid, "client_id": cid, "carer_id": carer}
        calls.append((t_in, {"event_type": "carer_checked_in", "event_id": f"i{v}",
                             "occurred_at": t_in.isoformat(), "method": "app_gps",
                             "location": {"lat": 51.2 + client * 1e-5, "lon": 0.9}, **base}))
        if rng.random() < 0.99:
            calls.append((t_out, {"event_type": "carer_checked_out", "event_id": f"o{v}",
                                  "occurred_at": t_out.isoformat(), "method": "telephony",
                                  **base}))
    # Calls arrive in time order with a little jitter.
    calls.sort(key=lambda c: c[0] + timedelta(seconds=rng.randint(0, 120)))
    lines.extend(call for _, call in calls)
    return [json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines]


def machine() -> str:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    import os

    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def parse_only(lines: list[bytes]) -> float:
    """Return the seconds a bare pydantic ``parse_event`` loop takes over ``lines``.

    The ceiling for the replay on this machine right now: the replay parses each line
    exactly like this, then does all its work on top. Best of three, to damp noise.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for line in lines:
            parse_event(line)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=72_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    lines = generate(args.visits)
    parse_s = parse_only(lines)
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    result = run(lines)
    engine_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        write_outputs(result, Path(tmp))
    total_s = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    n = len(lines)
    print(f"machine: {machine()}")
    print(f"{n} events, {len(result.outcomes)} visits, {len(result.alerts)} alert records, "
          f"{len(result.exceptions)} exceptions")
    print(f"replay (parse + engine + outcomes + KPIs): {engine_s:.2f}s = "
          f"{n / engine_s:,.0f} events/s")
    print(f"including writing the four files:        {total_s:.2f}s = {n / total_s:,.0f} events/s")
    print(f"parse only (pydantic parse_event, same lines): {parse_s:.2f}s = "
          f"{n / parse_s:,.0f} events/s")
    print(f"replay / parse-only throughput: {parse_s / engine_s:.3f} "
          f"(with output files: {parse_s / total_s:.3f})")
    emit("replay_events_per_s", n / engine_s, "events/s")
    emit("replay_parse_ceiling_events_per_s", n / parse_s, "events/s")
    emit("replay_ratio_to_parse", parse_s / engine_s, "ratio")


if __name__ == "__main__":
    main()
