"""``ecm schemas``: write or check the JSON Schema files of the event contract."""

from __future__ import annotations

from pathlib import Path

import typer

from ecm.contracts.schemas import (
    contract_markdown,
    schema_documents,
    write_contract_docs,
    write_schemas,
)

CONTRACT_DOC = Path("docs/contract.md")

schemas_app = typer.Typer(help="JSON Schema files of the event contract.", no_args_is_help=True)


@schemas_app.command("export")
def export(
    directory: Path = typer.Option(Path("schemas"), help="Where the schema files go."),
) -> None:
    """Write one JSON Schema file per event type and version, and docs/contract.md."""
    for path in write_schemas(directory):
        typer.echo(str(path))
    typer.echo(str(write_contract_docs(CONTRACT_DOC)))


@schemas_app.command("check")
def check(
    directory: Path = typer.Option(Path("schemas"), help="Where the schema files are."),
) -> None:
    """Exit 1 if any schema file differs from what the models generate."""
    stale = [
        str(directory / rel)
        for rel, text in schema_documents().items()
        if not (directory / rel).exists() or (directory / rel).read_text() != text
    ]
    if not CONTRACT_DOC.exists() or CONTRACT_DOC.read_text() != contract_markdown():
        stale.append(str(CONTRACT_DOC))
    for rel in stale:
        typer.echo(f"out of date: {rel}", err=True)
    raise typer.Exit(1 if stale else 0)


def register(app: typer.Typer) -> None:
    """Add ``ecm schemas`` to the main app."""
    app.add_typer(schemas_app, name="schemas")
