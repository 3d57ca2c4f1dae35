"""The Faust app, its topics and tables, declared once from settings.

Topic names and partition counts come from ``ecm.topics`` and ``Settings.kafka``.
Values are raw bytes: agents decode them with the contract, so an invalid message can
go to the dead-letter topic with its original bytes instead of crashing a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from ecm import contracts as c
from ecm import topics
from ecm.kafka.connection import PARTITION_BATCH_BYTES, BrokerSecurity, broker_security
from ecm.settings import Settings
from streams.commit import CoalescedTable, CommitPoint, HeldRecords
from streams.delivery import check_deliveries
from streams.positions import read_uncommitted_from_start


@dataclass
class Topology:
    """The app and everything declared on it."""

    app: faust.App
    settings: Settings
    clock: str  # "live" or "replay"
    visit_inputs: Any  # visit-events + deadline-commands: co-partitioned, one stream
    carer_calls: Any
    visits: CoalescedTable  # visit id -> ledger state
    carers: CoalescedTable  # carer id -> carer timeline
    rotas: CoalescedTable  # carer/visit -> the visit's schedule events (rota realism)
    gates: CoalescedTable  # side/partition -> what it heard (the rota gate, replay clock)
    held: HeldRecords  # each visit's latest outcome and gap judgement, until the commit point

    def topic_name(self, logical: str) -> str:
        """The broker's name of a logical topic."""
        return self.settings.kafka.topic(logical)


def build_topology(settings: Settings, worker_id: str, clock: str) -> Topology:
    """Create the Faust app and declare its topics and tables."""
    kafka = settings.kafka
    security = broker_security(kafka)
    app = faust.App(
        topics.worker_group(kafka),
        broker=[f"kafka://{server}" for server in security.servers],
        broker_credentials=_credentials(security),
        store="memory://",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        processing_guarantee="at_least_once",
        # Each commit sends every changed table key and held outcome once: 3 s (not 1)
        # coalesces more of them (benchmarks/RESULTS.md, "Faust settings side by side").
        broker_commit_interval=3.0,
        # A worker killed without leaving the group holds its partitions until its
        # session expires; 20 s (not Faust's 60) bounds how long they go unwatched.
        broker_session_timeout=20.0,
        broker_heartbeat_interval=3.0,
        # Static membership (KIP-345): a worker restarted under the same id takes its
        # partitions back at once instead of waiting for its old session to expire.
        consumer_group_instance_id=f"{topics.worker_group(kafka)}-{worker_id}",
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
        web_enabled=False,
        producer_acks=-1,
        # Batch what the agents send (outputs, changelogs, re-keyed calls): without a
        # linger every record is its own produce request, and the worker crawls.
        producer_linger_ms=20,
        producer_max_batch_size=PARTITION_BATCH_BYTES,
        key_serializer="raw",
        value_serializer="raw",
        datadir=str(settings.state_dir / "faust" / worker_id),
        loghandlers=[],
    )

    check_deliveries(app)
    read_uncommitted_from_start(app)

    def topic(*names: str) -> Any:
        return app.topic(*(kafka.topic(n) for n in names), partitions=kafka.partitions)

    visits, carers, rotas, gates = (_table(app, name, kafka.partitions)
                                    for name in topics.WORKER_TABLES)
    held = HeldRecords(app, c.dump_event)
    commit_point = CommitPoint([visits, carers, rotas, gates], [held])
    app.sensors.add(commit_point)

    async def on_revoked(app: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        if commit_point.at_rebalance():  # what a skipped commit left kept: out before
            await app.producer.flush()  # the next owner recovers the changelog

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]  # stub too narrow
    return Topology(
        app=app,
        settings=settings,
        clock=clock,
        visit_inputs=topic(topics.VISIT_EVENTS, topics.DEADLINE_COMMANDS),
        carer_calls=topic(topics.CARER_CALLS),
        visits=visits,
        carers=carers,
        rotas=rotas,
        gates=gates,
        held=held,
    )


def _credentials(security: BrokerSecurity) -> faust.types.auth.CredentialsT | None:
    """The worker's broker credentials, from the one options builder's reading of settings."""
    if security.sasl:
        return faust.SASLCredentials(
            username=security.sasl_username, password=security.sasl_password,
            mechanism=security.sasl_mechanism, ssl_context=security.ssl_context())
    if security.tls:
        return faust.SSLCredentials(security.ssl_context())
    return None


def _table(app: faust.App, name: str, partitions: int) -> CoalescedTable:
    """A table of raw bytes whose changelog is written at the commit point (streams/commit.py).

    Its changelog must read back exactly what was written: Faust picks the "raw" codec
    for ``bytes``; without the types it would decode the changelog as JSON on recovery
    and lose every visit.
    """
    table = CoalescedTable(app, name=name, beacon=app.tables.beacon, partitions=partitions,
                           key_type=bytes, value_type=bytes)
    app.tables.add(table)
    return table
