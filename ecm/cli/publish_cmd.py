"""``ecm publish``: send an extract through Kafka for the workers to replay."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TextColumn

from ecm.kafka.admin import ensure_topics, pipeline_lag
from ecm.kafka.publish import publish_replay
from ecm.settings import KafkaSettings, get_settings

InputArg = Annotated[Path, typer.Argument(
    metavar="INPUT", exists=True, dir_okay=False, help="JSON Lines file of contract-v1 events.")]
UntilOpt = Annotated[datetime | None, typer.Option(
    formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
    help="Stop the clock here (with offset): later rota and call events are not sent.")]


WaitOpt = Annotated[bool, typer.Option(
    help="Wait until the workers have processed everything (their group lag is 0).")]


def publish(input_path: InputArg, until: UntilOpt = None, wait: WaitOpt = False,
            timeout: float = typer.Option(1800, help="Seconds to wait at most.")) -> None:
    """Publish an extract to Kafka, with watermark ticks, for workers in replay mode.

    Events go to their topics in file order (reference data by entity, the rota and
    calls by visit); invalid lines go as they are, for the workers to dead-letter.
    Whenever the event-time watermark (the latest rota or call event time, in
    five-minute steps) moves on, a watermark tick goes to every visit-events
    partition, and a final flush tick ends the extract, so `ecm worker --clock replay`
    reaches exactly the results `ecm replay` writes for the same file.
    """
    settings = get_settings()
    ensure_topics(settings.kafka)
    with input_path.open("rb") as lines:
        summary = publish_replay(lines, settings.kafka, until)
    typer.echo(
        f"published {summary.events} events, {summary.invalid} invalid line(s) and "
        f"{summary.ticks} watermark ticks to {settings.kafka.topic_prefix}.*",
        err=True,
    )
    if wait:
        _wait_for_workers(settings.kafka, timeout)


def _wait_for_workers(kafka: KafkaSettings, timeout: float) -> None:
    started, settled = time.monotonic(), 0
    with Progress(TextColumn("{task.description}"), transient=True) as progress:
        task = progress.add_task("waiting for the workers", total=None)
        while time.monotonic() - started < timeout:
            lag = pipeline_lag(kafka)
            progress.update(task, description=f"workers have {lag:,} messages to go")
            settled = settled + 1 if lag == 0 else 0
            if settled >= 3:  # nothing left, three times in a row
                typer.echo(f"processed in {time.monotonic() - started:.0f} s", err=True)
                return
            time.sleep(1)
    typer.echo(f"error: the workers still have {lag:,} messages after {timeout:.0f} s", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``ecm publish`` to the main app."""
    app.command("publish")(publish)
