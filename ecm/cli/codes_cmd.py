"""``ecm codes load``: publish a council's list of reason, resolution and outcome codes.

The file is one ``reason_codes_published`` event (docs/reason-codes.json is the default
list). It is reference data: it goes straight to the reference topic, acknowledged by
every replica, like the reference data ``ecm publish`` sends. The list replaces the
previous one from its ``effective_from``; loading the same file again changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from ecm.contracts import ContractError, ReasonCodesPublished, parse_event
from ecm.kafka.admin import ensure_topics
from ecm.producer import KafkaEventPublisher, PublishError
from ecm.settings import KafkaSettings, get_settings

codes_app = typer.Typer(help="The council's reason and outcome codes.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(
    metavar="FILE", exists=True, dir_okay=False,
    help="A reason_codes_published event as JSON (e.g. docs/reason-codes.json).")]


def read_code_list(path: Path) -> ReasonCodesPublished:
    """Read and validate a code list file.

    Raises:
        typer.Exit: the file is not a valid ``reason_codes_published`` event (reasons printed).

    """
    try:
        event = parse_event(path.read_bytes())
    except ContractError as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(event, ReasonCodesPublished):
        typer.echo(f"error: {path}: a {event.event_type}, not a reason_codes_published", err=True)
        raise typer.Exit(2)
    return event


async def _publish(kafka: KafkaSettings, event: ReasonCodesPublished) -> None:
    publisher = KafkaEventPublisher(kafka)
    await publisher.start()
    try:
        await publisher.publish([event])
    finally:
        await publisher.stop()


def publish_code_list(kafka: KafkaSettings, event: ReasonCodesPublished) -> None:
    """Publish a code list and wait until every replica acknowledged it.

    Raises:
        PublishError: not acknowledged in time (loading the file again is safe).

    """
    ensure_topics(kafka)
    asyncio.run(_publish(kafka, event))


@codes_app.command("load")
def load(
    path: FileArg,
    check: Annotated[bool, typer.Option("--check", help="Only validate the file.")] = False,
) -> None:
    """Validate a code list and publish it as reference data."""
    event = read_code_list(path)
    counts = {p: sum(1 for c in event.codes if c.purpose == p)
              for p in dict.fromkeys(c.purpose for c in event.codes)}
    summary = ", ".join(f"{n} {p.value}" for p, n in counts.items())
    if check:
        typer.echo(f"{event.code_list_id}: valid ({summary} codes)")
        return
    kafka = get_settings().kafka
    try:
        publish_code_list(kafka, event)
    except PublishError as exc:
        typer.echo(f"error: not published: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"published code list {event.code_list_id} ({summary} codes), effective from "
               f"{event.effective_from} to {kafka.topic_prefix}.reference")


def register(app: typer.Typer) -> None:
    """Add ``ecm codes`` to the main app."""
    app.add_typer(codes_app, name="codes")
