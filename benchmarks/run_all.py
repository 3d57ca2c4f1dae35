"""Run every benchmark (``make bench``; ``make bench-quick`` at a tenth of the size).

Each benchmark runs as a subprocess, one after the other (they would skew each other on
a shared machine); its output is echoed as it comes and its ``FIGURE`` lines (see
``benchmarks/figures.py``) are collected. Then this prints a summary table, writes
``benchmarks/results.json`` (figure name -> value and unit, plus ``_meta``) and rewrites
the "Latest `make bench` run" section at the top of ``benchmarks/RESULTS.md``, keeping
the per-benchmark analysis below it. A benchmark that fails is reported and the others
still run; the exit status is then non-zero.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only stream]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from figures import parse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSON = HERE / "results.json"
# A full Kent week (~240,000 events + ~52,000 ticks per partition set) through one
# worker would take over an hour on this shared 2-core machine (measured 2026-11-23:
# ~110 messages/s under load 5, a tenth of a week in ~6 minutes), so the full run's
# end-to-end throughput uses the largest scale estimated to finish within ~10 minutes.
# Raise it as the worker gets faster; 1.0 is the Kent week.
STREAM_FULL_SCALE = "0.15"
# Each of the four weeks of the multi-week part (issue 17): ~10 minutes for the four here.
STREAM_WEEKS_SCALE = "0.1"


@dataclass(frozen=True)
class Bench:
    """One benchmark script with its arguments for the full and the quick run."""

    name: str
    script: str
    full: list[str]
    quick: list[str]
    timeout_s: float = 3600


BENCHES = [
    Bench("replay", "bench_replay.py", [], ["--scale", "0.1"]),
    Bench("storage", "bench_storage.py", [], ["--scale", "0.1"]),
    Bench("api", "bench_api.py", [], ["--seconds", "5", "--csv-rows", "20000"]),
    # Issue 19: rota realism and "at risk" alerts against the simulator's ground truth.
    Bench("features", "bench_features.py", [], ["--scale", "0.03", "--weeks", "1"]),
    # Issue 17: four weeks at STREAM_WEEKS_SCALE each; recovery with a Kent week open.
    Bench("stream", "bench_stream.py",
          ["--scale", STREAM_FULL_SCALE, "--weeks-scale", STREAM_WEEKS_SCALE,
           "--open-visits", "72000", "--open-days", "7"],
          ["--scale", "0.1", "--layouts", "one", "--weeks-scale", "0.02", "--open-visits", "1000",
           "--spread-s", "30", "--recovery-timeout-s", "120"], timeout_s=7200),  # fmt: skip
]


@dataclass
class Outcome:
    """What one benchmark produced."""

    bench: Bench
    command: str
    seconds: float = 0.0
    returncode: int = 0
    figures: dict[str, tuple[float, str]] = field(default_factory=dict)
    kept: bool = False  # not run now: the figures recorded last time (``--only``)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_bench(bench: Bench, quick: bool) -> Outcome:
    """Run one benchmark, echo its output, collect its figures; never raises on its failure."""
    argv = [sys.executable, str(HERE / bench.script), *(bench.quick if quick else bench.full)]
    shown = " ".join([".venv/bin/python", f"benchmarks/{bench.script}", *argv[2:]])
    outcome = Outcome(bench, shown)
    print(f"\n=== {bench.name}: {shown}", flush=True)
    started = time.monotonic()
    # A session of its own, so a timeout ends the benchmark and the workers it started.
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1,
                            env=os.environ | {"PYTHONUNBUFFERED": "1"},  # echo as it comes
                            start_new_session=True)  # fmt: skip
    timer = threading.Timer(bench.timeout_s, _stop, (bench, proc))
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            figure = parse(line)
            if figure:
                outcome.figures[figure[0]] = figure[1:]
        outcome.returncode = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        outcome.returncode = proc.wait()
    finally:
        timer.cancel()
    outcome.seconds = time.monotonic() - started
    return outcome


def _stop(bench: Bench, proc: subprocess.Popen[str]) -> None:
    """End a benchmark that ran over its time (SIGTERM, so it can clean up after itself)."""
    print(f"=== {bench.name}: over {bench.timeout_s:.0f} s, stopping it", flush=True)
    os.killpg(proc.pid, signal.SIGTERM)


def machine() -> dict[str, str]:
    """This machine, as RESULTS.md describes it: CPUs, model, memory, Python, load."""
    info = {"cpu_model": "unknown", "memory": "unknown"}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            info["cpu_model"] = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            info["memory"] = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"nproc": str(os.cpu_count()), **info, "python": platform.python_version(),
            "load_average_at_start": load}  # fmt: skip


def fmt(value: float) -> str:
    """A figure for people: thousands separated, at most three decimals."""
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(outcomes: list[Outcome]) -> list[str]:
    """The summary: one row per figure, and one per failed benchmark."""
    rows = ["| figure | value | unit | benchmark |", "| --- | --- | --- | --- |"]
    for o in outcomes:
        for name, (value, unit) in o.figures.items():
            rows.append(f"| {name} | {fmt(value)} | {unit} | {o.bench.name} |")
        if not o.ok:
            rows.append(f"| **{o.bench.name} FAILED** (exit {o.returncode}) | | | {o.bench.name} |")
    return rows


def write_json(outcomes: list[Outcome], meta: dict[str, object]) -> None:
    """``results.json``: {figure: {"value", "unit"}} and ``_meta``."""
    data: dict[str, object] = {
        name: {"value": value, "unit": unit}
        for o in outcomes for name, (value, unit) in o.figures.items()
    }  # fmt: skip
    data["_meta"] = meta
    RESULTS_JSON.write_text(json.dumps(data, indent=2) + "\n")


LATEST = re.compile(r"^## Latest `make bench(?:-quick)?` run.*?(?=^## |\Z)", re.M | re.S)


def write_markdown(outcomes: list[Outcome], meta: dict[str, object], target: str) -> None:
    """Put this run's section at the top of RESULTS.md; keep the other target's and the rest."""
    m = meta["machine"]
    assert isinstance(m, dict)
    section = [
        f"## Latest `make {target}` run", "",
        f"Run {meta['date']} with `make {target}` (`{meta['command']}`), "
        f"{meta['seconds']:.0f} s in all. Machine: {m['nproc']} CPUs ({m['cpu_model']}), "
        f"{m['memory']} RAM, Python {m['python']}, load average at start "
        f"{m['load_average_at_start']} (shared with other sessions).", "",
        *table(outcomes), "", "Commands:", "",
        *[f"- {o.bench.name}: `{o.command}` "
          f"({'not run now: figures kept from the last run' if o.kept else f'{o.seconds:.0f} s'}"
          f"{'' if o.ok else ', FAILED'})" for o in outcomes],
        "", *NOTES, "",
    ]  # fmt: skip
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    kept = [s for s in LATEST.findall(old) if not s.startswith(f"## Latest `make {target}` run")]
    rest = LATEST.sub("", old).lstrip("\n")
    RESULTS_MD.write_text("\n".join(section) + "\n" + "".join(kept) + rest)


NOTES = [
    "Figures come from the benchmarks' `FIGURE` lines; `benchmarks/results.json` has the same",
    "numbers for mechanical comparison. `stream_e2e_scale` is the simulated week's size the",
    "end-to-end throughput was measured on (1.0 = a Kent week, ~240,000 events): the full run",
    f"uses {STREAM_FULL_SCALE}, the largest estimated to finish within ~10 minutes here",
    "(see `STREAM_FULL_SCALE` in `benchmarks/run_all.py`). The end-to-end time runs from the",
    "worker's start (startup included) until its group has committed every input topic.",
    "Alert latency is the arrival at a consumer of the alerts topic minus the alert's `due_at`.",
    "`stream_records_produced_per_event` counts every record written on the prefix's topics",
    "(outputs and table changelogs) after the one-worker replay, over its input events.",
    f"`stream_week4_to_week1_rate_ratio`: four weeks at {STREAM_WEEKS_SCALE} of a Kent week each"
    " in the full run.",
]


def previous(rerun: set[str]) -> list[Outcome]:
    """The last recorded results of the benchmarks not in ``rerun`` (for ``--only``)."""
    old = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    runs = {r["bench"]: r for r in old.get("_meta", {}).get("runs", [])}
    kept = []
    for bench in BENCHES:
        named = set(runs.get(bench.name, {}).get("figures", ()))  # older files: by prefix
        figures = {n: (f["value"], f["unit"]) for n, f in old.items() if isinstance(f, dict)
                   and (n in named or n.startswith(f"{bench.name}_"))}  # fmt: skip
        if bench.name in rerun or not (figures or bench.name in runs):
            continue
        run = runs.get(bench.name, {})
        command = run.get("command", f"benchmarks/{bench.script}")
        kept.append(Outcome(bench, command, run.get("seconds") or 0.0, run.get("returncode") or 0,
                            figures, kept=True))  # fmt: skip
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    parser.add_argument("--only", choices=[b.name for b in BENCHES], action="append")
    args = parser.parse_args()
    target = "bench-quick" if args.quick else "bench"
    meta: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
        "machine": machine(), "command": " ".join(["benchmarks/run_all.py", *sys.argv[1:]]),
    }  # fmt: skip
    started = time.monotonic()
    ran = [run_bench(b, args.quick) for b in BENCHES if not args.only or b.name in args.only]
    meta["seconds"] = time.monotonic() - started
    # With --only, the other benchmarks' last figures are kept and shown with these.
    names = {o.bench.name for o in ran}
    outcomes = sorted([*ran, *(previous(names) if args.only else [])],
                      key=lambda o: [b.name for b in BENCHES].index(o.bench.name))  # fmt: skip
    meta["failed"] = [o.bench.name for o in outcomes if not o.ok]
    meta["runs"] = [{"bench": o.bench.name, "command": o.command, "seconds": round(o.seconds, 1),
                     "returncode": o.returncode, "figures": sorted(o.figures)}
                    for o in outcomes]  # fmt: skip
    print("\n" + "\n".join(table(outcomes)))
    write_json(outcomes, meta)
    write_markdown(outcomes, meta, target)
    print(f"\nwrote {RESULTS_JSON.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}")
    failed = [o.bench.name for o in ran if not o.ok]
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
