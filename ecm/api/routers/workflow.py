"""Closing the loop over HTTP: exceptions, corrections, frustrated visits, alerts, payments.

Explain and decide exceptions, decide held corrections, report frustrated visits, handle
alerts, set monitor-only periods, export what is paid.
Each act is checked against stored state (``ecm.api.workflow``), published as one
contract event and answered 202 only once Kafka acknowledged it. Rules:
docs/rules.md, "Closing the loop".
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from ecm.api import workflow as w
from ecm.api.auth import Principal, current_principal
from ecm.api.errors import Conflict, NotFound, ValidationFailed
from ecm.api.models import ErrorOut
from ecm.api.routers.reads import ProviderFilter, scope_for
from ecm.api.workflow_models import (
    AcknowledgementIn,
    ActAccepted,
    AlertDetailOut,
    BulkDecisionIn,
    BulkOut,
    ClosureIn,
    CorrectionDecisionIn,
    DecisionIn,
    EscalationIn,
    ExceptionDetailOut,
    ExceptionOut,
    ExplanationIn,
    FrustratedIn,
    HeldCorrectionOut,
    ItemResultOut,
    MonitoringIn,
)
from ecm.api.workflowreads import NEEDS_ACTION, ExceptionQuery
from ecm.contracts import (
    AlertAcknowledged,
    AlertClosed,
    AlertEscalated,
    AlertMonitoringSet,
    CorrectionDecided,
    Decision,
    ExceptionDecided,
    ExceptionExplained,
    ExceptionStatus,
    VisitFrustrated,
    contract_error,
)
from ecm.domain import workflow as rules
from ecm.domain.workflow import Act, CodePurpose, Refused
from ecm.report.payments import payments_csv_text

router = APIRouter(prefix="/v1", tags=["workflow"])
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorOut} for c in (401, 403, 404, 409, 422, 429, 503)
}
Me = Annotated[Principal, Depends(current_principal)]
ExceptionId = Annotated[str, Path(min_length=1, max_length=200)]
AlertId = Annotated[str, Path(min_length=1, max_length=160)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]


def _accepted(event_id: str, subject: str) -> ActAccepted:
    return ActAccepted(event_id=event_id, subject_id=subject)


async def _exception(request: Request, principal: Principal, exception_id: str) -> dict[str, Any]:
    row = await w.guard(w.workflow_reads(request).exception(exception_id))
    if row is None:
        raise NotFound("no such exception")
    w.own(principal, request, row["provider_id"], exception_id=exception_id)
    return row  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- exceptions


@router.get("/exceptions", response_model=list[ExceptionOut], responses=ERRORS,
            summary="Exceptions and where they stand")
async def list_exceptions(
    request: Request, principal: Me, status: ExceptionStatus | None = None, kind: Text = None,
    reason_code: Text = None, provider_id: ProviderFilter = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Limit = 100, offset: Offset = 0,
) -> list[dict[str, Any]]:  # fmt: skip
    """Exceptions filtered; without ``status``, those needing action.

    Needing action: open, explained or rejected. ``reason_code`` is the provider's
    explanation code; ``from``/``to`` the local day detected (inclusive).
    """
    query = ExceptionQuery(scope_for(request, principal, provider_id),
                           (status.value,) if status else NEEDS_ACTION, kind, reason_code,
                           date_from, date_to, None, limit, offset)
    return await w.guard(w.workflow_reads(request).exceptions(query))  # type: ignore[no-any-return]


@router.get("/exceptions/{exception_id}", response_model=ExceptionDetailOut, responses=ERRORS,
            summary="One exception with its history")
async def get_exception(exception_id: ExceptionId, request: Request, principal: Me) -> Any:
    """One exception and every act sent about it; 404 when unknown or another provider's."""
    reads = w.workflow_reads(request)
    row = w.readable(principal, request, await w.guard(reads.exception(exception_id)),
                     "exception", exception_id)
    return {**row, "history": await w.guard(reads.exception_history(exception_id))}


@router.post("/exceptions/{exception_id}/explanations", status_code=202,
             response_model=ActAccepted, responses=ERRORS, summary="Explain an exception")
async def explain_exception(
    exception_id: ExceptionId, body: ExplanationIn, request: Request, principal: Me
) -> ActAccepted:
    """A provider explains its exception with an explanation code of the council's list."""
    w.allow(principal, request, Act.EXPLAIN)
    row = await _exception(request, principal, exception_id)
    try:
        rules.check_disputable(row["kind"])
        rules.explain(rules.ExceptionStatus(row["status"]))
    except Refused as exc:
        raise w.conflict(exc) from None
    at = w.now()
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(at)))
    w.checked_code(codes, CodePurpose.EXPLANATION, body.reason_code, body.note,
                   field="reason_code", kind=row["kind"])
    event = ExceptionExplained(
        event_id=w.act_id(body.event_id), occurred_at=at, visit_id=row["visit_id"],
        provider_id=row["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, exception_id=exception_id, reason_code=body.reason_code)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, exception_id)


def _decision(
    row: dict[str, Any], body: DecisionIn, principal: Principal, event_id: str
) -> ExceptionDecided:
    """The decision act on ``row``, or ``Refused`` when its kind or status allows none."""
    rules.check_disputable(row["kind"])
    rules.decide(rules.ExceptionStatus(row["status"]), body.decision is Decision.ACCEPTED)
    return ExceptionDecided(
        event_id=event_id, occurred_at=w.now(), visit_id=row["visit_id"],
        provider_id=row["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, exception_id=row["exception_id"], decision=body.decision,
        resolution_code=body.resolution_code)


async def _check_resolution(request: Request, body: DecisionIn) -> None:
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(w.now())))
    w.checked_code(codes, CodePurpose.RESOLUTION, body.resolution_code, body.note,
                   field="resolution_code")


@router.post("/exceptions/{exception_id}/decisions", status_code=202,
             response_model=ActAccepted, responses=ERRORS, summary="Decide on an explanation")
async def decide_exception(
    exception_id: ExceptionId, body: DecisionIn, request: Request, principal: Me
) -> ActAccepted:
    """The council accepts or rejects a provider's explanation, with a resolution code."""
    w.allow(principal, request, Act.DECIDE)
    row = await _exception(request, principal, exception_id)
    try:
        event = _decision(row, body, principal, w.act_id(body.event_id))
    except Refused as exc:
        raise w.conflict(exc) from None
    await _check_resolution(request, body)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, exception_id)


@router.post("/exceptions/decisions", status_code=202, response_model=BulkOut,
             responses=ERRORS, summary="Decide on many explanations at once")
async def decide_exceptions(body: BulkDecisionIn, request: Request, principal: Me) -> Any:
    """One decision for the listed exceptions, or for every explained one the filter finds.

    One act per item, each audited; the answer gives each item's fate. 202 when at least
    one act was published (and acknowledged by Kafka), 409 when every item was refused.
    """
    w.allow(principal, request, Act.DECIDE)
    filters = (body.provider_id, body.reason_code, body.kind, body.date_from, body.date_to)
    if body.exception_ids is None and all(f is None for f in filters):
        raise ValidationFailed("give exception_ids or at least one filter", errors=[
            {"field": "exception_ids", "reason": "give exception_ids or a filter"}])
    await _check_resolution(request, body)
    ids = tuple(dict.fromkeys(body.exception_ids)) if body.exception_ids else None
    query = ExceptionQuery(body.provider_id, tuple(rules.ExceptionStatus) if ids else
                           ("explained",), body.kind, body.reason_code, body.date_from,
                           body.date_to, ids, 1000, 0)
    rows = {r["exception_id"]: r for r in
            await w.guard(w.workflow_reads(request).exceptions(query))}
    if not rows and ids is None:
        raise NotFound("no explained exception matches the filter")
    items, events = [], []
    for exception_id in ids or tuple(rows):
        item = ItemResultOut(exception_id=exception_id, status="refused")
        items.append(item)
        if exception_id not in rows:
            item.http_status, item.errors = 404, [
                {"field": "exception_ids", "reason": "no such exception"}]
            continue
        try:
            event = _decision(rows[exception_id], body, principal,
                              w.act_id(body.event_id, exception_id))
        except Refused as exc:
            item.http_status, item.errors = 409, [{"field": exc.field, "reason": exc.reason}]
            continue
        item.status, item.event_id = "accepted", event.event_id
        events.append(event)
    if events:
        await w.send(request, events, principal)
    out = BulkOut(accepted=len(events), refused=len(items) - len(events), items=items)
    return JSONResponse(out.model_dump(), status_code=202 if events else 409)


# --------------------------------------------------------------------------- corrections


@router.get("/corrections", response_model=list[HeldCorrectionOut], responses=ERRORS,
            summary="Late call-time corrections held for approval")
async def list_corrections(
    request: Request, principal: Me, status: Literal["held"] = "held",
    provider_id: ProviderFilter = None, limit: Limit = 100, offset: Offset = 0,
) -> list[dict[str, Any]]:  # fmt: skip
    """Corrections made too long after the visit, awaiting the council's decision."""
    scope = scope_for(request, principal, provider_id)
    return await w.guard(  # type: ignore[no-any-return]
        w.workflow_reads(request).held_corrections(scope, limit, offset))


@router.post("/corrections/{event_id}/decisions", status_code=202, response_model=ActAccepted,
             responses=ERRORS, summary="Approve or refuse a held correction")
async def decide_correction(
    event_id: Annotated[str, Path(min_length=1, max_length=64)], body: CorrectionDecisionIn,
    request: Request, principal: Me,
) -> ActAccepted:  # fmt: skip
    """The council approves (it is applied) or refuses (dropped for good) a held correction."""
    w.allow(principal, request, Act.DECIDE_CORRECTION)
    row = await w.guard(w.workflow_reads(request).correction(event_id))
    if row is None:
        raise NotFound("no such call-time correction")
    w.own(principal, request, row["provider_id"], correction_event_id=event_id)
    if not row["held"]:
        raise Conflict("this correction is not held for approval", errors=[
            {"field": "event_id", "reason": "not held: already decided, or not late"}])
    event = CorrectionDecided(
        event_id=w.act_id(body.event_id), occurred_at=w.now(), visit_id=row["visit_id"],
        provider_id=row["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, correction_event_id=event_id, decision=body.decision)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, event_id)


# --------------------------------------------------------------------------- visits


@router.post("/visits/{visit_id}/frustrated", status_code=202, response_model=ActAccepted,
             responses=ERRORS, summary="Report a frustrated visit")
async def report_frustrated(
    visit_id: Annotated[str, Path(min_length=1, max_length=64)], body: FrustratedIn,
    request: Request, principal: Me,
) -> ActAccepted:  # fmt: skip
    """The carer arrived but could not deliver care (a frustration code of the council's)."""
    w.allow(principal, request, Act.REPORT_FRUSTRATED)
    visit = await w.guard(request.app.state.reads.visit(visit_id))
    if visit is None:
        raise NotFound("no such visit")
    w.own(principal, request, visit["provider_id"], visit_id=visit_id)
    at = body.occurred_at or w.now()
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(at)))
    w.checked_code(codes, CodePurpose.FRUSTRATION, body.reason_code, body.note,
                   field="reason_code")
    event = VisitFrustrated(
        event_id=w.act_id(body.event_id), occurred_at=at, visit_id=visit_id,
        provider_id=visit["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, client_id=(visit.get("payload") or {}).get("client_id") or "unknown",
        carer_id=body.carer_id, reason_code=body.reason_code)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, visit_id)


# --------------------------------------------------------------------------- alerts


async def _alert(request: Request, principal: Principal, alert_id: str) -> dict[str, Any]:
    row = await w.guard(w.workflow_reads(request).alert(alert_id))
    if row is None:
        raise NotFound("no such alert")
    w.own(principal, request, row["provider_id"], alert_id=alert_id)
    return row  # type: ignore[no-any-return]


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, responses=ERRORS,
            summary="One alert with its timeline")
async def get_alert(alert_id: AlertId, request: Request, principal: Me) -> Any:
    """Who has the alert, what was done, and each step: when it happened, when ecm learned it."""
    reads = w.workflow_reads(request)
    row = w.readable(principal, request, await w.guard(reads.alert(alert_id)), "alert",
                     alert_id)
    return {**row, "timeline": await w.guard(reads.alert_timeline(alert_id))}


@router.post("/alerts/{alert_id}/acknowledgements", status_code=202,
             response_model=ActAccepted, responses=ERRORS, summary="Acknowledge an alert")
async def acknowledge_alert(
    alert_id: AlertId, body: AcknowledgementIn, request: Request, principal: Me
) -> ActAccepted:
    """Someone has the alert in hand (the provider's own, or a duty officer)."""
    w.allow(principal, request, Act.ACKNOWLEDGE)
    row = await _alert(request, principal, alert_id)
    at = w.now()
    try:
        rules.acknowledge(w.handling(row), body.by, at)
    except Refused as exc:
        raise w.conflict(exc) from None
    event = AlertAcknowledged(
        event_id=w.act_id(body.event_id), occurred_at=at, visit_id=row["visit_id"],
        provider_id=row["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, alert_id=alert_id, action_taken=body.action_taken)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, alert_id)


@router.post("/alerts/{alert_id}/escalations", status_code=202, response_model=ActAccepted,
             responses=ERRORS, summary="Escalate an alert by hand")
async def escalate_alert(
    alert_id: AlertId, body: EscalationIn, request: Request, principal: Me
) -> ActAccepted:
    """A council officer passes the alert to a higher tier (only upward)."""
    w.allow(principal, request, Act.ESCALATE)
    row = await _alert(request, principal, alert_id)
    try:
        rules.escalate(w.handling(row), rules.AlertTier(body.to_tier.value))
    except Refused as exc:
        raise w.conflict(exc) from None
    event = AlertEscalated(
        event_id=w.act_id(body.event_id), occurred_at=w.now(), visit_id=row["visit_id"],
        provider_id=row["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, alert_id=alert_id, to_tier=body.to_tier)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, alert_id)


@router.post("/alerts/{alert_id}/closures", status_code=202, response_model=ActAccepted,
             responses=ERRORS, summary="Close an alert with an outcome")
async def close_alert(
    alert_id: AlertId, body: ClosureIn, request: Request, principal: Me
) -> ActAccepted:
    """Close the alert with an outcome code of the council's list (e.g. carer_sent)."""
    w.allow(principal, request, Act.CLOSE_ALERT)
    row = await _alert(request, principal, alert_id)
    at = w.now()
    try:
        rules.close(w.handling(row), body.outcome_code, at)
    except Refused as exc:
        raise w.conflict(exc) from None
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(at)))
    w.checked_code(codes, CodePurpose.ALERT_OUTCOME, body.outcome_code, body.note,
                   field="outcome_code")
    event = AlertClosed(
        event_id=w.act_id(body.event_id), occurred_at=at, visit_id=row["visit_id"],
        provider_id=row["provider_id"], by=body.by, by_role=w.actor_role(principal),
        note=body.note, alert_id=alert_id, outcome_code=body.outcome_code)
    await w.send(request, [event], principal)
    return _accepted(event.event_id, alert_id)


@router.post("/monitoring", status_code=202, response_model=ActAccepted, responses=ERRORS,
             summary="Make alerts of a client or service monitor-only for a period")
async def set_monitoring(body: MonitoringIn, request: Request, principal: Me) -> ActAccepted:
    """Alerts raised in the period are recorded but page nobody and never escalate."""
    w.allow(principal, request, Act.SET_MONITORING)
    event_id = w.act_id(body.event_id)
    try:
        event = AlertMonitoringSet(
            event_id=event_id, occurred_at=w.now(),
            monitoring_id=body.monitoring_id or f"monitoring-{event_id}"[:64],
            client_id=body.client_id, service=body.service, starts=body.starts,
            until=body.until, set_by=body.by, reason=body.reason)
    except ValidationError as exc:
        raise ValidationFailed("the monitoring period is invalid",
                               errors=contract_error(exc).as_dicts()) from None
    await w.send(request, [event], principal)
    return _accepted(event.event_id, event.monitoring_id)


# --------------------------------------------------------------------------- payments


@router.get("/payments.csv", response_class=Response, responses={
    **ERRORS, 200: {"description": "One line per visit (ecm.report.payments.PAYMENT_COLUMNS)",
                    "content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="What is paid per visit, and why")  # fmt: skip
async def payments_csv(
    request: Request, principal: Me,
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
    provider_id: ProviderFilter = None,
) -> Response:  # fmt: skip
    """One CSV line per visit of local days ``from``..``to`` (inclusive).

    Each line: payable, verified and disputed money, status, verification, the exceptions
    still open and why.
    """
    if date_to < date_from or (date_to - date_from).days > 366:
        raise ValidationFailed("bad period", errors=[
            {"field": "to", "reason": "must be on or after from, at most 366 days later"}])
    scope = scope_for(request, principal, provider_id)
    rows = await w.guard(w.workflow_reads(request).payments(scope, date_from, date_to))
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", scope or "all")  # header values are latin-1
    name = f"payments-{safe}-{date_from}-{date_to}.csv"
    return Response(payments_csv_text(rows), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
