"""Errors the API answers with, and the handlers that render them as JSON.

Every error body has the same shape: ``{"error": code, "message": text,
"request_id": id}`` plus, for validation errors, ``errors``: a list of
``{"field", "reason"}``. No response ever carries a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("ecm.api")
refusals_log = logging.getLogger("ecm.api.refusals")


class ApiError(Exception):
    """An error answered to the client with a status, a code and a message."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.extra = extra


class Unauthorized(ApiError):
    """No API key, or one that is unknown, malformed or revoked."""

    status, code = 401, "unauthorized"

    def __init__(self, message: str = "a valid API key is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="ecm"'})


class Forbidden(ApiError):
    """The key is valid but may not do this."""

    status, code = 403, "forbidden"


class NotFound(ApiError):
    """Nothing there, or nothing this key may see (the two are not distinguished)."""

    status, code = 404, "not_found"


class Conflict(ApiError):
    """The item's stored state does not allow the act (e.g. a decision on a settled one)."""

    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    """The request body is over the configured limit."""

    status, code = 413, "payload_too_large"


class ValidationFailed(ApiError):
    """The request (or every event in it) is invalid; ``errors`` names each field."""

    status, code = 422, "validation_failed"


class RateLimited(ApiError):
    """Too many requests for this key; retry after ``Retry-After`` seconds."""

    status, code = 429, "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"rate limit exceeded; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class Unavailable(ApiError):
    """A dependency (Kafka, the database) is down; nothing was accepted; retry later."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


def request_id(request: Request) -> str:
    """Return the id the middleware gave this request (``-`` outside the middleware)."""
    return str(getattr(request.state, "request_id", "-"))


def error_body(code: str, message: str, rid: str, **extra: Any) -> dict[str, Any]:
    """Build the JSON body shared by every error response."""
    return {"error": code, "message": message, "request_id": rid, **extra}


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body = error_body(exc.code, exc.message, request_id(request), **exc.extra)
    if exc.status in (409, 422) and request.method == "POST":
        # A refused act (a state that forbids it, a code or note the council's list
        # refuses): logged with who asked, as every refusal is (403s: ecm.api.security).
        principal = getattr(request.state, "principal", None)
        refusals_log.info("request refused", extra={
            "status": exc.status, "path": request.url.path, "reason": exc.message,
            "errors": exc.extra.get("errors"), "key_id": getattr(principal, "key_id", None),
            "request_id": request_id(request)})
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "(request)"


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
    body = error_body("validation_failed", "the request is invalid", request_id(request))
    return JSONResponse({**body, "errors": errors}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    body = error_body(code.get(exc.status_code, "http_error"), str(exc.detail), request_id(request))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


_HANDLERS: tuple[tuple[type[Exception], Callable[[Request, Exception],
                                                  Awaitable[JSONResponse]]], ...] = (
    (ApiError, _api_error),
    (RequestValidationError, _request_validation),
    (StarletteHTTPException, _http_error),
)


def install_handlers(app: FastAPI) -> None:
    """Render ApiError, request validation and HTTP errors as the shared JSON shape."""
    for kind, handler in _HANDLERS:
        app.add_exception_handler(kind, handler)


async def error_response(request: Request, exc: Exception) -> JSONResponse | None:
    """The answer the installed handlers give to ``exc``; None for an unexpected error.

    For routes served outside FastAPI's exception middleware (``ecm.api.direct``).
    """
    for kind, handler in _HANDLERS:
        if isinstance(exc, kind):
            return await handler(request, exc)
    return None
