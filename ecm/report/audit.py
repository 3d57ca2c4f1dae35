"""Trust in the pack: the trust score per provider and the visits most worth auditing.

A visit's trust score (docs/rules.md, "Trust score") is stored with its outcome
(``visit_outcomes.trust_score``; NULL for an outcome recorded before version 3, left out
here). The mean per provider is a KPI: it comes from the KPI query (``ecm/kpi/sql/kpi.sql``),
over the ISO weeks starting in the period like every KPI; this module adds how many of
those weeks' visits score under 70. The visits most worth
auditing are the least trusted of the period's days, then those with the most money at
stake, then by visit id: a stable list for the same data.
"""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from ecm.kpi import Period, kpis

Rows = list[dict[str, Any]]

AUDIT_LIMIT = 20
"""How many visits the pack lists for audit."""

_SCOPE: LiteralString = (
    " o.local_date >= %(start)s AND o.local_date < %(end)s AND o.trust_score IS NOT NULL"
    " AND (%(provider_id)s::text IS NULL OR o.provider_id = %(provider_id)s)"
    " AND (%(lot_id)s::text IS NULL OR o.lot_id = %(lot_id)s)"
)

LOW_TRUST = 70
"""A score under this is low: the trust section counts such visits per provider."""

LOW_TRUST_BY_PROVIDER: LiteralString = (
    "SELECT o.provider_id, count(*) AS visits_below_70 FROM visit_outcomes o"
    " WHERE o.local_date >= %(start)s AND o.local_date < %(end)s::date + 6"
    " AND ecm_week_start(o.local_date) >= %(start)s AND ecm_week_start(o.local_date) < %(end)s"
    " AND o.trust_score < %(low)s"
    " AND (%(provider_id)s::text IS NULL OR o.provider_id = %(provider_id)s)"
    " AND (%(lot_id)s::text IS NULL OR o.lot_id = %(lot_id)s)"
    " GROUP BY 1"
)
"""Per provider, the visits of the ISO weeks whose Monday is in the period (the weeks the
KPIs cover) that score under ``LOW_TRUST``."""

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
            "lot_id": lot_id, "limit": AUDIT_LIMIT, "low": LOW_TRUST}


def trust_by_provider(conn: psycopg.Connection[Any], period: Period,
                      provider_id: str | None = None, lot_id: str | None = None) -> Rows:
    """Return each provider's trust over ``period``, the lowest mean trust score first.

    The visits with a score and their mean are the KPI query's (``ecm.kpi.kpis``, grain
    ``provider``); a provider none of whose visits has a score is left out.
    """
    with conn.cursor() as cur:
        low = dict(cur.execute(LOW_TRUST_BY_PROVIDER,
                               _params(period, provider_id, lot_id)).fetchall())
    rows = [{"provider_id": r["provider_id"], "visits_assessed": r["trust_assessed"],
             "mean_trust_score": r["mean_trust_score"],
             "visits_below_70": low.get(r["provider_id"], 0)}
            for r in kpis(conn, period, "provider", provider_id, lot_id)
            if r["mean_trust_score"] is not None]
    return sorted(rows, key=lambda r: (r["mean_trust_score"], r["provider_id"]))


def visits_to_audit(conn: psycopg.Connection[Any], period: Period,
                    provider_id: str | None = None, lot_id: str | None = None) -> Rows:
    """Return the ``AUDIT_LIMIT`` visits of ``period`` most worth auditing, with reasons."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(VISITS_TO_AUDIT, _params(period, provider_id, lot_id)).fetchall()
