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
    summary="Kafka and the database answer; owners are loaded",
    responses={503: {"description": "A dependency is down"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when Kafka, PostgreSQL and the owners of visits and carers are ready, else 503.

    Kafka answers a metadata request, PostgreSQL ``SELECT 1``, and the topics the owners
    come from have been read to their end once.
    """
    state = request.app.state
    kafka = await state.publisher.ready()
    db = await state.reads.ping() if state.reads is not None else False
    owners = state.ownership.ready()
    body = {"kafka": "ok" if kafka else "down", "db": "ok" if db else "down",
            "ownership": "ok" if owners else "loading"}
    return JSONResponse(body, status_code=200 if kafka and db and owners else 503)
