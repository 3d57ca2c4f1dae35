"""The Faust app, its topics and tables, declared once from settings.

Topic names and partition counts come from ``ecm.topics`` and ``Settings.kafka``.
Values are raw bytes: agents decode them with the contract, so an invalid message can
go to the dead-letter topic with its original bytes instead of crashing a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from ecm import topics
from ecm.kafka.connection import BrokerSecurity, broker_security
from ecm.settings import Settings
from streams.delivery import check_deliveries


@dataclass
class Topology:
    """The app and everything declared on it."""

    app: faust.App
    settings: Settings
    clock: str  # "live" or "replay"
    visit_inputs: Any  # visit-events + deadline-commands: co-partitioned, one stream
    carer_calls: Any
    visits: Any  # table: visit id -> ledger state
    carers: Any  # table: carer id -> carer timeline

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
        broker_commit_interval=1.0,
        # A worker killed without leaving the group holds its partitions until its
        # session expires; 20 s (not Faust's 60) bounds how long they go unwatched.
        broker_session_timeout=20.0,
        broker_heartbeat_interval=3.0,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
        web_enabled=False,
        producer_acks=-1,
        # Batch what the agents send (outputs, changelogs, re-keyed calls): without a
        # linger every record is its own produce request, and the worker crawls.
        producer_linger_ms=20,
        producer_max_batch_size=512 * 1024,
        key_serializer="raw",
        value_serializer="raw",
        datadir=str(settings.state_dir / "faust" / worker_id),
        loghandlers=[],
    )

    check_deliveries(app)

    def topic(*names: str) -> Any:
        return app.topic(*(kafka.topic(n) for n in names), partitions=kafka.partitions)

    return Topology(
        app=app,
        settings=settings,
        clock=clock,
        visit_inputs=topic(topics.VISIT_EVENTS, topics.DEADLINE_COMMANDS),
        carer_calls=topic(topics.CARER_CALLS),
        visits=_table(app, "visits", kafka.partitions),
        carers=_table(app, "carers", kafka.partitions),
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


def _table(app: faust.App, name: str, partitions: int) -> Any:
    """A table of raw bytes: its changelog must read back exactly what was written.

    (Faust picks the "raw" codec for ``bytes``; without the types it would decode the
    changelog as JSON on recovery and lose every visit.)
    """
    return app.Table(name, partitions=partitions, key_type=bytes, value_type=bytes)
