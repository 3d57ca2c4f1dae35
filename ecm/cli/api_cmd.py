"""``ecm api``: serve the provider HTTP API with uvicorn."""

from __future__ import annotations

import typer

from ecm.settings import get_settings


def serve(
    host: str | None = typer.Option(None, help="Bind address; default: ECM_API__HOST."),
    port: int | None = typer.Option(None, help="Port; default: ECM_API__PORT."),
    workers: int = typer.Option(1, min=1, help="Worker processes (rate limits are per process)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the provider ingestion API (events, CSV uploads, reads, health)."""
    import uvicorn

    from ecm.logfmt import log_config

    settings = get_settings()
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
    )


def register(app: typer.Typer) -> None:
    """Add ``ecm api`` to the main app."""
    app.command("api")(serve)
