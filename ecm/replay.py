"""Replay an extract of contract events in-process: outcomes, alerts, exceptions, KPIs.

No Kafka, no database, and no rules of its own: the replay is the stream worker's
handlers (``ecm.visits.ledger.VisitLedger`` and ``ecm.visits.carers.CarerLedger``) over
in-memory stores with one partition. Events are applied in arrival (file) order; after
each schedule or call event that moves the watermark (the latest ``occurred_at`` so far,
in five-minute steps) a tick follows, as ``ecm publish`` sends it through Kafka; at the
end a flush fires every deadline (or those up to ``until``). Outputs are byte-identical
for the same input. Acts the workflow refuses (docs/rules.md, "Closing the loop") are
listed in the summary and ``refused.jsonl``, as the worker dead-letters them.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ecm import contracts as c
from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.events import CallTimeCorrected, CarerCall, VisitEvent
from ecm.domain.kpis import (
    KPI_COLUMNS,
    ROTA_COLUMNS,
    aggregate,
    aggregate_gaps,
    format_rota_row,
    format_row,
)
from ecm.domain.reference import ReferenceData
from ecm.domain.rota import ScheduleEvent
from ecm.domain.serial import compact_json
from ecm.domain.watermark import Watermark
from ecm.visits.carers import CarerLedger
from ecm.visits.ledger import DictStore, Emission, Position, Store, VisitLedger
from ecm.visits.rota import RotaLedger, rota_messages
from ecm.visits.state import StoredVisit
from ecm.visits.translate import (
    gap_from_record,
    outcome_from_record,
    reference_record,
    visit_event,
)

OUTPUT_FILES = ("outcomes.jsonl", "alerts.jsonl", "exceptions.jsonl", "kpis.csv",
                "records.jsonl", "refused.jsonl", "rota.csv")
FREEZE_EVERY = 1_000
"""Visit events between two ``gc.freeze()`` calls (see ``Replayer.visit``). Freezing costs
nothing (the collector's lists are spliced) and the replay leaves next to no cyclic garbage
to keep (30 objects in a 5% week), so often: a full collection then walks only what the
last thousand events left, not the visits of the whole extract."""
SOURCE = "replay"
"""The ``Position.source`` of replayed lines (the line number is the offset)."""


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line that is not a valid input event, with its 1-based number and the reason."""

    line_no: int
    reason: str


@dataclass(frozen=True, slots=True)
class RefusedAct:
    """An act the workflow refused: its line, event, the field at fault and why."""

    line_no: int
    event_id: str
    event_type: str
    field: str
    reason: str


@dataclass(slots=True)
class ReplaySummary:
    """What a replay read and wrote."""

    lines: int = 0
    events: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)
    refused: list[RefusedAct] = field(default_factory=list)
    after_until: int = 0
    outcomes: int = 0
    alerts: int = 0
    exceptions: int = 0
    kpi_rows: int = 0
    watermark: datetime | None = None


@dataclass(slots=True)
class ReplayResult:
    """What a replay derived: the records as they stand at the end, and the KPI rows."""

    outcomes: list[c.VisitOutcomeRecorded]
    alerts: list[c.AlertRaised | c.AlertResolved]
    exceptions: list[c.VisitExceptionRaised]
    kpi_rows: list[list[str]]
    refused: list[RefusedAct] = field(default_factory=list)
    rota_rows: list[list[str]] = field(default_factory=list)
    """Rota realism per provider × lot × week (``ROTA_COLUMNS``)."""


@dataclass(slots=True)
class _EndState:
    """The latest record under each key, as a keyed sink would hold them."""

    outcomes: dict[str, c.VisitOutcomeRecorded] = field(default_factory=dict)
    alerts: dict[str, c.AlertRaised | c.AlertResolved] = field(default_factory=dict)
    exceptions: dict[str, c.VisitExceptionRaised | c.VisitExceptionResolved] = field(
        default_factory=dict)
    gaps: dict[str, c.TravelGapJudged] = field(default_factory=dict)

    def add(self, record: c.ContractEvent) -> None:
        if isinstance(record, c.VisitOutcomeRecorded):
            self.outcomes[record.visit_id] = record
        elif isinstance(record, c.AlertRaised | c.AlertResolved):
            self.alerts[record.event_id] = record
        elif isinstance(record, c.VisitExceptionRaised | c.VisitExceptionResolved):
            self.exceptions[record.exception_id] = record
        elif isinstance(record, c.TravelGapJudged):
            self.gaps[record.gap_id] = record


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
    story: Callable[[c.ContractEvent], None] | None = None,
    visit_store: Store[StoredVisit] | None = None,
    rejudge_all: bool = False,
) -> ReplayResult:
    """Replay lines of JSON events in order and return the derived records.

    Args:
        lines: one JSON event per line; blank lines are ignored.
        until: stop the clock here: later schedule/call events are skipped and only
            deadlines at or before it fire.
        summary: filled in with counts and invalid lines, if given.
        progress: called now and then with the number of bytes read since the last call.
        story: called with every record the live path would publish, in order.
        visit_store: where visit state lives (default: kept as objects in a dict).
        rejudge_all: at the end judge every visit again under the reference data as it
            then stands (a recalculation, ``Replayer.finish``).

    """
    summary = summary if summary is not None else ReplaySummary()
    replayer, read, line_no = Replayer(story, visit_store), 0, 0
    for line_no, raw in enumerate(lines, start=1):
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
        if isinstance(event, c.ReferenceEvent):
            summary.events += 1
            record = reference_record(event)
            if record is not None:
                replayer.reference.add(record)
            continue
        if until is not None and event.occurred_at > until:
            summary.after_until += 1
            continue
        summary.events += 1
        replayer.visit(line_no, visit_event(event, replayer.reference), event.event_type)
    summary.lines = line_no
    result = replayer.finish(line_no + 1, until, rejudge_all)
    summary.refused = result.refused
    summary.watermark = replayer.watermark
    return result


class Replayer:
    """The ledgers over in-memory stores, one partition, ticks as ``ecm publish`` sends them."""

    def __init__(
        self,
        story: Callable[[c.ContractEvent], None] | None = None,
        visit_store: Store[StoredVisit] | None = None,
    ) -> None:
        self.reference = ReferenceData()
        self._visits = VisitLedger(self.reference, visit_store or DictStore())
        self._carers = CarerLedger(DictStore(), self.reference)
        self._rotas = RotaLedger(self.reference, DictStore())
        self._clock, self._end, self._story = Watermark(), _EndState(), story
        self._applied = self._offset = 0
        self.refused: list[RefusedAct] = []

    @property
    def watermark(self) -> datetime | None:
        """The watermark reached (``None`` before any visit event)."""
        return self._clock.value

    def stored_visits(self) -> Iterator[StoredVisit]:
        """Every visit as the ledger stores it, by visit id."""
        return self._visits.visits()

    def visit(self, offset: int, event: VisitEvent, event_type: str = "") -> None:
        """Apply one schedule, call or workflow event, then the tick it moves the watermark to.

        An act the workflow refuses is listed in ``refused`` (``offset`` is its line).
        """
        self._applied += 1
        if self._applied % FREEZE_EVERY == 1:
            # Reference data and visit state live as long as the replay: without this the
            # collector walks all of it again and again as it grows (18% of a Kent week,
            # and the reason the cost per event grew with the size of the extract).
            gc.freeze()
        position, self._offset = Position(0, SOURCE, offset), offset
        emission = self._visits.on_event(position, event, self._visits.watermark(0))
        self._publish(emission)
        self.refused += [RefusedAct(offset, act.event_id, event_type, refusal.field,
                                    refusal.reason) for act, refusal in emission.refused]
        if isinstance(event, CarerCall | CallTimeCorrected):
            records = self._carers.on_call(event)  # and doubts about stays, for their visits
            self._publish(Emission(records, whereabouts=list(self._carers.take_whereabouts())))
        elif isinstance(event, ScheduleEvent):
            records = self._rota_records(event)  # and where carers go next (at risk)
            self._publish(Emission(records, whereabouts=list(self._rotas.take_whereabouts())))
        moved = self._clock.advance(event.occurred_at)
        if moved is not None:
            self._publish(self._visits.on_watermark(position, moved))

    def _rota_records(self, event: ScheduleEvent) -> list[c.ContractEvent]:
        """Rota realism: the event re-keyed to each carer it concerns (as the worker does)."""
        state = self._visits.state(event.visit_id)
        if state is None:
            return []
        records: list[c.ContractEvent] = []
        said_at = self._visits.watermark(0)  # as the worker stamps what it re-keys
        for carer_id, message in rota_messages(state, event):
            records += self._rotas.on_schedule(carer_id, message, said_at)
        return records

    def finish(
        self, offset: int, until: datetime | None = None, rejudge_all: bool = False
    ) -> ReplayResult:
        """Flush every deadline (or those up to ``until``) and return the end state.

        The flush judges the visits time can still change. ``rejudge_all`` (a
        recalculation, docs/rules.md "Recalculation") then judges every visit again
        under the reference data as it now stands, a rule or rate published for the
        past included; a replay, like the worker, leaves settled visits as they are.
        """
        flush, self._offset = Position(0, SOURCE, offset), offset
        end = until or END_OF_TIME
        self._publish(self._visits.on_watermark(flush, end, flush=True))
        if rejudge_all:
            self._publish(self._visits.judge_every_visit(flush, end))
        result = _collect(self._end, self.reference)
        result.refused = list(self.refused)
        gc.unfreeze()  # what the replay leaves behind is collected as usual again
        return result

    def _publish(self, emission: Emission) -> None:
        for record in (*emission.again, *emission.records):
            self._end.add(record)
            if self._story is not None:
                self._story(record)
        # Facts for other visits (docs/rules.md, "At risk"): delivered at once, as the
        # worker sends them to the visit's partition on the deadline-commands topic.
        for fact in emission.whereabouts:
            position = Position(0, SOURCE, self._offset)
            self._publish(self._visits.on_event(position, fact, self._visits.watermark(0)))


def _collect(end: _EndState, reference: ReferenceData) -> ReplayResult:
    outcomes = [end.outcomes[k] for k in sorted(end.outcomes)]
    alerts = sorted(end.alerts.values(), key=lambda a: (
        a.occurred_at, isinstance(a, c.AlertResolved), a.alert_id))
    exceptions = [e for _, e in sorted(end.exceptions.items())
                  if isinstance(e, c.VisitExceptionRaised)]
    measured = (outcome_from_record(o) for o in outcomes)
    rows = [format_row(row) for row in aggregate(measured, reference)]
    gaps = (gap_from_record(end.gaps[k]) for k in sorted(end.gaps))
    rota = [format_rota_row(row) for row in aggregate_gaps(gaps)]
    return ReplayResult(outcomes, alerts, exceptions, rows, rota_rows=rota)


def write_outputs(result: ReplayResult, out_dir: Path) -> None:
    """Write the end state: outcomes, alerts, exceptions, refused acts, KPIs and rota.csv.

    ``rota.csv`` is rota realism per provider × lot × week (``ROTA_COLUMNS``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / "outcomes.jsonl", result.outcomes)
    _write_jsonl(out_dir / "alerts.jsonl", result.alerts)
    _write_jsonl(out_dir / "exceptions.jsonl", result.exceptions)
    with (out_dir / "refused.jsonl").open("wb") as handle:
        for refused in result.refused:
            handle.write(compact_json({"line_no": refused.line_no, "event_id": refused.event_id,
                                       "event_type": refused.event_type,
                                       "field": refused.field, "reason": refused.reason})
                         + b"\n")
    with (out_dir / "kpis.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(KPI_COLUMNS)
        writer.writerows(result.kpi_rows)
    with (out_dir / "rota.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ROTA_COLUMNS)
        writer.writerows(result.rota_rows)


def _write_jsonl(path: Path, records: Iterable[c.ContractEvent]) -> None:
    with path.open("wb") as handle:
        for record in records:
            handle.write(c.dump_event(record) + b"\n")


def _story_writer(handle: BinaryIO) -> Callable[[c.ContractEvent], None]:
    def write(record: c.ContractEvent) -> None:
        handle.write(c.dump_event(record) + b"\n")

    return write


def replay_file(
    input_path: Path,
    out_dir: Path,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Replay a JSONL file into ``out_dir`` and return the summary (see ``run``).

    Besides the end state (``write_outputs``), ``records.jsonl`` is the whole story:
    every record the live path publishes (outcome revisions, alerts raised and resolved,
    exceptions raised and resolved) in the order they arose.
    """
    summary = ReplaySummary()
    out_dir.mkdir(parents=True, exist_ok=True)
    with input_path.open("rb") as handle, (out_dir / "records.jsonl").open("wb") as records:
        result = run(handle, until, summary, progress, _story_writer(records))
    write_outputs(result, out_dir)
    summary.outcomes, summary.alerts = len(result.outcomes), len(result.alerts)
    summary.exceptions, summary.kpi_rows = len(result.exceptions), len(result.kpi_rows)
    return summary
