"""The ``ecm`` command line: one Typer app, one module per command group."""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from ecm.cli import (
    alerts_cmd,
    api_cmd,
    codes_cmd,
    corrections_cmd,
    db_cmd,
    exceptions_cmd,
    monitoring_cmd,
    notify_cmd,
    providers_cmd,
    publish_cmd,
    recalc_cmd,
    replay_cmd,
    report_cmd,
    schemas_cmd,
    simulate_cmd,
    subject_cmd,
    users_cmd,
    visits_cmd,
)

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
api_cmd.register(app)
providers_cmd.register(app)
simulate_cmd.register(app)
replay_cmd.register(app)
publish_cmd.register(app)
report_cmd.register(app)
notify_cmd.register(app)
subject_cmd.register(app)
codes_cmd.register(app)
exceptions_cmd.register(app)
alerts_cmd.register(app)
monitoring_cmd.register(app)
corrections_cmd.register(app)
visits_cmd.register(app)
users_cmd.register(app)
recalc_cmd.register(app)


# Commands of packages that depend on ecm (the Faust worker in ``streams``) plug in
# through the "ecm.commands" entry point, so ecm never imports them.
for _plugin in entry_points(group="ecm.commands"):
    _plugin.load()(app)


def main() -> None:
    """Run the ``ecm`` command line."""
    app()
