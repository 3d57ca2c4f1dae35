"""``ecm api``: serve the provider HTTP API with uvicorn."""

from __future__ import annotations

import inspect
from typing import Any

import typer

from ecm.settings import get_settings


def serve(
    host: str | None = typer.Option(None, help="Bind address; default: ECM_API__HOST."),
    port: int | None = typer.Option(None, help="Port; default: ECM_API__PORT."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes; each enforces 1/N of every key's rate limit."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the provider ingestion API (events, CSV uploads, reads, health).

    With ``--workers N`` uvicorn runs N processes on one port; each keeps its own owners
    directory and rate-limit buckets, and takes an N-th of every key's limit (told through
    ``ECM_API__WORKERS``), so together they allow a key no more than the configured limit.
    """
    import os

    import uvicorn

    from ecm.logfmt import log_config

    os.environ["ECM_API__WORKERS"] = str(workers)  # read by every worker process's settings
    get_settings.cache_clear()
    settings = get_settings()
    extra: dict[str, Any] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        # a worker still starting (reading the owners) on a busy machine is not hung
        extra["timeout_worker_healthcheck"] = 60
    uvicorn.run(
        "ecm.api:create_app",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        workers=workers,
        log_level=log_level,
        access_log=True,
        log_config=log_config(),
        server_header=False,
        # longer than the idle timeout of clients and load balancers (60 s is common), so
        # the server never closes a connection a client is just sending on (a reset)
        timeout_keep_alive=75,
        **extra,
    )


def register(app: typer.Typer) -> None:
    """Add ``ecm api`` to the main app."""
    app.command("api")(serve)
