"""Submitting events, one or a batch; answered 202 only once Kafka acknowledged them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from ecm.api.auth import Principal, current_principal, require_role
from ecm.api.errors import ValidationFailed
from ecm.api.ingest import authorise, publish, validate_items
from ecm.api.keys import Role
from ecm.api.models import (
    CHECK_IN_EXAMPLE,
    PLANNED_EXAMPLE,
    Accepted,
    BatchIn,
    BatchOut,
    ErrorOut,
    ItemOut,
)

router = APIRouter(prefix="/v1/events", tags=["events"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut}
    for code in (401, 403, 413, 422, 429, 503)
}
EXAMPLES = {
    "check_in": {"summary": "A carer checks in (app, GPS)", "value": CHECK_IN_EXAMPLE},
    "planned": {"summary": "A visit on the rota", "value": PLANNED_EXAMPLE},
}


@router.post("", status_code=202, response_model=Accepted, responses=ERRORS,
             summary="Submit one event")
async def submit_event(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    event: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES)],
) -> Accepted:
    """Validate one event and publish it; 202 means Kafka acknowledged it (acks=all).

    Retrying with the same ``event_id`` is safe: consumers dedup by ``event_id``.
    """
    require_role(principal, request, Role.PROVIDER, Role.ADMIN)
    checked = validate_items([event])
    if not checked.events:
        raise ValidationFailed("the event is invalid", errors=checked.results[0].errors)
    events = [e for _, e in checked.events]
    await authorise(principal, request, events, request.app.state.reads)
    await publish(request.app.state.publisher, events, _retry_after(request))
    request.app.state.metrics.events_accepted("events", 1)
    return Accepted(event_id=events[0].event_id)


@router.post("/batch", status_code=202, response_model=BatchOut, responses=ERRORS,
             summary="Submit a batch of events")
async def submit_batch(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    batch: BatchIn,
) -> Any:
    """Validate each event; publish the valid ones; report each item's fate.

    202 when at least one item was accepted (and acknowledged by Kafka); 422 when none.
    """
    require_role(principal, request, Role.PROVIDER, Role.ADMIN)
    limit = request.app.state.settings.api.max_batch
    if len(batch.events) > limit:
        raise ValidationFailed("batch too large",
                               errors=[{"field": "events", "reason": f"at most {limit} events"}])
    checked = validate_items(batch.events)
    events = [e for _, e in checked.events]
    await authorise(principal, request, events, request.app.state.reads)
    await publish(request.app.state.publisher, events, _retry_after(request))
    request.app.state.metrics.events_accepted("batch", len(events))
    out = BatchOut(accepted=len(events), rejected=len(checked.results) - len(events),
                   items=[ItemOut.model_validate(vars(r)) for r in checked.results])
    return JSONResponse(out.model_dump(), status_code=202 if events else 422)


def _retry_after(request: Request) -> int:
    return int(request.app.state.settings.api.retry_after_seconds)
