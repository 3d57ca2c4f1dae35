"""The payment export: one line per visit of a provider and period, what is paid and why.

Money follows verification (docs/rules.md, "Closing the loop"): ``verified_gbp`` is paid,
``disputed_gbp`` waits for the council's decisions on the exceptions listed in
``open_exception_ids`` (and on any held late corrections). The same SQL feeds the API's
``GET /v1/payments.csv`` and the CLI (``write_payments_csv``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import IO, Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from ecm.domain.workflow import INFORMATIONAL_KINDS

PAYMENT_COLUMNS = (
    "provider_id", "visit_id", "local_date", "client_id", "lot_id", "service", "status",
    "planned_minutes", "delivered_minutes", "payable_gbp", "verification", "verified_gbp",
    "disputed_gbp", "open_exception_ids", "held_corrections", "frustrated_reason", "why",
)  # fmt: skip
"""The columns of the payment CSV, in order."""

# Parameters: start, end (local dates, inclusive), provider_id (or NULL), informational
# (exception kinds that never hold payment).
PAYMENTS_SQL: LiteralString = """
SELECT o.provider_id, o.visit_id, o.local_date, o.client_id, o.lot_id, o.service, o.status,
       o.planned_minutes, o.delivered_seconds / 60 AS delivered_minutes, o.payable_gbp,
       o.verification, o.verified_gbp, o.disputed_gbp,
       coalesce((SELECT array_agg(e.exception_id ORDER BY e.exception_id)
                 FROM visit_exceptions e
                 WHERE e.visit_id = o.visit_id AND e.status IN ('open', 'explained', 'rejected')
                   AND NOT e.kind = ANY(%(informational)s::text[])), '{}') AS open_exception_ids,
       ARRAY(SELECT jsonb_array_elements_text(coalesce(o.extra -> 'held_corrections',
                                                       '[]'::jsonb))) AS held_corrections,
       o.extra ->> 'frustrated_reason' AS frustrated_reason
FROM visit_outcomes o
WHERE o.local_date >= %(start)s AND o.local_date <= %(end)s
  AND (%(provider_id)s::text IS NULL OR o.provider_id = %(provider_id)s)
ORDER BY o.provider_id, o.local_date, o.visit_id
"""


def payment_params(provider_id: str | None, start: date, end: date) -> dict[str, Any]:
    """Return the parameters of ``PAYMENTS_SQL``."""
    return {"provider_id": provider_id, "start": start, "end": end,
            "informational": sorted(INFORMATIONAL_KINDS)}  # fmt: skip


def why(row: dict[str, Any]) -> str:
    """Say in a few words why the line pays what it pays."""
    held = row.get("held_corrections") or []
    exceptions = row.get("open_exception_ids") or []
    if row.get("status") == "frustrated":
        reason = f"frustrated ({row.get('frustrated_reason') or 'no reason'})"
    else:
        reason = str(row.get("status"))
    if row.get("verification") == "verified":
        return f"{reason}; verified: paid"
    waits = [f"exceptions {' '.join(exceptions)}"] if exceptions else []
    waits += [f"held corrections {' '.join(held)}"] if held else []
    return f"{reason}; in dispute: awaiting " + (" and ".join(waits) or "a decision")


def payment_rows(
    conn: psycopg.Connection[Any], provider_id: str | None, start: date, end: date
) -> list[dict[str, Any]]:
    """Return the payment lines of visits on local days [start, end] (one provider or all)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(PAYMENTS_SQL, payment_params(provider_id, start, end), prepare=False)
        return cur.fetchall()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def format_payments_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write ``rows`` as the payment CSV (header, then ``PAYMENT_COLUMNS``); return the lines."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYMENT_COLUMNS)
    count = 0
    for row in rows:
        line = {**row, "why": why(row)}
        writer.writerow([_cell(line.get(c)) for c in PAYMENT_COLUMNS])
        count += 1
    return count


def payments_csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """Return the payment CSV of ``rows`` as text."""
    buffer = io.StringIO()
    format_payments_csv(rows, buffer)
    return buffer.getvalue()


def write_payments_csv(
    conn: psycopg.Connection[Any], out: IO[str], provider_id: str | None, start: date, end: date
) -> int:
    """Write the payment CSV of one provider (or all) for local days [start, end] to ``out``.

    For ``ecm`` commands; returns the number of visit lines written.
    """
    return format_payments_csv(payment_rows(conn, provider_id, start, end), out)
