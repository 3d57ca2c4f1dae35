"""Reading back visits, outcomes and open alerts (exceptions: ``routers/workflow.py``).

A provider key sees only its provider's rows: asking for another provider's visit
answers 404 (as for an unknown one) and is logged; filtering on another provider
answers 403. Contract managers and admins read across providers.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ecm.api.auth import Principal, current_principal, refuse
from ecm.api.errors import NotFound, Unavailable
from ecm.api.models import ErrorOut, VisitOut
from ecm.api.readmodel import ReadModel, VisitQuery, answered
from ecm.contracts import VisitStatus

router = APIRouter(prefix="/v1", tags=["reads"])
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorOut} for c in (401, 403, 404, 422, 429, 503)
}
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
ProviderFilter = Annotated[
    str | None, Query(max_length=64, description="Contract managers and admins only.")
]


def scope_for(request: Request, principal: Principal, provider_id: str | None) -> str | None:
    """The provider a read is limited to: a provider's own; 403 (logged) for another's."""
    if provider_id is not None and not principal.may_read(provider_id):
        raise refuse(principal, request, "read of another provider's data",
                     attempted_provider=provider_id)
    return principal.provider_id if principal.role.value == "provider" else provider_id


def _reads(request: Request) -> ReadModel:
    reads: ReadModel | None = request.app.state.reads
    if reads is None:
        raise Unavailable("no database configured", 30)
    return reads


_guard = answered


def _visit_out(row: dict[str, Any]) -> VisitOut:
    return VisitOut(visit_id=row["visit_id"], provider_id=row["provider_id"],
                    status=row["status"], local_date=row["local_date"],
                    outcome=row["payload"] or {})


@router.get("/visits", response_model=list[VisitOut], responses=ERRORS,
            summary="Visits and their outcomes")
async def list_visits(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    status: VisitStatus | None = None,
    provider_id: ProviderFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[VisitOut]:
    """Visits by local date (``from``/``to`` inclusive, Europe/London) and status."""
    query = VisitQuery(scope_for(request, principal, provider_id), date_from, date_to,
                       status.value if status else None, limit, offset)
    rows = await _guard(_reads(request).visits(query))
    return [_visit_out(r) for r in rows]


@router.get("/visits/{visit_id}", response_model=VisitOut, responses=ERRORS,
            summary="One visit and its outcome")
async def get_visit(
    visit_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> VisitOut:
    """One visit; 404 when unknown or another provider's (the latter is logged)."""
    row = await _guard(_reads(request).visit(visit_id))
    if row is None:
        raise NotFound("no such visit")
    if not principal.may_read(row["provider_id"]):
        refuse(principal, request, "read of another provider's visit", visit_id=visit_id)
        raise NotFound("no such visit")
    return _visit_out(row)


@router.get("/alerts", response_model=list[dict[str, Any]], responses=ERRORS,
            summary="Open alerts")
async def list_alerts(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    provider_id: ProviderFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Alerts not yet resolved (not arrived, missed, no check-out)."""
    scope = scope_for(request, principal, provider_id)
    return await _guard(_reads(request).open_alerts(scope, limit, offset))  # type: ignore[no-any-return]
