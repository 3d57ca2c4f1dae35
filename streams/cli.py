"""``ecm worker``: plugged into the ``ecm`` command through the "ecm.commands" entry point."""

from __future__ import annotations

import typer


def worker(
    worker_id: str = typer.Option("1", help="Distinguishes workers on one machine."),
    clock: str = typer.Option(
        "live", help="live: deadlines by the wall clock; replay: by watermark ticks in the input."
    ),
    loglevel: str = typer.Option("warning", help="Faust log level."),
    metrics_port: int | None = typer.Option(
        None, help="Port for /metrics (default ECM_METRICS__PORT; 0 picks a free one)."
    ),
    sink: bool = typer.Option(
        True, "--sink/--no-sink",
        help="Also run the database sink in this process; with --no-sink run `ecm sink`.",
    ),
) -> None:
    """Run a stream worker: visit engine, deadline timer, database sink and dead letters.

    Start as many as you like (on this or other machines): Kafka shares the partitions
    of the visit-events topic among them and moves them when one stops.
    """
    from ecm.kafka.connection import BrokerUnavailable
    from streams.worker import run_worker

    try:
        run_worker(worker_id=worker_id, clock=clock, loglevel=loglevel,
                   metrics_port=metrics_port, with_sink=sink)
    except (BrokerUnavailable, ValueError) as exc:  # settings or broker: say which, stop
        typer.echo(f"ecm worker: cannot start: {exc}", err=True)
        raise typer.Exit(2) from exc


def sink(
    loglevel: str = typer.Option("warning", help="Log level."),
    metrics_port: int | None = typer.Option(
        None, help="Port for /metrics (default ECM_METRICS__SINK_PORT; 0 picks a free one)."
    ),
) -> None:
    """Run the database sink on its own, next to workers started with --no-sink.

    It is a consumer group of its own: start several to share the topics' partitions.
    """
    from streams.sink import serve

    serve(loglevel=loglevel, metrics_port=metrics_port)


def register(app: typer.Typer) -> None:
    """Add ``ecm worker`` and ``ecm sink`` to the main app."""
    app.command("worker")(worker)
    app.command("sink")(sink)
