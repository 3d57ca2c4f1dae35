"""Start a stream worker: the Faust app with its agents, timer, reference reader and sink."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import faust

from ecm import metrics
from ecm.domain.reference import ReferenceData
from ecm.kafka.admin import ensure_topics
from ecm.settings import Settings, get_settings
from ecm.visits.carers import CarerLedger
from ecm.visits.ledger import EncodedVisits, VisitLedger
from ecm.visits.rota import RotaLedger
from streams.agents import install_agents
from streams.app import Topology, build_topology
from streams.deadlines import DeadlineAlarm, install_timer
from streams.gates import Gates
from streams.reference import ReferenceReader
from streams.sink import run_sink
from streams.stores import TableStore

CLOCKS = ("live", "replay")


def assemble(settings: Settings, worker_id: str, clock: str, with_sink: bool = True) -> Topology:
    """Build the app and wire the ledgers, agents, timer and (unless run apart) sink onto it."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {CLOCKS}, not {clock!r}")
    (settings.state_dir / "faust" / worker_id).mkdir(parents=True, exist_ok=True)
    topology = build_topology(settings, worker_id, clock)
    reference = ReferenceData()
    reader = ReferenceReader(settings.kafka, reference)
    alarm = DeadlineAlarm()
    ledger = VisitLedger(reference, EncodedVisits(TableStore(topology.visits)), alarm.ring,
                         gated=clock == "replay")
    carers = CarerLedger(TableStore(topology.carers), reference)
    asyncio.run(reader.catch_up())
    gc.freeze()  # reference data lives as long as the worker: the collector skips it
    rotas = RotaLedger(reference, TableStore(topology.rotas))
    # The rota gate (ecm.visits.gate): only a replay outruns the carers' side.
    gates = Gates(TableStore(topology.gates), settings.kafka.partitions) \
        if clock == "replay" else None
    install_agents(topology, ledger, carers, rotas, gates)
    install_timer(topology, ledger, carers, alarm)

    async def release_rotas(app: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        rotas.release()  # read from the table again at the next schedule event
        if gates is not None:
            gates.release()

    topology.app.on_partitions_revoked.connect(release_rotas)  # type: ignore[arg-type]
    topology.app.task(reader.follow)

    async def database_sink() -> None:
        await run_sink(settings)

    if with_sink:
        topology.app.task(database_sink)
    return topology


def run_worker(
    worker_id: str = "1",
    clock: str = "live",
    loglevel: str = "warning",
    metrics_port: int | None = None,
    with_sink: bool = True,
) -> None:
    """Create the topics if needed, serve metrics, and run a worker until stopped."""
    settings = get_settings()
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    ensure_topics(settings.kafka)
    topology = assemble(settings, worker_id, clock, with_sink)
    metrics.start_metrics_server(settings.metrics, port=metrics_port)
    metrics.worker_started("worker")
    worker = faust.Worker(topology.app, loglevel=loglevel, quiet=True)
    # Faust's progress spinner sets the root logger to DEBUG so it can spin on every
    # record: every library's debug call then builds a record (~5% of a busy worker).
    worker.spinner = None
    worker.execute_from_commandline()
