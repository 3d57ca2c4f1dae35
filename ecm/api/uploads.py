"""Bulk CSV uploads: stream, validate row by row, publish in batches, report errors.

A summary (``<upload_id>.json``) and an error report (``<upload_id>.errors.csv``, with
columns ``row, field, reason``) are written under ``state_dir/uploads``. Rows count as
accepted only once Kafka acknowledged their events. Memory stays bounded: one chunk of
the body, one batch of events and counters; errors go straight to disk.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ecm.api.csvfeed import CsvFormatError, csv_rows
from ecm.api.csvlayouts import Layout, RowContext, normalise_header
from ecm.api.ownership import Ownership, foreign, owned_ids
from ecm.contracts import ContractError, InputEvent
from ecm.producer import EventPublisher

security_log = logging.getLogger("ecm.api.security")
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class UploadSummary:
    """What happened to one upload; ``status`` is processing, completed or failed."""

    upload_id: str
    layout: str
    provider_id: str
    status: str = "processing"
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    events_published: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    error: str | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None


class UploadStore:
    """Summaries and error reports on disk, one pair of files per upload."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new(self, layout: str, provider_id: str) -> UploadSummary:
        """Return a fresh summary with a new upload id (the directory is created if needed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return UploadSummary(uuid.uuid4().hex, layout, provider_id)

    def errors_path(self, upload_id: str) -> Path:
        """Where the error report of ``upload_id`` is."""
        return self.root / f"{upload_id}.errors.csv"

    def save(self, summary: UploadSummary) -> None:
        """Write the summary (atomically replaced)."""
        tmp = self.root / f"{summary.upload_id}.json.tmp"
        tmp.write_text(json.dumps(asdict(summary)))
        tmp.replace(self.root / f"{summary.upload_id}.json")

    def load(self, upload_id: str) -> UploadSummary | None:
        """Return the summary of ``upload_id``, or None when unknown or malformed."""
        path = self.root / f"{upload_id}.json"
        if not _ID.match(upload_id) or not path.is_file():
            return None
        return UploadSummary(**json.loads(path.read_text()))


_Row = tuple[int, list[InputEvent]]


@dataclass
class _Pending:
    rows: list[_Row] = field(default_factory=list)
    events: int = 0


class UploadRun:
    """Processes one upload stream into Kafka, writing rejected rows to the report."""

    def __init__(
        self, layout: Layout, ctx: RowContext, publisher: EventPublisher,
        ownership: Ownership, batch_size: int,
    ) -> None:
        self.layout, self.ctx, self.publisher = layout, ctx, publisher
        self.ownership, self.batch_size = ownership, batch_size
        self.pending = _Pending()
        self.columns: list[str] = []

    async def run(
        self, chunks: AsyncIterator[bytes], summary: UploadSummary, report: IO[str]
    ) -> None:
        """Consume the whole stream; raises CsvFormatError or PublishError on fatal errors."""
        self.summary, self.report = summary, csv.writer(report)
        self.report.writerow(["row", "field", "reason"])
        async for rows in csv_rows(chunks):
            for number, fields in rows:
                if not self.columns:
                    self._header(fields)
                    continue
                self._row(number, fields)
            if self.pending.events >= self.batch_size:
                await self._flush()
        if not self.columns:
            raise CsvFormatError("the file is empty: a header row is required")
        await self._flush()

    def _header(self, fields: list[str]) -> None:
        self.columns = [normalise_header(f) for f in fields]
        missing = [c for c in self.layout.required if c not in self.columns]
        if missing:
            raise CsvFormatError(f"missing required columns: {', '.join(missing)}")
        known = set(self.layout.required) | set(self.layout.optional)
        self.summary.ignored_columns = [c for c in self.columns if c not in known]

    def _row(self, number: int, fields: list[str]) -> None:
        self.summary.rows_total += 1
        if len(fields) != len(self.columns):
            reason = f"expected {len(self.columns)} fields, got {len(fields)}"
            self._reject(number, [("(row)", reason)])
            return
        try:
            events = self.layout.to_events(dict(zip(self.columns, fields, strict=True)), self.ctx)
        except ContractError as exc:
            self._reject(number, [(e.field, e.reason) for e in exc.errors])
            return
        self.pending.rows.append((number, events))
        self.pending.events += len(events)

    def _reject(self, number: int, errors: list[tuple[str, str]]) -> None:
        self.summary.rows_rejected += 1
        for name, reason in errors:
            self.report.writerow([number, name, reason])

    async def _flush(self) -> None:
        rows, self.pending = self.pending.rows, _Pending()
        rows = await self._owned(rows)
        events = [e for _, evs in rows for e in evs]
        await self.publisher.publish(events)
        self.summary.rows_accepted += len(rows)
        self.summary.events_published += len(events)

    async def _owned(self, rows: list[_Row]) -> list[_Row]:
        if not rows:
            return rows
        owners = await self.ownership.owners(*owned_ids([e for _, evs in rows for e in evs]))
        kept = []
        for number, evs in rows:
            problems = list(dict.fromkeys(
                p for e in evs for p in foreign(e, owners, self.ctx.provider_id)))
            if problems:
                security_log.warning("upload row for another provider's data", extra={
                    "provider_id": self.ctx.provider_id, "row": number})
                self._reject(number, problems)
            else:
                kept.append((number, evs))
        return kept


def finish(summary: UploadSummary, status: str, error: str | None = None) -> dict[str, Any]:
    """Close the summary and return it as a dict."""
    summary.status, summary.error = status, error
    summary.finished_at = datetime.now(UTC).isoformat()
    return asdict(summary)
