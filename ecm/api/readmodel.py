"""Read-only queries the API answers from the tables the stream workers write.

Tables and columns relied on (written by storage migration 0001):

* ``visit_outcomes``: the outcome's typed columns (storage migration 0017), from which a
  visit's ``payload``, the ``visit_outcome_recorded`` event, is put together again
  (``ecm.storage.records``);
* ``alerts``: ``alert_id``, ``provider_id``, ``visit_id``; an alert is open while its
  row has no (or a null) ``resolved_at``; a NULL ``raised_event_id`` or
  ``resolved_event_id`` of a raised or resolved alert is ``{alert_id}:raised`` or
  ``{alert_id}:resolved`` (storage migration 0023);
* ``visit_exceptions``: ``exception_id``, ``provider_id``, ``visit_id``; an exception
  is open while its row has no (or a null) ``resolved_at``;

Alert and exception rows are returned whole (through ``ecm_alert_record`` and
``ecm_exception_record``, ecm/storage/functions, which put back the record ids a row
keeps only as derived: storage migrations 0023 and 0024) so extra columns reach the
client without code changes here. A missing table makes reads raise
``ReadModelUnavailable`` (503). Who owns a visit or carer is ``ecm.api.ownership``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ecm.storage.records import OUTCOME_EVENT_COLUMNS, outcome_json


class ReadModelUnavailable(RuntimeError):
    """The database or the read tables are not there (yet)."""


class ReadModelMissing(ReadModelUnavailable):
    """A read table or column does not exist (yet)."""


class UnusableParameter(ValueError):
    """PostgreSQL cannot take a parameter as given (e.g. text with a NUL byte): a 422."""


async def answered(coro: Any) -> Any:
    """Await a read for a route: 503 when the database is down, 422 for a bad parameter."""
    from ecm.api.errors import Unavailable, ValidationFailed

    try:
        return await coro
    except ReadModelUnavailable as exc:
        raise Unavailable(str(exc), 30) from None
    except UnusableParameter as exc:
        raise ValidationFailed("a parameter cannot be used", errors=[
            {"field": "(query)", "reason": str(exc)}]) from None


@dataclass(frozen=True)
class VisitQuery:
    """Filters for listing visits; ``provider_id`` None means every provider."""

    provider_id: str | None
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None
    limit: int = 100
    offset: int = 0


_VISITS = (
    "SELECT " + OUTCOME_EVENT_COLUMNS + " FROM visit_outcomes"
    " WHERE (%(p)s::text IS NULL OR provider_id = %(p)s)"
    " AND (%(f)s::date IS NULL OR local_date >= %(f)s)"
    " AND (%(t)s::date IS NULL OR local_date <= %(t)s)"
    " AND (%(s)s::text IS NULL OR status = %(s)s)"
    " ORDER BY local_date, visit_id LIMIT %(l)s OFFSET %(o)s"
)
_OPEN = (
    "SELECT {row} AS row FROM {table} r"
    " WHERE (%(p)s::text IS NULL OR provider_id = %(p)s)"
    " AND (to_jsonb(r) ->> 'resolved_at') IS NULL"
    " ORDER BY {id} LIMIT %(l)s OFFSET %(o)s"
)


def _visit(row: dict[str, Any]) -> dict[str, Any]:
    """A visit as the routes read it: its keys and ``payload``, the outcome event."""
    return {"visit_id": row["visit_id"], "provider_id": row["provider_id"],
            "status": row["status"], "local_date": row["local_date"],
            "payload": outcome_json(row)}


class ReadModel:
    """Queries over the read tables through an async pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _fetch(self, sql: LiteralString, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            async with self._pool.connection() as conn:
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(sql, params)
                return await cur.fetchall()
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
            raise ReadModelMissing(f"read model not ready: {exc.diag.message_primary}") from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ReadModelUnavailable("database unreachable") from exc
        except psycopg.DataError as exc:
            raise UnusableParameter(exc.diag.message_primary or "unusable parameter") from exc

    async def visits(self, q: VisitQuery) -> list[dict[str, Any]]:
        """Visit outcomes matching ``q``, by local date then visit id."""
        params = {"p": q.provider_id, "f": q.date_from, "t": q.date_to,
                  "s": q.status, "l": q.limit, "o": q.offset}
        return [_visit(row) for row in await self._fetch(_VISITS, params)]

    async def visit(self, visit_id: str) -> dict[str, Any] | None:
        """One visit outcome (of any provider; the caller filters), or None."""
        rows = await self._fetch(
            "SELECT " + OUTCOME_EVENT_COLUMNS + " FROM visit_outcomes WHERE visit_id = %(v)s",
            {"v": visit_id},
        )
        return _visit(rows[0]) if rows else None

    async def open_alerts(self, provider_id: str | None, limit: int, offset: int) -> list[Any]:
        """Unresolved alerts (of one provider, or all)."""
        sql = _OPEN.format(row="ecm_alert_record(r)", table="alerts", id="alert_id")
        rows = await self._fetch(sql, {"p": provider_id, "l": limit, "o": offset})
        return [r["row"] for r in rows]

    async def open_exceptions(self, provider_id: str | None, limit: int, offset: int) -> list[Any]:
        """Unresolved visit exceptions (of one provider, or all)."""
        sql = _OPEN.format(row="ecm_exception_record(r)", table="visit_exceptions",
                           id="exception_id")
        rows = await self._fetch(sql, {"p": provider_id, "l": limit, "o": offset})
        return [r["row"] for r in rows]

    async def ping(self) -> bool:
        """Whether the database answers ``SELECT 1``."""
        try:
            await self._fetch("SELECT 1 AS ok", {})
        except ReadModelUnavailable:
            return False
        return True

