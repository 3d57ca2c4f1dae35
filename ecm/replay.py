"""Replay an extract of contract-v1 events in-process: outcomes, alerts, exceptions, KPIs.

No Kafka, no database. Events are applied in arrival (file) order; the watermark is the
latest ``occurred_at`` of any schedule or call event so far; at the end every deadline
is flushed (or those up to ``until``). Outputs are byte-identical for the same input.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ecm import contracts as c
from ecm.domain.alerts import AlertChange
from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.exceptions import VisitException
from ecm.domain.kpis import KPI_COLUMNS, aggregate, format_row
from ecm.domain.outcome import VisitOutcome
from ecm.visits.engine import VisitEngine
from ecm.visits.translate import alert_record, exception_record, outcome_record

OUTPUT_FILES = ("outcomes.jsonl", "alerts.jsonl", "exceptions.jsonl", "kpis.csv")


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line that is not a valid input event, with its 1-based number and the reason."""

    line_no: int
    reason: str


@dataclass(slots=True)
class ReplaySummary:
    """What a replay read and wrote."""

    lines: int = 0
    events: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)
    after_until: int = 0
    outcomes: int = 0
    alerts: int = 0
    exceptions: int = 0
    kpi_rows: int = 0
    watermark: datetime | None = None


@dataclass(slots=True)
class ReplayResult:
    """Everything a replay derived, in output order."""

    outcomes: list[VisitOutcome]
    alerts: list[AlertChange]
    exceptions: list[VisitException]
    kpi_rows: list[list[str]]


def parse_line(raw: bytes) -> c.InputEvent:
    """Parse one line into an input event.

    Raises:
        ContractError: the line is not a valid contract-v1 input event.

    """
    event = c.parse_event(raw)
    if isinstance(event, c.OutputEvent):
        raise c.ContractError([c.FieldError("event_type", "an output event is not an input")])
    return event


def run(
    lines: Iterable[bytes],
    until: datetime | None = None,
    summary: ReplaySummary | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay lines of JSON events in order and return the derived records.

    Args:
        lines: one JSON event per line; blank lines are ignored.
        until: stop the clock here: later schedule/call events are skipped and only
            deadlines at or before it fire.
        summary: filled in with counts and invalid lines, if given.
        progress: called now and then with the number of bytes read since the last call.

    """
    summary = summary if summary is not None else ReplaySummary()
    engine, read = VisitEngine(), 0
    for line_no, raw in enumerate(lines, start=1):
        summary.lines = line_no
        read += len(raw)
        if progress is not None and line_no % 4096 == 0:
            progress(read)
            read = 0
        if not raw.strip():
            continue
        try:
            event = parse_line(raw)
        except c.ContractError as exc:
            summary.invalid.append(InvalidLine(line_no, str(exc)))
            continue
        if until is not None and isinstance(event, c.VisitEvent) and event.occurred_at > until:
            summary.after_until += 1
            continue
        summary.events += 1
        engine.handle(event)
    engine.flush(until)
    summary.watermark = engine.watermark
    return _collect(engine, until or END_OF_TIME)


def _collect(engine: VisitEngine, watermark: datetime) -> ReplayResult:
    outcomes, exceptions = [], list(engine.overlaps())
    for result in engine.results(watermark, inclusive=True):
        if result.outcome is not None:
            outcomes.append(result.outcome)
        exceptions.extend(result.exceptions)
    exceptions.sort(key=lambda e: e.exception_id)
    alerts = engine.alert_history()
    rows = [format_row(row) for row in aggregate(outcomes, engine.reference)]
    return ReplayResult(outcomes, alerts, exceptions, rows)


def write_outputs(result: ReplayResult, out_dir: Path) -> None:
    """Write outcomes.jsonl, alerts.jsonl, exceptions.jsonl and kpis.csv into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / "outcomes.jsonl", (outcome_record(o) for o in result.outcomes))
    _write_jsonl(out_dir / "alerts.jsonl", (alert_record(a) for a in result.alerts))
    _write_jsonl(out_dir / "exceptions.jsonl", (exception_record(e) for e in result.exceptions))
    with (out_dir / "kpis.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(KPI_COLUMNS)
        writer.writerows(result.kpi_rows)


def _write_jsonl(path: Path, records: Iterable[c.ContractEvent]) -> None:
    with path.open("wb") as handle:
        for record in records:
            handle.write(c.dump_event(record) + b"\n")


def replay_file(
    input_path: Path,
    out_dir: Path,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Replay a JSONL file into ``out_dir`` and return the summary (see ``run``)."""
    summary = ReplaySummary()
    with input_path.open("rb") as handle:
        result = run(handle, until, summary, progress)
    write_outputs(result, out_dir)
    summary.outcomes, summary.alerts = len(result.outcomes), len(result.alerts)
    summary.exceptions, summary.kpi_rows = len(result.exceptions), len(result.kpi_rows)
    return summary
