"""Submitting events, one or a batch; answered 202 only once Kafka acknowledged them.

The bodies are read as bytes and each event is validated once, by its contract model
(FastAPI does not decode or validate them first); the OpenAPI document still describes
them, from ``ecm.api.models``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ecm.api.auth import Principal, current_principal, require_role
from ecm.api.errors import ValidationFailed
from ecm.api.ingest import Checked, authorise, publish, validate_items
from ecm.api.keys import Role
from ecm.api.models import (
    CHECK_IN_EXAMPLE,
    PLANNED_EXAMPLE,
    Accepted,
    BatchIn,
    BatchOut,
    ErrorOut,
)
from ecm.contracts import Event

router = APIRouter(prefix="/v1/events", tags=["events"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut}
    for code in (401, 403, 413, 422, 429, 503)
}
EXAMPLES = {
    "check_in": {"summary": "A carer checks in (app, GPS)", "value": CHECK_IN_EXAMPLE},
    "planned": {"summary": "A visit on the rota", "value": PLANNED_EXAMPLE},
}
_ONE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "additionalProperties": True, "title": "Event"},
    "examples": EXAMPLES}}}}
_BATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": BatchIn.model_json_schema()}}}}


@router.post("", status_code=202, response_model=Accepted, responses=ERRORS,
             summary="Submit one event", openapi_extra=_ONE_BODY)
async def submit_event(request: Request) -> Response:
    """Validate one event and publish it; 202 means Kafka acknowledged it (acks=all).

    Retrying with the same ``event_id`` is safe: consumers dedup by ``event_id``.
    """
    principal = await current_principal(request)  # called, not a dependency: the hot path
    require_role(principal, request, Role.PROVIDER, Role.ADMIN)
    body = await request.body()
    if not body.lstrip().startswith(b"{"):
        raise ValidationFailed("the event is invalid", errors=[
            {"field": "(event)", "reason": "must be a JSON object"}])
    checked = validate_items([body])
    if not checked.events:
        raise ValidationFailed("the event is invalid", errors=checked.results[0].errors)
    event = checked.events[0][1]
    await _accept(request, principal, [event], "events", None)
    return JSONResponse({"status": "accepted", "event_id": event.event_id}, status_code=202)


@router.post("/batch", status_code=202, response_model=BatchOut, responses=ERRORS,
             summary="Submit a batch of events", openapi_extra=_BATCH_BODY)
async def submit_batch(request: Request) -> Response:
    """Validate each event; publish the valid ones; report each item's fate.

    202 when at least one item was accepted (and acknowledged by Kafka); 422 when none.
    """
    principal = await current_principal(request)
    require_role(principal, request, Role.PROVIDER, Role.ADMIN)
    checked = validate_items(_batch_items(await request.body(),
                                          request.app.state.settings.api.max_batch))
    events = [e for _, e in checked.events]
    await _accept(request, principal, events, "batch", [i for i, _ in checked.events])
    return JSONResponse(_batch_out(checked), status_code=202 if events else 422)


# Served by ``ecm.api.direct`` past FastAPI's routing (the busiest routes; same answers).
DIRECT = {("POST", "/v1/events"): submit_event, ("POST", "/v1/events/batch"): submit_batch}


def _batch_items(body: bytes, limit: int) -> list[Any]:
    """The ``events`` list of a batch body, or 422 naming what is wrong with it."""
    try:
        decoded = json.loads(body)
    except ValueError as exc:
        raise ValidationFailed("the batch is invalid", errors=[
            {"field": "(body)", "reason": f"not valid JSON: {exc}"}]) from None
    items = decoded.get("events") if isinstance(decoded, dict) else None
    if not isinstance(items, list) or not items:
        raise ValidationFailed("the batch is invalid", errors=[
            {"field": "events", "reason": "must be a non-empty list of events"}])
    if len(items) > limit:
        raise ValidationFailed("batch too large",
                               errors=[{"field": "events", "reason": f"at most {limit} events"}])
    return items


async def _accept(request: Request, principal: Principal, events: list[Event],
                  route: str, indexes: list[int] | None) -> None:
    state = request.app.state
    await authorise(principal, request, events, state.ownership, indexes=indexes)
    await publish(state.publisher, events, int(state.settings.api.retry_after_seconds))
    state.metrics.events_accepted(route, len(events))


def _batch_out(checked: Checked) -> dict[str, Any]:
    """The ``BatchOut`` body, built directly (every field is already plain data)."""
    accepted = len(checked.events)
    return {"accepted": accepted, "rejected": len(checked.results) - accepted,
            "items": [{"index": r.index, "event_id": r.event_id, "status": r.status,
                       "errors": r.errors} for r in checked.results]}
