"""Rota realism in the database: each carer's gap before each planned visit (``rota_gaps``).

The rows of ``travel_gap_judged`` records (docs/rules.md, "Rota realism"); one per carer
and visit (the record's ``gap_id``, ``visit_id:carer_id``), the last record sent wins (a
gap's records share a visit's partition, so they arrive in the order they were decided).
The row keeps what the record says but what follows from the rest: ``gap_id`` (the key),
``iso_week`` (the ISO week of ``local_date``) and ``event_id`` (a digest of what the record
says; storage migration 0024). A record that says what the row holds (a redelivery)
changes nothing. The KPI query ``ecm/kpi/sql/rota_realism.sql`` sums them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from ecm.contracts import TravelGapJudged

ROTA_GAP_KEY = ("visit_id", "carer_id")
"""The key of ``rota_gaps``: the record's ``gap_id`` is ``visit_id:carer_id``."""

ROTA_GAP_COLUMNS = (
    "visit_id", "carer_id", "provider_id", "client_id", "lot_id", "service", "local_date",
    "status", "previous_visit_id", "previous_client_id", "gap_seconds", "travel_seconds",
    "straight_m", "short", "shortfall_seconds", "judged_at",
)  # fmt: skip
"""Columns of ``rota_gaps``, in the order of ``rota_gap_row``."""

_SAID = ROTA_GAP_COLUMNS[len(ROTA_GAP_KEY):]

UPSERT_ROTA_GAP = sql.SQL(
    "INSERT INTO rota_gaps ({cols}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {set}"
    " WHERE ({stored}) IS DISTINCT FROM ({sent})"
).format(
    cols=sql.SQL(", ").join(map(sql.Identifier, ROTA_GAP_COLUMNS)),
    values=sql.SQL(", ").join(sql.Placeholder() * len(ROTA_GAP_COLUMNS)),
    key=sql.SQL(", ").join(map(sql.Identifier, ROTA_GAP_KEY)),
    set=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                           for c in _SAID),
    stored=sql.SQL(", ").join(sql.Identifier("rota_gaps", c) for c in _SAID),
    sent=sql.SQL(", ").join(sql.Identifier("excluded", c) for c in _SAID),
)


def rota_gap_row(g: TravelGapJudged) -> tuple[Any, ...]:
    """Return the ``rota_gaps`` row of a gap record."""
    return (
        g.visit_id, g.carer_id, g.provider_id, g.client_id, g.lot_id,
        g.service.value if g.service else None, g.local_date, g.status.value,
        g.previous_visit_id, g.previous_client_id, g.gap_seconds, g.travel_seconds,
        g.straight_m, g.short, g.shortfall_seconds, g.occurred_at,
    )  # fmt: skip


def write_rota_gaps(conn: psycopg.Connection[Any], gaps: Iterable[TravelGapJudged]) -> int:
    """Upsert gap records (the caller's transaction; at most one per ``gap_id``).

    Returns:
        The number of rows inserted or changed (0 for records the rows already say).
    """
    rows = [rota_gap_row(g) for g in gaps]
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(UPSERT_ROTA_GAP, rows, returning=False)
        return max(cur.rowcount, 0)
