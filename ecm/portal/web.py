"""The portal's plumbing: templates, signing in and out, sessions and CSRF checks.

Pages live under ``/portal``; every asset is served from ``/portal/static`` (no CDN:
councils run on locked-down networks, and the Content-Security-Policy allows nothing
else). Every form carries the session's CSRF token (before sign-in, a pre-session token
in its own cookie); a POST without the right token is refused with 403 and logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ecm.api.keys import Role
from ecm.portal.accounts import (
    AccountStore,
    Session,
    User,
    csrf_matches,
    dummy_verify,
    new_session,
    password_matches,
    session_digest,
)

security_log = logging.getLogger("ecm.portal.security")

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
SESSION_COOKIE = "ecm_session"
PRE_SESSION_COOKIE = "ecm_pre_session"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

ROLE_LABELS = {
    Role.PROVIDER: "Provider staff",
    Role.CONTRACT_MANAGER: "Contract manager",
    Role.DUTY_OFFICER: "Duty officer",
    Role.ADMIN: "Administrator",
}

router = APIRouter(prefix="/portal", include_in_schema=False)


@dataclass(frozen=True)
class Visitor:
    """A signed-in person and their session."""

    user: User
    session: Session


class SignInRequired(Exception):
    """The page needs a signed-in person; the browser is sent to the sign-in page."""


class PageRefused(Exception):
    """The signed-in person may not do or see this (answered 403, logged)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def now_of(request: Request) -> datetime:
    """The portal's clock (tests may set ``app.state.portal_clock``)."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "portal_clock", None)
    return clock() if clock else datetime.now(UTC)


def accounts(request: Request) -> AccountStore:
    """The account store the app was built with."""
    store: AccountStore = request.app.state.accounts
    return store


async def visitor(request: Request) -> Visitor:
    """The signed-in person of this request, or ``SignInRequired``."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    store, now = accounts(request), now_of(request)
    session = await store.session(session_digest(token))
    if session is None:
        raise SignInRequired()
    if session.expired_at(now):
        await store.end_session(session.session_hash)
        raise SignInRequired()
    user = await store.user(session.user_id)
    if user is None:
        raise SignInRequired()
    await store.touch_session(session.session_hash, now)
    request.state.portal_user = user.user_id
    return Visitor(user, session)


async def check_csrf(request: Request, who: Visitor) -> dict[str, Any]:
    """The posted form, once its CSRF token is the session's; else 403 (logged)."""
    form = dict(await request.form())
    presented = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not csrf_matches(who.session, presented if isinstance(presented, str) else None):
        security_log.warning("form refused: missing or wrong CSRF token",
                             extra={"user_id": who.user.user_id, "path": request.url.path})
        raise PageRefused("This form has expired or did not come from this site. "
                          "Go back, reload the page and try again.")
    return form


def refuse(request: Request, who: Visitor, reason: str, **detail: str) -> PageRefused:
    """Log a refusal (who, what, where) and return the error to raise."""
    security_log.warning("portal refused: %s", reason,
                         extra={"user_id": who.user.user_id, "role": who.user.role.value,
                                "provider_id": who.user.provider_id, "path": request.url.path,
                                **detail})
    return PageRefused(reason)


def menu_for(user: User, current: str) -> list[dict[str, Any]]:
    """The navigation a role sees."""
    items = [("portal-duty", "Duty board")]  # everyone here may act on some alert
    items.append(("portal-exceptions", "Exceptions"))
    if user.role in (Role.CONTRACT_MANAGER, Role.ADMIN):
        items.append(("portal-scorecard", "Scorecard"))
        items.append(("portal-recalculations", "Recalculations"))
    return [{"href": router.url_path_for(name), "label": label, "current": name == current}
            for name, label in items]


def page(
    request: Request, template: str, who: Visitor | None, title: str, current: str = "",
    status: int = 200, **context: Any,
) -> Response:
    """Render a page with the layout's context (who is signed in, their menu and token)."""
    user = who.user if who else None
    base = {
        "title": title, "user": user,
        "role_label": ROLE_LABELS.get(user.role, "") if user else "",
        "menu": menu_for(user, current) if user else [],
        "csrf_token": who.session.csrf_token if who else context.pop("csrf_token", ""),
        "flash": _take_flash(request, who),
    }
    response = templates.TemplateResponse(request, template, base | context, status_code=status)
    return secure(response)


def secure(response: Response) -> Response:
    """Add the portal's security headers."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def flash_signature(who: Visitor, kind: str, text: str) -> str:
    """A message's signature with the session's secret: only the portal can set its flashes."""
    key = who.session.csrf_token.encode()
    return hmac.new(key, f"{kind}\n{text}".encode(), hashlib.sha256).hexdigest()[:32]


def _take_flash(request: Request, who: Visitor | None) -> dict[str, str] | None:
    """The message an act left for the next page, if the portal itself signed it."""
    for kind in ("done", "failed"):
        text = request.query_params.get(kind)
        signature = request.query_params.get("sig", "")
        if text and who is not None and hmac.compare_digest(
                signature, flash_signature(who, kind, text)):
            return {"kind": "done" if kind == "done" else "error", "text": text[:300]}
    return None


def _set_cookie(response: Response, request: Request, name: str, value: str,
                max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=_secure_cookies(request), path="/portal")


def _secure_cookies(request: Request) -> bool:
    # Browsers keep Secure cookies on http://localhost and 127.0.0.1 (trustworthy
    # origins); anywhere else the portal must be served over HTTPS.
    return True


@router.get("/sign-in", name="portal-sign-in-form")
async def sign_in_form(request: Request) -> Response:
    """The sign-in page (with a pre-session CSRF token in its own cookie)."""
    token = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", None, "Sign in", csrf_token=token)
    _set_cookie(response, request, PRE_SESSION_COOKIE, token, 3600)
    return response


@router.post("/sign-in", name="portal-sign-in")
async def sign_in(request: Request) -> Response:
    """Check the password, lock after repeated failures, start a session."""
    form = await request.form()
    user_id = str(form.get("user_id", "")).strip().lower()
    password = str(form.get("password", ""))
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    posted = form.get("csrf_token")
    if not pre or not isinstance(posted, str) or not secrets.compare_digest(pre, posted):
        security_log.warning("sign-in refused: missing or wrong CSRF token",
                             extra={"attempted_user": user_id[:64]})
        return _retry(request, user_id, "Your sign-in form had expired. Please try again.", 403)
    store, now = accounts(request), now_of(request)
    user = await store.user(user_id) if user_id else None
    if user is None:
        dummy_verify(password)
        security_log.warning("sign-in failed: unknown user", extra={
            "attempted_user": user_id[:64], "client": _client(request)})
        return _retry(request, user_id, _WRONG, 401)
    if user.locked_at(now):
        security_log.warning("sign-in refused: account locked", extra={
            "user_id": user.user_id, "locked_until": str(user.locked_until),
            "client": _client(request)})
        return _retry(request, user_id, _WRONG, 401)
    if not password_matches(user, password):
        failed = await store.record_failure(user.user_id, now)
        security_log.warning("sign-in failed: wrong password", extra={
            "user_id": user.user_id, "client": _client(request),
            "locked": bool(failed and failed.locked_at(now))})
        return _retry(request, user_id, _WRONG, 401)
    if user.failed_attempts or user.locked_until:
        await store.clear_failures(user.user_id)
    token, session = new_session(user.user_id, now)
    await store.add_session(session)
    security_log.info("signed in", extra={"user_id": user.user_id, "role": user.role.value,
                                          "client": _client(request)})
    response = RedirectResponse(router.url_path_for("portal-home"), status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, token, 12 * 3600)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/portal")
    return secure(response)


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


_WRONG = "That user id and password do not match an account that can sign in now."


def _retry(request: Request, user_id: str, error: str, status: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", None, "Sign in", status=status, error=error,
                    user_id=user_id, csrf_token=token)
    _set_cookie(response, request, PRE_SESSION_COOKIE, token, 3600)
    return response


@router.post("/sign-out", name="portal-sign-out")
async def sign_out(request: Request) -> Response:
    """End the session."""
    who = await visitor(request)
    await check_csrf(request, who)
    await accounts(request).end_session(who.session.session_hash)
    security_log.info("signed out", extra={"user_id": who.user.user_id})
    response = RedirectResponse(router.url_path_for("portal-sign-in-form"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return secure(response)


@router.get("", name="portal-home")
@router.get("/", name="portal-home-slash")
async def home(request: Request) -> Response:
    """Each role's first page."""
    who = await visitor(request)
    first = {Role.DUTY_OFFICER: "portal-duty", Role.PROVIDER: "portal-exceptions",
             Role.CONTRACT_MANAGER: "portal-scorecard", Role.ADMIN: "portal-duty"}
    return RedirectResponse(router.url_path_for(first[who.user.role]), status_code=303)
