"""``ecm notify``: deliver missed-call and not-arrived alerts (and their escalations) by webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import typer

from ecm import metrics
from ecm.notify.config import NotifierConfig, config_from_settings
from ecm.notify.exceptions import NotifyConfigError
from ecm.notify.service import run_notifier
from ecm.settings import get_settings


def notify(
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
    metrics_port: int | None = typer.Option(
        None, help="Port of /metrics; default: ECM_METRICS__NOTIFY_PORT (0 disables)."
    ),
) -> None:
    """Consume the alerts topic into the webhook outbox and deliver it (runs until stopped).

    Configure with ECM_NOTIFY__DUTY_TEAM_URL, ECM_NOTIFY__PROVIDER_URLS (JSON),
    ECM_NOTIFY__MANAGER_URL (escalations past the duty team) and ECM_NOTIFY__SIGNING_SECRET;
    see README "Alerts and notifications" and "Closing the loop".
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    try:
        config = config_from_settings(settings, dsn)
    except NotifyConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    port = settings.metrics.notify_port if metrics_port is None else metrics_port
    if port:
        metrics.start_metrics_server(settings.metrics, port=port)
    metrics.worker_started("notify")
    asyncio.run(_run_until_signalled(config))


async def _run_until_signalled(config: NotifierConfig) -> None:
    task = asyncio.create_task(run_notifier(config))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def register(app: typer.Typer) -> None:
    """Add ``ecm notify`` to the main app."""
    app.command("notify")(notify)
