"""The busiest routes served straight from ASGI, past FastAPI's routing and dependency layers.

``POST /v1/events`` and ``POST /v1/events/batch`` take the ``Request`` and return a
``Response``: they authenticate, validate and answer by themselves, and use nothing of
what FastAPI's stack does between the middleware and the endpoint (matching the path
against every router, solving dependencies, the exception and exit-stack wrappers).
Profiled at 700 single events/s that stack cost about a quarter of the server's CPU; for
batches of 500, about a twentieth. ``DirectRoutes`` calls such an endpoint itself when
the method and the path match exactly, and renders what it raises with the app's own
error handlers (``ecm.api.errors``), so the answer is the same either way. Anything else
(another path, a trailing slash, a root path) goes through the full stack, and the routes
stay registered with FastAPI, which documents them in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ecm.api.errors import error_response

Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoutes:
    """ASGI middleware calling the endpoints of ``routes`` (method, path) directly."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request for one of the routes; hand anything else to the app."""
        endpoint = None
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.routes.get((scope["method"], scope["path"]))
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            rendered = await error_response(request, exc)
            if rendered is None:
                raise  # unexpected: the middleware answers a generic 500
            response = rendered
        await response(scope, receive, send)
