"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Answer 200 while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Kafka and the database answer",
    responses={503: {"description": "A dependency is down"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when Kafka answers a metadata request and PostgreSQL ``SELECT 1``, else 503."""
    state = request.app.state
    kafka = await state.publisher.ready()
    db = await state.reads.ping() if state.reads is not None else False
    body = {"kafka": "ok" if kafka else "down", "db": "ok" if db else "down"}
    return JSONResponse(body, status_code=200 if kafka and db else 503)
