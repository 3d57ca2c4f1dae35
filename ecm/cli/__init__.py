"""The ``ecm`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from ecm.cli import db_cmd, schemas_cmd

app = typer.Typer(
    name="ecm",
    help="Electronic call monitoring and contract performance for commissioned homecare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each command group registers itself on ``app``; keep one line per module here.
schemas_cmd.register(app)
db_cmd.register(app)


def main() -> None:
    """Run the ``ecm`` command line."""
    app()
