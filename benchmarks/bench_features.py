"""Benchmark: issue 19's features against the simulator's ground truth.

Simulates weeks with ``ecm simulate`` (seeded; the ground truth lands next to the events
as ``*.truth.jsonl``, see ``ecm/simulate/truth.py``), replays them in-process with
``ecm.replay.run`` (the worker's handlers) and measures what ecm found against what the
simulator knows:

- rota realism (item 4): of the gaps the simulator planned too short for travel on
  purpose, at providers naming planned carers, the share ecm raised
  ``insufficient_travel_time`` for (``rota_realism_recall``, target >= 0.95); and of
  the exceptions raised, the share the simulator's own travel also finds too short
  (``rota_realism_precision``).
- "at risk" alerts (item 3): of the visits late or missed because of where their carer
  was, the share warned first (``at_risk_recall``, target >= 0.8; over every cause,
  ``at_risk_recall_all_causes``); of the warnings, the share followed by a late or missed
  visit (``at_risk_precision``, target >= 0.8); how long before the "not arrived"
  deadline the warning came (``at_risk_lead_minutes_p50``, target >= 10).

    .venv/bin/python benchmarks/bench_features.py [--scale 0.1] [--weeks 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from figures import emit

from ecm import contracts as c
from ecm.replay import ReplayResult, run
from ecm.simulate.truth import names_planned_carers

START = "2026-11-16"
ROTA_KIND = "insufficient_travel_time"


@dataclass
class Replayed:
    """One simulated run replayed: its ground truth, its end state and its whole story."""

    truth: list[dict[str, Any]]
    result: ReplayResult
    records: list[c.ContractEvent] = field(default_factory=list)
    """Every record the live path would publish, in the order it arose."""


def simulate_and_replay(scale: float, weeks: int, workdir: Path) -> Replayed:
    """Simulate (seed 42) into ``workdir`` and replay the events in-process."""
    ecm = Path(sys.executable).with_name("ecm")
    events = workdir / "events.jsonl"
    subprocess.run([str(ecm), "simulate", "--seed", "42", "--weeks", str(weeks), "--start",
                    START, "--scale", str(scale), "--out", str(events)],
                   check=True, stderr=subprocess.DEVNULL)
    truth = [json.loads(line) for line in (workdir / "events.truth.jsonl").open("rb")]
    records: list[c.ContractEvent] = []
    with events.open("rb") as handle:
        result = run(handle, story=records.append)
    return Replayed(truth, result, records)


def rota_realism(replayed: Replayed) -> None:
    """``rota_realism_recall`` and ``rota_realism_precision`` (docs/rules.md, "Rota realism")."""
    gaps = [t for t in replayed.truth if t["record"] == "gap" and t["named"]]
    short = {(t["visit_id"], t["carer_id"]) for t in gaps if t["too_short"]}
    deliberate = {(t["visit_id"], t["carer_id"]) for t in gaps
                  if t["deliberate"] and t["too_short"]}
    raised = {(e.visit_id, e.carer_id) for e in replayed.result.exceptions
              if e.kind.value == ROTA_KIND}
    found = deliberate & raised
    recall = len(found) / len(deliberate) if deliberate else 0.0
    precision = len(raised & short) / len(raised) if raised else 0.0
    print(f"rota realism: {len(gaps)} gaps judged by the simulator, {len(short)} too short "
          f"for its travel, {len(deliberate)} made too short on purpose; ecm raised "
          f"{len(raised)}, {len(found)} of the deliberate ones", flush=True)
    emit("rota_realism_recall", recall, "ratio")
    emit("rota_realism_precision", precision, "ratio")


WHEREABOUTS_CAUSES = frozenset({"previous_overran", "travel", "rota_gap_too_short"})
"""Why a visit was late that "at risk" is about (docs/rules.md, "At risk"): where its
carer was (still at the previous visit, or leaving it too late for the travel). The
simulator's other causes give ecm no sign before the visit is late: a carer who left in
time and then arrived late anyway (``carer_late``), a crew or stand-in starting the day
late, a carer who never came."""


def at_risk(replayed: Replayed) -> None:
    """The "at risk" alerts of item 3, against the simulator's ground truth.

    - ``at_risk_recall``: of the visits late or missed because of where their carer was
      (``WHEREABOUTS_CAUSES``), at providers naming planned carers, the share warned
      before the first check-in (any time, for a missed visit);
      ``at_risk_recall_all_causes`` the same over every late or missed visit there.
    - ``at_risk_precision``: of the visits warned, the share late or missed.
    - ``at_risk_lead_minutes_p50``: for the visits warned and then alerted "not arrived",
      how long before that alert's deadline the warning came (median).
    """
    truth = {t["visit_id"]: t for t in replayed.truth
             if t["record"] == "visit" and names_planned_carers(t["provider_id"])}
    warned: dict[str, datetime] = {}
    not_arrived: dict[str, datetime] = {}
    for record in replayed.records:
        if isinstance(record, c.AlertRaised) and record.kind.value == "at_risk":
            warned.setdefault(record.visit_id, record.occurred_at)
        elif isinstance(record, c.AlertRaised) and record.kind.value == "not_arrived":
            not_arrived.setdefault(record.visit_id, record.due_at)
    arrived = {o.visit_id: o.first_check_in for o in replayed.result.outcomes}

    def first(visit_id: str) -> bool:
        check_in = arrived.get(visit_id)
        return visit_id in warned and (check_in is None or warned[visit_id] < check_in)

    foreseeable = [v for v, t in truth.items() if t["cause"] in WHEREABOUTS_CAUSES]
    caught = [v for v in foreseeable if first(v)]
    caught_all = [v for v in truth if first(v)]
    true_warnings = [v for v in warned if v in truth]
    leads = sorted((not_arrived[v] - warned[v]).total_seconds() / 60
                   for v in caught_all if v in not_arrived)
    print(f"at risk: {len(truth)} visits late or missed at providers naming carers, "
          f"{len(foreseeable)} of them because of where the carer was; ecm warned of "
          f"{len(warned)} visits, {len(true_warnings)} of them late or missed; "
          f"{len(caught)} of the {len(foreseeable)} warned first ({len(caught_all)} of all "
          f"{len(truth)}); {len(leads)} warned and then alerted not arrived", flush=True)
    emit("at_risk_recall", len(caught) / len(foreseeable) if foreseeable else 0.0, "ratio")
    emit("at_risk_recall_all_causes", len(caught_all) / len(truth) if truth else 0.0, "ratio")
    emit("at_risk_precision", len(true_warnings) / len(warned) if warned else 0.0, "ratio")
    emit("at_risk_lead_minutes_p50", statistics.median(leads) if leads else 0.0, "minutes")


FEATURES: list[Callable[[Replayed], None]] = [rota_realism, at_risk]
"""Each feature's measurement, run on the same replayed weeks."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--weeks", type=int, default=2)
    args = parser.parse_args()
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        replayed = simulate_and_replay(args.scale, args.weeks, Path(tmp))
        print(f"simulated and replayed {args.weeks} week(s) at scale {args.scale} in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    for measure in FEATURES:
        measure(replayed)


if __name__ == "__main__":
    main()
