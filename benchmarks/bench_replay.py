"""Benchmark: ``ecm replay`` on simulated Kent weeks, against its own ceilings, in one run.

Generates weeks with ``ecm simulate`` (seeded, as a new user would), then times, in
turn in one process (each round runs every one of them once; the best of the rounds):

- parsing and validating every line with the contract (``parse_event``): the ceiling,
  since the replay parses each line exactly so and does all its work on top;
- ``ecm.replay.run`` over the same lines (the worker's handlers over in-memory stores);
- the same handlers with visit state kept as bytes, as a worker's Faust table holds it;
- the replay of a tenth of the week, and of four weeks at that tenth, per event;
- writing the week's story (every record the replay publishes, as ``ecm replay`` writes
  ``records.jsonl``) with the contract, and nothing else: with parsing, the floor of
  any replay, whatever its rules cost.

    .venv/bin/python benchmarks/bench_replay.py [--scale 1.0]

Figures (``benchmarks/results.json``): ``replay_ratio_to_parse``,
``replay_scale_cost_ratio``, ``replay_week4_cost_ratio``, ``ledger_ratio_to_replay``;
``replay_ratio_to_parse_without_rules``: parsing over parsing plus writing the story,
the most ``replay_ratio_to_parse`` could be with rules that cost nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from figures import emit

from ecm.contracts import ContractEvent, dump_event, parse_event
from ecm.replay import run
from ecm.visits.ledger import DictStore, EncodedVisits

START = "2026-11-16"


def simulate(scale: float, weeks: int, out: Path) -> list[bytes]:
    ecm = Path(sys.executable).with_name("ecm")
    subprocess.run([str(ecm), "simulate", "--seed", "42", "--weeks", str(weeks), "--start",
                    START, "--scale", str(scale), "--out", str(out)],
                   check=True, stderr=subprocess.DEVNULL)
    return out.read_bytes().splitlines()


def side_by_side(repeats: int, *works: Callable[[], object]) -> list[float]:
    """The shortest timing of each of ``works``, run in turn ``repeats`` times.

    In turn, not one after the other: on a shared machine the load drifts over the
    minutes a whole week takes, and runs in a row would each meet a different drift (the
    tenth of a week, timed alone after the whole weeks, read 369 and then 494 µs an event
    within ten minutes; in turn, the ratios moved by a few hundredths).
    """
    best = [float("inf")] * len(works)
    for _ in range(repeats):
        for i, work in enumerate(works):
            gc.collect()
            started = time.perf_counter()
            work()
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def parse_only(lines: list[bytes]) -> None:
    for line in lines:
        try:
            parse_event(line)
        except ValueError:
            pass  # the simulator's malformed lines: rejected, as the replay does


def write_story(story: list[ContractEvent]) -> None:
    """Encode every record of a replay's story, as ``ecm replay`` writes them."""
    for record in story:
        dump_event(record)


def replay_as_worker(lines: list[bytes]) -> None:
    """The same handlers with visit state kept as bytes, as a Faust table holds it."""
    run(lines, visit_store=EncodedVisits(DictStore()))


def machine() -> str:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="share of Kent simulated")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        week = simulate(args.scale, 1, Path(tmp) / "week.jsonl")
        tenth = simulate(args.scale / 10, 1, Path(tmp) / "tenth.jsonl")
        month = simulate(args.scale / 10, 4, Path(tmp) / "month.jsonl")
    story: list[ContractEvent] = []
    run(week, story=story.append)
    parse_s, replay_s, worker_s, tenth_s, month_s, story_s = side_by_side(
        args.repeats, lambda: parse_only(week), lambda: run(week),
        lambda: replay_as_worker(week), lambda: run(tenth), lambda: run(month),
        lambda: write_story(story))
    per_week, per_tenth = replay_s / len(week), tenth_s / len(tenth)
    per_month = month_s / len(month)
    print(f"machine: {machine()}")
    print(f"a week at scale {args.scale}: {len(week):,} lines; a tenth: {len(tenth):,}; "
          f"four weeks at a tenth: {len(month):,}")
    print(f"parse only:          {parse_s:7.2f} s = {len(week) / parse_s:9,.0f} lines/s")
    print(f"ecm replay:          {replay_s:7.2f} s = {len(week) / replay_s:9,.0f} events/s")
    print(f"handlers as worker:  {worker_s:7.2f} s = {len(week) / worker_s:9,.0f} events/s")
    print(f"replay, a tenth:     {tenth_s:7.2f} s = {1e6 * per_tenth:6.1f} us/event "
          f"(whole week {1e6 * per_week:6.1f})")
    print(f"replay, four weeks:  {month_s:7.2f} s = {1e6 * per_month:6.1f} us/event")
    budget = (parse_s / 0.25 - parse_s - story_s) / len(week)
    print(f"writing the story:   {story_s:7.2f} s = {1e6 * story_s / len(week):6.1f} us/event "
          f"({len(story) / len(week):.2f} records an event); at replay_ratio_to_parse 0.25 "
          f"the rules would have {1e6 * budget:.1f} us/event (they take "
          f"{1e6 * (replay_s - parse_s) / len(week):.1f})")  # fmt: skip
    emit("replay_events_per_s", len(week) / replay_s, "events/s")
    emit("replay_parse_ceiling_events_per_s", len(week) / parse_s, "events/s")
    emit("replay_ratio_to_parse", parse_s / replay_s, "ratio")
    emit("replay_scale_cost_ratio", per_week / per_tenth, "ratio")
    emit("replay_week4_cost_ratio", per_month / per_tenth, "ratio")
    emit("ledger_ratio_to_replay", replay_s / worker_s, "ratio")
    emit("replay_story_write_us_per_event", 1e6 * story_s / len(week), "us/event")
    emit("replay_ratio_to_parse_without_rules", parse_s / (parse_s + story_s), "ratio")


if __name__ == "__main__":
    main()
