r"""Incremental CSV reading from an async stream of bytes, in bounded memory.

Bytes are decoded as UTF-8 (a leading BOM is dropped) as they arrive, cut into lines
at ``\\n`` (``\\r\\n`` is fine), and lines are joined into records while a quoted field
is still open (an odd number of ``"`` so far), so quoted fields may span lines. Each
chunk's complete records go through ``csv.reader`` together. Only the current chunk
and one unfinished record are ever held.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterator, Iterator

MAX_RECORD_CHARS = 1_000_000


class CsvFormatError(ValueError):
    """The stream is not a readable CSV (bad encoding, unterminated quote, no header)."""


class _Records:
    """Turns text lines into complete CSV records (quote-balanced)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.quotes = 0
        self.size = 0
        self.count = 0

    def feed(self, line: str) -> str | None:
        self.parts.append(line)
        self.quotes += line.count('"')
        self.size += len(line)
        if self.quotes % 2:
            if self.size > MAX_RECORD_CHARS:
                raise CsvFormatError(f"row {self.count + 1}: unterminated quoted field")
            return None
        record = "".join(self.parts)
        self.parts, self.quotes, self.size = [], 0, 0
        self.count += 1
        return record


async def csv_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[tuple[int, list[str]]]]:
    """Yield lists of ``(row_number, fields)``, row 1 being the header; blank rows skipped.

    Raises:
        CsvFormatError: invalid UTF-8, an unterminated quoted field, or broken quoting.

    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    records = _Records()
    pending = ""
    async for chunk in chunks:
        text = pending + _decode(decoder, chunk, final=False)
        *lines, pending = text.split("\n")
        if len(pending) > MAX_RECORD_CHARS:
            raise CsvFormatError(f"row {records.count + 1}: line too long")
        batch = list(_parse(records, (line + "\n" for line in lines)))
        if batch:
            yield batch
    tail = pending + _decode(decoder, b"", final=True)
    last = list(_parse(records, iter([tail] if tail else [])))
    if records.parts:
        raise CsvFormatError(f"row {records.count + 1}: unterminated quoted field")
    if last:
        yield last


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool) -> str:
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"the file is not UTF-8 text ({exc.reason})") from None


def _parse(records: _Records, lines: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    complete: list[tuple[int, str]] = []
    for line in lines:
        record = records.feed(line)
        if record is not None:
            complete.append((records.count, record))
    try:
        parsed = csv.reader(r for _, r in complete)
        for (number, _), fields in zip(complete, parsed, strict=True):
            if any(f.strip() for f in fields):
                yield number, fields
    except csv.Error as exc:
        raise CsvFormatError(f"malformed CSV: {exc}") from None
