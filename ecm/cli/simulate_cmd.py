"""``ecm simulate``: write a seeded synthetic Kent-scale run to a JSONL file or to Kafka."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import typer

from ecm.settings import get_settings
from ecm.simulate import SimulationConfig, Summary, simulate
from ecm.simulate.emit import JsonlSink, KafkaSink, Sink, paced
from ecm.simulate.truth import Truth, truth_path, write_truth

DEFAULT_START = datetime(2026, 11, 16)  # noqa: DTZ001 - a calendar day, parsed naive by Typer


class Mode(StrEnum):
    """Replay as fast as possible, or pace against the wall clock."""

    REPLAY = "replay"
    LIVE = "live"


@contextmanager
def _progress(enabled: bool, summary: Summary, days: int) -> Iterator[None]:
    """Show a rich progress bar over days on stderr, when enabled."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("simulating days", total=days)
        summary.on_day = lambda _day: progress.advance(task)
        yield


@contextmanager
def _truth_file(path: str | None) -> Iterator[Callable[[list[Truth]], None] | None]:
    """Open the ground-truth file (if any) and give the writer of each day's records."""
    if path is None:
        yield None
        return
    with open(path, "wb") as handle:
        yield lambda records: write_truth(handle, records)


def _sink(out: str | None, kafka: bool) -> Sink:
    if kafka == (out is not None):
        raise typer.BadParameter("give exactly one of --out FILE (or -) and --kafka")
    if kafka:
        return KafkaSink(get_settings().kafka)
    assert out is not None
    return JsonlSink(out)


def run(
    seed: Annotated[
        int, typer.Option(help="Seed of every random stream: same seed, same bytes.")
    ] = 42,
    weeks: Annotated[int, typer.Option(min=1, help="Number of weeks to simulate.")] = 1,
    start: Annotated[
        datetime,
        typer.Option(
            formats=["%Y-%m-%d"], help="First local day (a Monday keeps ISO weeks whole)."
        ),
    ] = DEFAULT_START,
    scale: Annotated[
        float, typer.Option(min=0.0001, max=10.0, help="1.0 = Kent; 0.01 for tests.")
    ] = 1.0,
    out: Annotated[str | None, typer.Option(help="JSONL file to write ('-' = stdout).")] = None,
    kafka: Annotated[
        bool, typer.Option("--kafka", help="Produce to the broker from settings.")
    ] = False,
    mode: Annotated[
        Mode, typer.Option(help="replay: as fast as possible; live: paced.")
    ] = Mode.REPLAY,
    speed: Annotated[
        float, typer.Option(min=0.001, help="Live mode: simulated seconds per wall second.")
    ] = 60.0,
    malformed_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of extra malformed lines.")
    ] = 0.0005,
    progress: Annotated[
        bool, typer.Option("--progress", help="Show a progress bar even when stderr is no TTY.")
    ] = False,
    truth: Annotated[
        str | None,
        typer.Option(help="Ground-truth JSONL file (why visits were late; rota gaps too "
                     "short for travel). Default: next to --out FILE as FILE.truth.jsonl."),
    ] = None,
) -> None:
    """Generate synthetic homecare data (reference, rotas, calls) in contract v1."""
    config = SimulationConfig(
        seed=seed,
        start=date.fromisoformat(start.date().isoformat()),
        weeks=weeks,
        scale=scale,
        malformed_rate=malformed_rate,
    )
    sink = _sink(out, kafka)
    summary = Summary()
    show = progress or (sys.stderr.isatty() and out != "-")
    target = truth or (str(truth_path(out)) if out not in (None, "-") else None)
    with _progress(show, summary, weeks * 7), _truth_file(target) as record_truth:
        lines = simulate(config, summary, record_truth)
        if mode is Mode.LIVE:
            lines = paced(lines, speed)
        try:
            for line in lines:
                sink.write(line)
        finally:
            sink.close()
    typer.echo(summary.render(weeks), err=True)


def register(app: typer.Typer) -> None:
    """Add ``ecm simulate`` to the main app."""
    app.command("simulate")(run)
