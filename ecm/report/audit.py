"""Trust in the pack: the mean trust score per provider and the visits most worth auditing.

A visit's trust score (docs/rules.md, "Trust score") is stored with its outcome
(``visit_outcomes.trust_score``; NULL for an outcome recorded before version 3, left out
here). The visits most worth auditing are the least trusted, then those with the most
money at stake, then by visit id: a stable list for the same data.
"""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from ecm.kpi import Period

AUDIT_LIMIT = 20
"""How many visits the pack lists for audit."""

_SCOPE: LiteralString = (
    " o.local_date >= %(start)s AND o.local_date < %(end)s AND o.trust_score IS NOT NULL"
    " AND (%(provider_id)s::text IS NULL OR o.provider_id = %(provider_id)s)"
    " AND (%(lot_id)s::text IS NULL OR o.lot_id = %(lot_id)s)"
)

TRUST_BY_PROVIDER: LiteralString = (
    "SELECT o.provider_id, count(*) AS visits_assessed,"
    " round(avg(o.trust_score), 1) AS mean_trust_score,"
    " count(*) FILTER (WHERE o.trust_score < 70) AS visits_below_70"
    " FROM visit_outcomes o WHERE" + _SCOPE + " GROUP BY 1 ORDER BY 3, 1"
)
"""Per provider: visits with a score, their mean score, and how many score under 70."""

VISITS_TO_AUDIT: LiteralString = (
    "SELECT o.visit_id, o.provider_id, o.local_date, o.status, o.trust_score,"
    " (SELECT string_agg(d ->> 'reason' || ' -' || (d ->> 'points')"
    "        || coalesce(' (' || (d ->> 'carer_id') || ')', ''), ', ' ORDER BY n)"
    "  FROM jsonb_array_elements(o.extra -> 'trust_deductions') WITH ORDINALITY AS t(d, n))"
    "  AS reasons,"
    " o.payable_gbp"
    " FROM visit_outcomes o WHERE" + _SCOPE + " AND o.trust_score < 100"
    " ORDER BY o.trust_score, o.payable_gbp DESC, o.visit_id LIMIT %(limit)s"
)
"""The least trusted visits of the period, with the reasons that lowered each score."""


def _params(period: Period, provider_id: str | None, lot_id: str | None) -> dict[str, Any]:
    return {"start": period.start, "end": period.end, "provider_id": provider_id,
            "lot_id": lot_id, "limit": AUDIT_LIMIT}


def trust_by_provider(conn: psycopg.Connection[Any], period: Period,
                      provider_id: str | None = None, lot_id: str | None = None
                      ) -> list[dict[str, Any]]:
    """Return the mean trust score of each provider's visits of ``period``, lowest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(TRUST_BY_PROVIDER, _params(period, provider_id, lot_id)).fetchall()


def visits_to_audit(conn: psycopg.Connection[Any], period: Period,
                    provider_id: str | None = None, lot_id: str | None = None
                    ) -> list[dict[str, Any]]:
    """Return the ``AUDIT_LIMIT`` visits of ``period`` most worth auditing, with reasons."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(VISITS_TO_AUDIT, _params(period, provider_id, lot_id)).fetchall()
