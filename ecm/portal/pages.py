"""The portal's pages: the duty board, exception queues, the scorecard and a visit's story.

Every act a page offers goes through the API's own handler for it (``ecm.api.routers.
workflow``), called with the signed-in person as the principal: the same checks of role,
provider, state, code and note, the same contract event, answered only once Kafka has
it. A refusal comes back to the page as a message naming the field and the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from ecm.api import workflow as w
from ecm.api.auth import Principal
from ecm.api.errors import ApiError
from ecm.api.keys import Role
from ecm.api.readmodel import ReadModel
from ecm.api.routers import workflow as acts
from ecm.api.workflow_models import (
    AcknowledgementIn,
    BulkDecisionIn,
    ClosureIn,
    EscalationIn,
    ExplanationIn,
    MonitoringIn,
)
from ecm.api.workflowreads import ExceptionQuery
from ecm.contracts import ExceptionKindV3, Service
from ecm.domain.calendar import LONDON
from ecm.domain.workflow import ROTA_FINDINGS, TIERS, Act, AlertTier, CodePurpose, may
from ecm.kpi.targets import TARGETS
from ecm.portal.web import (
    PageRefused,
    SignInRequired,
    Visitor,
    check_csrf,
    flash_signature,
    now_of,
    page,
    refuse,
    router,
    secure,
    templates,
    visitor,
)
from ecm.recalc.report import money
from ecm.report.svg import dot_chart, line_chart

KIND_LABELS = {"missed": "Missed call", "not_arrived": "Not arrived",
               "no_checkout": "No check-out", "at_risk": "At risk"}
URGENCY = {"missed": 0, "not_arrived": 1, "at_risk": 2, "no_checkout": 3}
PROVIDER_ONLY_KINDS = frozenset({"at_risk"})
"""Warnings for the provider to act on: not on the council's board (docs/rules.md)."""
TIER_LABELS = {AlertTier.PROVIDER_ON_CALL: "Provider on-call",
               AlertTier.COUNCIL_DUTY: "Council duty team", AlertTier.MANAGER: "Named manager"}
EXCEPTION_STATUSES = ("needs action", "open", "explained", "rejected", "accepted", "settled")
BOARD_POLL_SECONDS = 2.0
EXCEPTIONS_SHOWN = 500
VISITS_SHOWN = 1000
"""Visits a recalculation's page lists (``ecm recalc show`` writes them all)."""
T = TypeVar("T")


def principal_of(who: Visitor) -> Principal:
    """The signed-in person as the API's principal (one set of rules for both)."""
    user = who.user
    return Principal(f"user:{user.user_id}", user.provider_id or "council", user.role)


def _reads(request: Request) -> ReadModel:
    reads: ReadModel | None = request.app.state.reads
    if reads is None:
        raise PageRefused("The database is not configured.", 503)
    return reads


def _local(at: datetime | str | None) -> str:
    if at is None:
        return ""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(LONDON).strftime("%a %d %b %H:%M")


def _duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} days {minutes % 1440 // 60} h"


async def _act(
    request: Request, who: Visitor, call: Awaitable[Any], back: str, done: str
) -> Response:
    """Run an API handler; come back to ``back`` saying what happened or why not."""
    try:
        await call
    except ApiError as exc:
        return _back(back, who, failed=f"Not done — {_reasons(exc)}")
    return _back(back, who, done=done)


def _reasons(exc: ApiError) -> str:
    errors = exc.extra.get("errors") or []
    return "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or exc.message


def _back(path: str, who: Visitor, **message: str) -> Response:
    """Redirect to ``path`` with one message the portal signs (see ``flash_signature``)."""
    from urllib.parse import urlencode

    ((kind, text),) = message.items()
    query = urlencode({kind: text, "sig": flash_signature(who, kind, text)})
    joiner = "&" if "?" in path else "?"
    return secure(RedirectResponse(f"{path}{joiner}{query}", status_code=303))


def _form_model(model: type[Any], who: Visitor, **fields: Any) -> Any:
    """Build an API request body from form fields, or refuse naming the field."""
    values = {k: v for k, v in fields.items() if v not in (None, "")}
    try:
        return model.model_validate({"by": who.user.user_id, **values})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise PageRefused(f"{field}: {first['msg']}", 422) from None


# --------------------------------------------------------------------------- duty board


async def _board(request: Request, who: Visitor) -> dict[str, Any]:
    scope = who.user.provider_id if who.user.role is Role.PROVIDER else None
    rows = [r for r in await w.guard(_reads(request).open_alerts(scope, 500, 0))
            if not r.get("closed_at") and (scope or r["kind"] not in PROVIDER_ONLY_KINDS)]
    now = now_of(request)
    role = who.user.role.value
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(now)))
    outcome_codes = [c for c in (codes.codes if codes else ())
                     if c.purpose == CodePurpose.ALERT_OUTCOME.value]

    def raised(row: dict[str, Any]) -> datetime:
        at = row.get("raised_at") or row["due_at"]
        return datetime.fromisoformat(at) if isinstance(at, str) else at

    rows.sort(key=lambda r: (bool(r.get("acknowledged_at")), bool(r.get("monitor_only")),
                             URGENCY.get(r["kind"], 9), -raised(r).timestamp()))
    alerts = []
    for row in rows:
        tier = AlertTier(row.get("tier") or AlertTier.PROVIDER_ON_CALL.value)
        alerts.append({
            **row, "kind_label": KIND_LABELS.get(row["kind"], row["kind"]),
            "due_label": _local(row["due_at"]), "raised_iso": raised(row).isoformat(),
            "open_for": _duration((now - raised(row)).total_seconds()),
            "tier_label": TIER_LABELS[tier],
            "next_tiers": [{"value": t.value, "label": TIER_LABELS[t]}
                           for t in TIERS[TIERS.index(tier) + 1:]],
            "may_acknowledge": may(role, Act.ACKNOWLEDGE),
            "may_escalate": may(role, Act.ESCALATE), "may_close": may(role, Act.CLOSE_ALERT),
        })
    return {"alerts": alerts, "outcome_codes": outcome_codes,
            "generated_at": _local(now)}


def _on_duty(request: Request, who: Visitor) -> None:
    """Refuse (logged) anyone who can do nothing with alerts."""
    role = who.user.role.value
    if not (may(role, Act.ACKNOWLEDGE) or may(role, Act.ESCALATE)):
        raise refuse(request, who, "the duty board is for people who handle alerts")


@router.get("/duty", name="portal-duty")
async def duty(request: Request) -> Response:
    """Open alerts, most urgent first, updating live."""
    who = await visitor(request)
    _on_duty(request, who)
    board = await _board(request, who)
    return page(request, "duty.html", who, "Duty board", "portal-duty", **board,
                services=[s.value for s in Service],
                may_monitor=may(who.user.role.value, Act.SET_MONITORING))


@router.get("/duty/stream", name="portal-duty-stream")
async def duty_stream(request: Request) -> Response:
    """Server-sent events: the board's table again whenever it changes.

    The session is checked again before each update (and kept alive while the board is
    watched): signing out or expiry ends the stream with a ``signed_out`` event.
    """
    who = await visitor(request)
    _on_duty(request, who)

    async def events() -> AsyncIterator[str]:
        last = ""
        while not await request.is_disconnected():
            try:
                await visitor(request)
            except SignInRequired:
                yield "event: signed_out\ndata: sign in again\n\n"
                return
            board = await _board(request, who)
            html = templates.get_template("_board.html").render(
                request=request, csrf_token=who.session.csrf_token, **board)
            digest = hashlib.sha256(
                repr([(a["alert_id"], a.get("tier"), a.get("acknowledged_at"))
                      for a in board["alerts"]]).encode()).hexdigest()
            if digest != last:
                last = digest
                count = len(board["alerts"])
                yield (f"event: board\nid: {count}\n"
                       + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n")
            else:
                yield ": still here\n\n"
            await asyncio.sleep(BOARD_POLL_SECONDS)

    return secure(StreamingResponse(events(), media_type="text/event-stream",
                                    headers={"X-Accel-Buffering": "no"}))


@router.post("/alerts/{alert_id}/{act}", name="portal-alert-act")
async def alert_act(request: Request, alert_id: str, act: str) -> Response:
    """Acknowledge, escalate or close one alert."""
    who = await visitor(request)
    form = await check_csrf(request, who)
    me, back = principal_of(who), router.url_path_for("portal-duty")
    if act == "acknowledge":
        body = _form_model(AcknowledgementIn, who, action_taken=form.get("action_taken"))
        return await _act(request, who, acts.acknowledge_alert(alert_id, body, request, me), back,
                          f"Acknowledged {alert_id}.")
    if act == "escalate":
        body = _form_model(EscalationIn, who, to_tier=form.get("to_tier"), note=form.get("note"))
        return await _act(request, who, acts.escalate_alert(alert_id, body, request, me), back,
                          f"Escalated {alert_id}.")
    if act == "close":
        body = _form_model(ClosureIn, who, outcome_code=form.get("outcome_code"),
                           note=form.get("note"))
        return await _act(request, who, acts.close_alert(alert_id, body, request, me), back,
                          f"Closed {alert_id}.")
    raise PageRefused(f"act: {act!r} is not acknowledge, escalate or close", 404)


@router.post("/monitoring", name="portal-monitoring")
async def monitoring(request: Request) -> Response:
    """Make a client's or a service's alerts monitor-only for some hours."""
    who = await visitor(request)
    form = await check_csrf(request, who)
    now = now_of(request)
    try:
        hours = int(str(form.get("hours") or "24"))
    except ValueError:
        raise PageRefused("hours: a whole number of hours", 422) from None
    body = _form_model(MonitoringIn, who, client_id=form.get("client_id"),
                       service=form.get("service"), starts=now.isoformat(),
                       until=(now + timedelta(hours=hours)).isoformat(),
                       reason=form.get("reason"))
    return await _act(request, who, acts.set_monitoring(body, request, principal_of(who)),
                      router.url_path_for("portal-duty"), "Monitor-only period set.")


# --------------------------------------------------------------------------- exceptions


@router.get("/exceptions", name="portal-exceptions")
async def exceptions(request: Request) -> Response:
    """Providers: their exceptions to explain. Contract managers: explanations to decide."""
    who = await visitor(request)
    role, params = who.user.role.value, request.query_params
    deciding = may(role, Act.DECIDE)  # the council; providers explain
    explaining = may(role, Act.EXPLAIN) and not deciding
    status = params.get("status") or ("explained" if deciding else "needs action")
    if status not in EXCEPTION_STATUSES:
        raise PageRefused(f"status: one of {', '.join(EXCEPTION_STATUSES)}", 422)
    provider = who.user.provider_id or (params.get("provider_id") or None)
    filters = {"status": status, "provider_id": provider, "kind": params.get("kind") or None,
               "reason_code": params.get("reason_code") or None}
    query = ExceptionQuery(
        provider, ("open", "rejected") if status == "needs action" else (status,),
        filters["kind"], filters["reason_code"], limit=EXCEPTIONS_SHOWN)
    rows = await w.guard(w.workflow_reads(request).exceptions(query))
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(now_of(request))))
    listed = codes.codes if codes else ()
    explanation = [c for c in listed if c.purpose == CodePurpose.EXPLANATION.value]
    resolution = [c for c in listed if c.purpose == CodePurpose.RESOLUTION.value]
    labels = {c.code: c.label for c in listed}
    shown = [{
        **r, "raised_label": _local(r.get("detected_at")),
        "reason_label": labels.get(r.get("reason_code") or "", r.get("reason_code")),
        "decision_code": r.get("status_code") if r["status"] in ("accepted", "rejected") else None,
        "decision_label": labels.get(r.get("status_code") or "", r.get("status_code")),
        "decision_note": r.get("status_note") if r["status"] in ("accepted", "rejected") else None,
        "explanation_note": r.get("status_note") if r["status"] == "explained" else None,
        "codes": [c for c in explanation if not c.settles or r["kind"] in c.settles],
        "rota_finding": r["kind"] in ROTA_FINDINGS,
    } for r in rows]
    heading = ("Explanations to decide" if deciding else
               "Exceptions to explain" if explaining else "Exceptions")
    return page(request, "exceptions.html", who, heading, "portal-exceptions",
                heading=heading, exceptions=shown, filters=filters, limit=EXCEPTIONS_SHOWN,
                statuses=EXCEPTION_STATUSES, kinds=[k.value for k in ExceptionKindV3],
                explanation_codes=explanation, resolution_codes=resolution,
                may_explain=explaining, may_decide=deciding)


@router.post("/exceptions/explain", name="portal-explain")
async def explain(request: Request) -> Response:
    """A provider explains one exception."""
    who = await visitor(request)
    form = await check_csrf(request, who)
    exception_id = str(form.get("exception_id") or "")
    body = _form_model(ExplanationIn, who, reason_code=form.get("reason_code"),
                       note=form.get("note"))
    return await _act(request, who, acts.explain_exception(exception_id, body, request,
                                                      principal_of(who)),
                      router.url_path_for("portal-exceptions"),
                      f"Explanation of {exception_id} sent to the council.")


@router.post("/exceptions/decide", name="portal-decide")
async def decide(request: Request) -> Response:
    """A contract manager accepts or rejects the selected explanations (one bulk request)."""
    who = await visitor(request)
    form = await check_csrf(request, who)
    chosen = (await request.form()).getlist("exception_id")
    back = router.url_path_for("portal-exceptions")
    if not chosen:
        return _back(back, who, failed="Not done — exception_id: select at least one explanation")
    body = _form_model(BulkDecisionIn, who, exception_ids=list(chosen),
                       decision=form.get("decision"), resolution_code=form.get("resolution_code"),
                       note=form.get("note"))
    try:
        result = await acts.decide_exceptions(body, request, principal_of(who))
    except ApiError as exc:
        return _back(back, who, failed=f"Not done — {_reasons(exc)}")
    accepted, refused = _counts(result)
    text = f"{body.decision.value.capitalize()}: {accepted} explanation(s)."
    return _back(back, who, done=text + (f" {refused} refused." if refused else ""))


def _counts(result: Response) -> tuple[int, int]:
    """How many items of a bulk decision were sent and refused (from the API's answer)."""
    import json

    body = json.loads(bytes(result.body))
    return int(body["accepted"]), int(body["refused"])


# --------------------------------------------------------------------------- scorecard


def _month_period(text: str | None, today: date) -> tuple[str, Any]:
    from ecm.kpi.period import Period

    month = text or f"{today.year:04d}-{today.month:02d}"
    try:
        return month, Period.month(month)
    except ValueError:
        raise PageRefused("month: a month as YYYY-MM", 422) from None


def _for_managers(request: Request, who: Visitor, reason: str) -> None:
    """Refuse (403, logged) anyone but a contract manager or an administrator."""
    if who.user.role not in (Role.CONTRACT_MANAGER, Role.ADMIN):
        raise refuse(request, who, reason)


@router.get("/scorecard", name="portal-scorecard")
async def scorecard(request: Request) -> Response:
    """Providers against the contract's targets, their trends and their money."""
    who = await visitor(request)
    _for_managers(request, who, "the scorecard is for contract managers")
    import psycopg

    focus = request.query_params.get("provider_id") or None
    try:
        latest = await asyncio.to_thread(_latest_day, request)
        today = latest or now_of(request).astimezone(LONDON).date()
        month, period = _month_period(request.query_params.get("month"), today)
        league, trend, names = await asyncio.to_thread(_scorecard_rows, request, period, focus)
    except psycopg.OperationalError:
        raise PageRefused("The database cannot be reached just now; try again shortly.",
                          503) from None
    scorecard_path = router.url_path_for("portal-scorecard")
    rows = []
    for r in league:
        cells = []
        for t in TARGETS:
            value = r.get(t.measure)
            number = float(value) if value is not None else None
            cells.append({"value": number, "rag": t.rag(number),
                          "text": t.show(number) if number is not None else ""})
        rows.append({"provider_id": r["provider_id"],
                     "name": names.get(r["provider_id"], r["provider_id"]),
                     "cells": cells, "verified_gbp": r.get("verified_gbp") or 0,
                     "disputed_gbp": r.get("disputed_gbp") or 0,
                     "trend_href": f"{scorecard_path}?month={month}&provider_id="
                                   f"{r['provider_id']}#trends",
                     "payments_href": router.url_path_for("portal-payments")
                     + f"?provider_id={r['provider_id']}&month={month}"})
    whose = names.get(focus, focus) if focus else "all providers"
    weeks = [str(t["iso_week"]) for t in trend]
    charts = []
    for t in TARGETS:
        if not trend or t.measure not in trend[0]:
            continue
        values = [float(x[t.measure]) if x.get(t.measure) is not None else None for x in trend]
        charts.append({"svg": line_chart(f"{t.label}, {whose}", weeks, {t.label: values},
                                         target=t.target, percent=t.percent),
                       "caption": f"{t.label} by week, {whose} (target {t.target_label})",
                       "heading": "ISO week",
                       "rows": [(w, "" if v is None else t.show(v))
                                for w, v in zip(weeks, values, strict=True)]})
    if league:
        delivery = next(t for t in TARGETS if t.measure == "delivery_ratio")
        labels = [names.get(r["provider_id"], r["provider_id"]) for r in league]
        values = [float(r["delivery_ratio"]) if r.get("delivery_ratio") is not None else None
                  for r in league]
        charts.insert(0, {
            "svg": dot_chart(f"Delivered / commissioned by provider, {period.label()}",
                             labels, values, target=delivery.target, percent=True),
            "caption": f"Delivered / commissioned by provider, {period.label()}",
            "heading": "Provider",
            "rows": [(n, "" if v is None else f"{v:.1%}")
                     for n, v in zip(labels, values, strict=True)]})
    measures = [{"label": t.label, "target_label": t.target_label} for t in TARGETS]
    return page(request, "scorecard.html", who, "Scorecard", "portal-scorecard",
                league=rows, charts=charts, measures=measures, month=month,
                period_label=period.label(), whose=whose, focus=focus,
                all_href=f"{scorecard_path}?month={month}#trends")


def _latest_day(request: Request) -> date | None:
    """The latest local day with a visit outcome: the scorecard opens on its month."""
    import psycopg

    with psycopg.connect(request.app.state.settings.db.dsn_for("api"), autocommit=True) as conn:
        row = conn.execute("SELECT max(local_date) FROM visit_outcomes").fetchone()
    return row[0] if row else None


def _scorecard_rows(
    request: Request, period: Any, provider_id: str | None
) -> tuple[list[Any], list[Any], dict[str, str]]:
    import psycopg

    from ecm.kpi import league_table, trend
    from ecm.kpi.queries import sql_text

    settings = request.app.state.settings
    with psycopg.connect(settings.db.dsn_for("api"), autocommit=True) as conn:
        league = league_table(conn, period)
        weekly = trend(conn, period, provider_id)
        names = {row[0]: row[1] for row in conn.execute(sql_text("providers"))}
    return league, weekly, names


@router.get("/payments.csv", name="portal-payments")
async def payments(request: Request) -> Response:
    """The payment export of one provider and month (the API's own export)."""
    who = await visitor(request)
    today = now_of(request).astimezone(LONDON).date()
    _, period = _month_period(request.query_params.get("month"), today)
    provider = request.query_params.get("provider_id") or None
    try:
        return await acts.payments_csv(request, principal_of(who), period.start,
                                       period.end - timedelta(days=1), provider)
    except ApiError as exc:
        raise PageRefused(exc.message, exc.status) from None


# --------------------------------------------------------------------------- recalculations


async def _in_database(request: Request, read: Callable[..., T], *args: Any) -> T:
    """Run ``read(conn, *args)`` on a connection of the API's role, in a thread."""
    import psycopg

    def run() -> T:
        dsn = request.app.state.settings.db.dsn_for("api")
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            return read(conn, *args)

    try:
        return await asyncio.to_thread(run)
    except psycopg.OperationalError:
        raise PageRefused("The database cannot be reached just now; try again shortly.",
                          503) from None
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        raise PageRefused("The database is older than this ecm: run `ecm db migrate`.",
                          503) from None


def _days(first: date, last: date | None) -> str:
    return f"{first:%d %b %Y} to " + (f"{last:%d %b %Y}" if last else "today")


@router.get("/recalculations", name="portal-recalculations")
async def recalculations(request: Request) -> Response:
    """Every recorded recalculation: what it covers, what it moves, whether applied."""
    from ecm.recalc import store

    who = await visitor(request)
    _for_managers(request, who, "recalculations are for contract managers")
    found = await _in_database(request, store.recalculations)
    rows = [{"id": r.recalculation_id,
             "href": router.url_path_for("portal-recalculation",
                                         recalculation_id=r.recalculation_id),
             "period": _days(r.from_date, r.to_date),
             "reason": r.reason, "by": r.created_by, "at": _local(r.created_at),
             "changed": r.visits_changed, "judged": r.visits_judged,
             "before": money(r.payable_before), "after": money(r.payable_after),
             "delta": money(r.payable_after - r.payable_before),
             "applied": f"{_local(r.applied_at)} by {r.applied_by}" if r.applied_at
             else "" if r.visits_changed else "nothing to apply"}
            for r in found]
    return page(request, "recalculations.html", who, "Recalculations",
                "portal-recalculations", rows=rows)


@router.get("/recalculations/{recalculation_id}", name="portal-recalculation")
async def recalculation(request: Request, recalculation_id: str) -> Response:
    """One recalculation's difference, per provider and per visit, before it is applied."""
    from ecm.recalc import report, store

    who = await visitor(request)
    _for_managers(request, who, "recalculations are for contract managers")
    try:
        recorded, diff = await _in_database(request, store.load, recalculation_id,
                                            VISITS_SHOWN)
    except store.RecalculationError as exc:
        raise PageRefused(str(exc), 404) from None
    providers = [{"id": p.provider_id, "judged": p.visits_judged, "changed": p.visits_changed,
                  "before": money(p.payable_before), "after": money(p.payable_after),
                  "delta": money(p.payable_delta), "verified_delta": money(p.verified_delta)}
                 for p in sorted(diff.providers.values(), key=lambda p: p.provider_id)
                 if p.visits_changed or p.payable_delta]
    visits = [dict(zip(report.VISIT_COLUMNS, report.visit_row(v), strict=True))
              | {"href": router.url_path_for("portal-visit", visit_id=v.visit_id)}
              for v in diff.visits]
    stands = report.stands(recalculation_id, recorded.visits_changed, recorded.applied_at,
                           recorded.applied_by)
    return page(request, "recalculation.html", who, f"Recalculation {recalculation_id}",
                "portal-recalculations", r=recorded, stands=stands.replace("`", ""),
                period=_days(recorded.from_date, recorded.to_date),
                before=money(recorded.payable_before), after=money(recorded.payable_after),
                delta=money(recorded.payable_after - recorded.payable_before),
                providers=providers, visits=visits, more=recorded.visits_changed - len(visits))


# --------------------------------------------------------------------------- visit


@router.get("/visits/{visit_id}", name="portal-visit")
async def visit(request: Request, visit_id: str) -> Response:
    """Every fact of one visit in order: what a contract manager opens in a dispute."""
    who = await visitor(request)
    reads = _reads(request)
    story = await w.guard(w.workflow_reads(request).visit_story(visit_id))
    if story is None:
        raise PageRefused("There is no such visit.", 404)
    if not who.user.sees(story["provider_id"]):
        refuse(request, who, "read of another provider's visit", visit_id=visit_id)
        raise PageRefused("There is no such visit.", 404)
    outcome = await w.guard(reads.visit(visit_id)) or {}
    payload = outcome.get("payload") or {}
    codes = await w.guard(w.workflow_reads(request).codes(w.local_day(now_of(request))))
    labels = {c.code: c.label for c in codes.codes} if codes else {}
    timeline = []
    for row in story["items"]:
        described = describe(row, labels)
        if described is None:
            continue
        at, learned = row["at"], row.get("learned_at")
        late = learned is not None and (learned - at).total_seconds() > 60
        timeline.append({"at_iso": at.isoformat(), "at_label": _local(at),
                         "learned_label": _local(learned) if late else "",
                         "what": described[0], "detail": described[1]})
    summary = {"visit_id": visit_id, "provider_id": story["provider_id"],
               "status": payload.get("status"),
               "verification": payload.get("verification", "verified" if payload else None),
               "payable_gbp": payload.get("payable_gbp"),
               "verified_gbp": payload.get("verified_gbp", payload.get("payable_gbp")),
               "disputed_gbp": payload.get("disputed_gbp", "0.00"),
               "max_distance_m": payload.get("max_distance_m"),
               "carer_ids": ", ".join(payload.get("carer_ids") or ()),
               **_trust_and_provenance(payload)}
    return page(request, "visit.html", who, f"Visit {visit_id}", visit=summary,
                timeline=timeline)


def _trust_and_provenance(payload: dict[str, Any]) -> dict[str, Any]:
    """An outcome's trust score, its reasons and which rules and rate card judged it.

    Outcomes recorded before version 3 say none of it (docs/rules.md, "Trust score").
    """
    reasons = [f"{d['reason'].replace('_', ' ')} −{d['points']}"
               + (f" ({d['carer_id']})" if d.get("carer_id") else "")
               for d in payload.get("trust_deductions") or ()]
    rules = ", ".join(f"{v['id']} from {v['effective_from']}"
                      for v in payload.get("rules_applied") or ()) or "the defaults"
    card = payload.get("rate_card")
    judged = (f"rules: {rules}; rate card: "
              + (f"{card['id']} from {card['effective_from']}" if card else "none"))
    return {"trust_score": payload.get("trust_score"), "trust_reasons": "; ".join(reasons),
            "judged_by": judged if payload.get("schema_version", 1) >= 3 else None}


_ALERT_ACTS = ("alert_acknowledged", "alert_escalated", "alert_closed")


def describe(row: dict[str, Any], labels: dict[str, str] | None = None) -> tuple[str, str] | None:
    """One stored fact of a visit in words (None: said by another row of the page).

    ``labels`` names the council's codes; ``alert:<action>`` rows are an alert's history.
    """
    what, p = row["what"], dict(row.get("payload") or {})
    named = labels or {}
    for field in ("reason_code", "resolution_code", "code"):
        if p.get(field):
            p[field] = named.get(p[field], p[field])
    by = p.get("by") or p.get("corrected_by") or ""
    if what in _ALERT_ACTS:
        return None  # the alert's history row says it, with when ecm judged it
    if what == "visit_planned":
        return "Planned", (f"{_local(p.get('planned_start'))} to {_local(p.get('planned_end'))}, "
                           f"{p.get('carers_required', 1)} carer(s), "
                           f"{str(p.get('service', '')).replace('_', ' ')}")
    if what == "visit_changed":
        return "Plan changed", f"{_local(p.get('planned_start'))} to {_local(p.get('planned_end'))}"
    if what == "visit_cancelled":
        return "Cancelled", f"by {p.get('cancelled_by')}"
    if what in ("carer_checked_in", "carer_checked_out"):
        verb = "Checked in" if what == "carer_checked_in" else "Checked out"
        reason = f", reason {p['reason_code']}" if p.get("reason_code") else ""
        method = str(p.get("method", "")).replace("_", " ")
        where = ""
        if p.get("distance_m") is not None:
            where = f", {p['distance_m']} m from the client's registered location"
            if p.get("accuracy_m") is not None:
                where += f" (phone accurate to {p['accuracy_m']} m)"
        return verb, f"carer {p.get('carer_id')}, by {method}{where}{reason}"
    if what == "call_time_corrected":
        return "Call time corrected", (f"{p.get('corrects', '').replace('_', '-')} of carer "
                                       f"{p.get('carer_id')} to {_local(p.get('corrected_time'))}"
                                       f" by {by} ({p.get('reason_code')}); original kept")
    if what == "exception_explained":
        return "Explained", _coded(by, p.get("reason_code"), p.get("note"), p.get("exception_id"))
    if what == "exception_decided":
        return (str(p.get("decision", "decided")).capitalize(),
                _coded(by, p.get("resolution_code"), p.get("note"), p.get("exception_id")))
    if what == "correction_decided":
        return (f"Late correction {p.get('decision')}",
                _coded(by, None, p.get("note"), p.get("correction_event_id")))
    if what == "visit_frustrated":
        return "Frustrated visit", _coded(by, p.get("reason_code"), p.get("note"), None)
    if what.startswith("alert:"):
        kind = KIND_LABELS.get(p.get("kind", ""), p.get("kind", ""))
        action = what.removeprefix("alert:").replace("_", " ")
        tier = TIER_LABELS.get(AlertTier(p["tier"]), p["tier"]) if p.get("tier") else ""
        parts = [x for x in (f"now with {tier}" if tier else "", f"by {p['by']}" if p.get("by")
                             else "", p.get("code") or "", p.get("note") or "") if x]
        return f"{kind} alert {action}", ", ".join(parts)
    if what == "exception_raised":
        return (f"Exception: {str(p.get('kind', '')).replace('_', ' ')}",
                p.get("detail") or (f"carer {p['carer_id']}" if p.get("carer_id") else ""))
    if what == "exception_settled":
        return f"Exception settled: {str(p.get('kind', '')).replace('_', ' ')}", ""
    return what.replace("_", " ").capitalize(), ""


def _coded(by: str, code: str | None, note: str | None, subject: str | None) -> str:
    parts = [f"by {by}" if by else "", code or "", f"“{note}”" if note else "",
             f"({subject})" if subject else ""]
    return " ".join(x for x in parts if x)
