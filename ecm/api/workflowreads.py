"""What the closing-the-loop routes read: exceptions, alerts, held corrections and codes.

Tables relied on (storage migrations 0001, 0012): ``visit_exceptions`` with its workflow
columns, ``workflow_acts`` (each act as sent), ``alerts`` with its handling columns,
``alert_history`` (each alert's timeline: the acts on it, and a raise or resolution its
``alerts`` row does not hold, storage migration 0023), ``visit_outcomes`` (``extra``
holds an outcome's ``held_corrections``), ``raw_events`` (the held ``call_time_corrected``, as
``ecm_input_event`` puts it together from its row, storage migration 0017) and
``reason_code_lists``. The routes check every act against this stored state with the
rules of ``ecm.domain.workflow`` before publishing it; the engine judges it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, LiteralString

from ecm.api.readmodel import ReadModel
from ecm.domain.workflow import Code, CodeList
from ecm.report.payments import PAYMENTS_SQL, payment_params

NEEDS_ACTION = ("open", "explained", "rejected")
"""Exception statuses listed when no status is asked for."""


@dataclass(frozen=True)
class ExceptionQuery:
    """Filters for listing exceptions; None means any."""

    provider_id: str | None = None
    statuses: tuple[str, ...] = NEEDS_ACTION
    kind: str | None = None
    reason_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    ids: tuple[str, ...] | None = None
    limit: int = 100
    offset: int = 0


_EXCEPTION_COLUMNS: LiteralString = (
    "exception_id, kind, visit_id, provider_id, client_id, carer_id, detail, detected_at,"
    " resolved_at, status, status_code, status_by, status_at, status_note, reason_code,"
    " explained_at, decided_at"
)
_EXCEPTIONS: LiteralString = (
    "SELECT " + _EXCEPTION_COLUMNS + " FROM visit_exceptions"
    " WHERE (%(p)s::text IS NULL OR provider_id = %(p)s)"
    " AND status = ANY(%(s)s)"
    " AND (%(k)s::text IS NULL OR kind = %(k)s)"
    " AND (%(r)s::text IS NULL OR reason_code = %(r)s)"
    " AND (%(f)s::date IS NULL OR (detected_at AT TIME ZONE 'Europe/London')::date >= %(f)s)"
    " AND (%(t)s::date IS NULL OR (detected_at AT TIME ZONE 'Europe/London')::date <= %(t)s)"
    " AND (%(ids)s::text[] IS NULL OR exception_id = ANY(%(ids)s))"
    " ORDER BY detected_at, exception_id LIMIT %(l)s OFFSET %(o)s"
)
_ACTS: LiteralString = (
    "SELECT event_id, event_type, code, decision, by_user AS by, by_role, note, occurred_at,"
    " received_at FROM workflow_acts WHERE {column} = %(id)s ORDER BY occurred_at, event_id"
)
_ALERT: LiteralString = (
    "SELECT alert_id, kind, visit_id, provider_id, client_id, due_at, raised_at,"
    " raised_learned_at, resolved_at, resolved_learned_at, resolution, tier, acknowledged_at,"
    " acknowledged_by, action_taken, escalated_at, closed_at, closed_by, outcome_code,"
    " monitor_only FROM alerts WHERE alert_id = %(id)s"
)
# The raise and the resolution of the alerts ``a``, from their row (their event ids as
# ecm_alert_record puts them back): alert_history holds one only when the row does not
# hold it as first told (storage migration 0023, which also leaves NULL the event id ecm
# gives an escalation on timeout).
_ROW_STEPS: LiteralString = (
    " CROSS JOIN LATERAL (VALUES"
    " (ecm_alert_record(a) ->> 'raised_event_id', 'raised', 'provider_on_call',"
    "  NULL, a.raised_at, a.raised_learned_at),"
    " (ecm_alert_record(a) ->> 'resolved_event_id', 'resolved', NULL,"
    "  a.resolution, a.resolved_at, a.resolved_learned_at))"
    " AS s(event_id, action, tier, code, occurred_at, learned_at)"
    " WHERE s.occurred_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM alert_history h"
    "  WHERE h.alert_id = a.alert_id AND h.event_id = s.event_id)"
)
_TIMELINE: LiteralString = (
    "SELECT coalesce(event_id, 'alert:' || alert_id || ':escalated:' || tier) AS event_id,"
    " action, tier, by_user AS by, by_role, code, note, occurred_at, learned_at"
    " FROM alert_history WHERE alert_id = %(id)s"
    " UNION ALL SELECT s.event_id, s.action, s.tier, 'ecm', 'system', s.code, NULL,"
    " s.occurred_at, s.learned_at FROM alerts a" + _ROW_STEPS + " AND a.alert_id = %(id)s"
    " ORDER BY occurred_at, learned_at, event_id"
)
_HELD: LiteralString = (
    "SELECT h.event_id, o.visit_id, o.provider_id, o.local_date, r.occurred_at,"
    " CASE WHEN r.event_id IS NOT NULL THEN ecm_input_event(r) END AS correction"
    " FROM visit_outcomes o"
    " CROSS JOIN LATERAL jsonb_array_elements_text(o.extra -> 'held_corrections') AS h(event_id)"
    " LEFT JOIN raw_events r ON r.event_id = h.event_id AND r.visit_id = o.visit_id"
    " WHERE o.extra ? 'held_corrections'"
    " AND (%(p)s::text IS NULL OR o.provider_id = %(p)s)"
    " AND (%(e)s::text IS NULL OR h.event_id = %(e)s)"
    " ORDER BY o.local_date, h.event_id LIMIT %(l)s OFFSET %(o)s"
)
_CORRECTION: LiteralString = (
    "SELECT event_id, visit_id, provider_id, occurred_at FROM raw_events"
    " WHERE event_id = %(id)s AND event_type = 'call_time_corrected' LIMIT 1"
)
_STORY: LiteralString = (
    "SELECT r.occurred_at AS at, r.received_at AS learned_at, r.event_type AS what,"
    " coalesce(a.payload, ecm_input_event(r)) AS payload, r.provider_id, 0 AS rank"
    " FROM raw_events r LEFT JOIN workflow_acts a USING (event_id) WHERE r.visit_id = %(id)s"
    " UNION ALL SELECT h.occurred_at, h.learned_at, 'alert:' || h.action,"
    " jsonb_build_object('kind', a.kind, 'tier', h.tier, 'by', h.by_user, 'code', h.code,"
    "  'note', h.note), a.provider_id, 1"
    " FROM alert_history h JOIN alerts a USING (alert_id) WHERE a.visit_id = %(id)s"
    " UNION ALL SELECT s.occurred_at, s.learned_at, 'alert:' || s.action,"
    " jsonb_build_object('kind', a.kind, 'tier', s.tier, 'by', 'ecm'::text, 'code', s.code,"
    "  'note', NULL::text), a.provider_id, 1"
    " FROM alerts a" + _ROW_STEPS + " AND a.visit_id = %(id)s"
    " UNION ALL SELECT detected_at, NULL, 'exception_raised',"
    " jsonb_build_object('kind', kind, 'carer_id', carer_id, 'detail', detail), provider_id, 2"
    " FROM visit_exceptions WHERE visit_id = %(id)s"
    " UNION ALL SELECT resolved_at, status_learned_at, 'exception_settled',"
    " jsonb_build_object('kind', kind, 'carer_id', carer_id), provider_id, 3"
    " FROM visit_exceptions WHERE visit_id = %(id)s AND resolved_at IS NOT NULL"
    " ORDER BY 1, 6, 3 LIMIT 2000"
)
_CODES: LiteralString = (
    "SELECT code_list_id, effective_from, effective_to, codes FROM reason_code_lists"
    " WHERE effective_from <= %(d)s ORDER BY effective_from DESC, recorded_at DESC LIMIT 1"
)


def code_list(row: dict[str, Any] | None, day: date) -> CodeList | None:
    """Return the stored list as the domain's ``CodeList``, if it is in force on ``day``."""
    if row is None:
        return None
    codes = tuple(
        Code(code=c["code"], purpose=c["purpose"], label=c.get("label", ""),
             category=c.get("category", "preferred"),
             note_required=bool(c.get("note_required", False)),
             settles=frozenset(c.get("settles") or ()))
        for c in row["codes"]
    )  # fmt: skip
    found = CodeList(row["code_list_id"], row["effective_from"], row["effective_to"], codes)
    return found if found.applies_on(day) else None


class WorkflowReads:
    """Queries of the workflow tables, through the API's read model (same pool, errors)."""

    def __init__(self, reads: ReadModel) -> None:
        self._reads = reads

    async def _rows(self, sql: LiteralString, params: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._reads._fetch(sql, params)  # noqa: SLF001 - one pool, one error map

    async def _one(self, sql: LiteralString, params: dict[str, Any]) -> dict[str, Any] | None:
        rows = await self._rows(sql, params)
        return rows[0] if rows else None

    async def exceptions(self, q: ExceptionQuery) -> list[dict[str, Any]]:
        """Exceptions matching ``q``, oldest first."""
        return await self._rows(_EXCEPTIONS, {
            "p": q.provider_id, "s": list(q.statuses), "k": q.kind, "r": q.reason_code,
            "f": q.date_from, "t": q.date_to, "ids": list(q.ids) if q.ids is not None else None,
            "l": q.limit, "o": q.offset})  # fmt: skip

    async def exception(self, exception_id: str) -> dict[str, Any] | None:
        """One exception (of any provider; the caller checks), or None."""
        return await self._one(
            "SELECT " + _EXCEPTION_COLUMNS + " FROM visit_exceptions WHERE exception_id = %(id)s",
            {"id": exception_id})

    async def exception_history(self, exception_id: str) -> list[dict[str, Any]]:
        """The acts sent about one exception, in the order they happened."""
        return await self._rows(_ACTS.format(column="exception_id"), {"id": exception_id})

    async def alert(self, alert_id: str) -> dict[str, Any] | None:
        """One alert with its handling (of any provider), or None."""
        return await self._one(_ALERT, {"id": alert_id})

    async def alert_timeline(self, alert_id: str) -> list[dict[str, Any]]:
        """An alert's raise, handling and resolution: when each happened and was learned."""
        return await self._rows(_TIMELINE, {"id": alert_id})

    async def held_corrections(
        self, provider_id: str | None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Late call-time corrections awaiting the council's decision."""
        return await self._rows(_HELD, {"p": provider_id, "e": None, "l": limit, "o": offset})

    async def correction(self, event_id: str) -> dict[str, Any] | None:
        """A stored call-time correction with ``held`` (awaiting a decision), or None."""
        row = await self._one(_CORRECTION, {"id": event_id})
        if row is None:
            return None
        held = await self._rows(_HELD, {"p": None, "e": event_id, "l": 1, "o": 0})
        return {**row, "held": bool(held)}

    async def visit_story(self, visit_id: str) -> dict[str, Any] | None:
        """Every stored fact of one visit in time order (None: nothing known of it).

        Inputs as received (plan, changes, calls, corrections, acts), the alerts' raise,
        handling and resolution, and the exceptions raised and settled: each with when it
        happened and, where known, when ecm learned it. ``provider_id`` is the visit's.
        """
        rows = await self._rows(_STORY, {"id": visit_id})
        if not rows:
            return None
        return {"provider_id": rows[0]["provider_id"], "items": rows}

    async def codes(self, day: date) -> CodeList | None:
        """The council's list of codes in force on local ``day``, if any."""
        return code_list(await self._one(_CODES, {"d": day}), day)

    async def payments(
        self, provider_id: str | None, date_from: date, date_to: date
    ) -> list[dict[str, Any]]:
        """The payment lines of visits in [from, to] (``ecm.report.payments``)."""
        return await self._rows(PAYMENTS_SQL, payment_params(provider_id, date_from, date_to))
