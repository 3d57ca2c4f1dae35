"""Create the service's topics with the partition counts from settings.

Topics are declared once, in ``ecm.topics``; this is the only code that creates them.
The visit-events and deadline-commands topics must have the same number of partitions
(everything about one visit lands in the same partition number of both).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ecm.kafka.connection import BrokerUnavailable, client_options, watching_refusals
from ecm.settings import KafkaSettings
from ecm.topics import (
    ALL_TOPICS,
    DEAD_LETTER,
    REFERENCE,
    VISIT_EVENTS,
    WORKER_TABLES,
    changelog_topic,
    pipeline_groups,
)

# Reference data keeps its whole history: versions with different effective dates share
# a key, and every worker rebuilds its reference book from the start of the topic.
_CONFIGS = {REFERENCE: {"cleanup.policy": "delete", "retention.ms": "-1"}}


def topic_configs(kafka: KafkaSettings, name: str) -> dict[str, str]:
    """The configs a topic is created with: raw input and dead letters expire.

    The visit-events topic is where a raw call, coordinates and all, lives
    (docs/data-protection.md); the dead-letter topic keeps rejected input's original
    bytes; both keep them ``input_retention_days``, no longer.
    """
    if name in (VISIT_EVENTS, DEAD_LETTER):
        return {"retention.ms": str(kafka.input_retention_days * 86_400_000)}
    return _CONFIGS.get(name, {})


def ensure_topics(kafka: KafkaSettings, timeout_s: float = 30.0) -> list[str]:
    """Create any missing topic of the service; return the names created.

    Existing topics are left as they are (their partition count is checked).

    Raises:
        RuntimeError: an existing topic has fewer partitions than configured.
        BrokerUnavailable: the broker did not answer or refused the credentials (the
            message says which, and which setting to check).

    """
    admin = connect_admin(kafka, timeout_s)
    try:
        existing = set(admin.list_topics())
        wanted = {kafka.topic(name): topic_configs(kafka, name) for name in ALL_TOPICS}
        # The workers' table changelogs too, as Faust would declare them: a worker that
        # starts on a fresh cluster before Faust's own creation has reached its consumer's
        # metadata cannot write to a table it has no partitions of (every write raised,
        # and each watermark tick was set aside, for the first 30 s of `make demo`).
        wanted |= {changelog_topic(kafka, table): {"cleanup.policy": "compact"}
                   for table in WORKER_TABLES}
        missing = [
            NewTopic(
                name=full,
                num_partitions=kafka.partitions,
                replication_factor=kafka.replication_factor,
                topic_configs=configs,
            )
            for full, configs in wanted.items()
            if full not in existing
        ]
        if missing:
            # Another worker may create them at the same time: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, timeout_ms=int(timeout_s * 1000))
        _check_partitions(admin, kafka, [f for f in wanted if f in existing])
        return [t.name for t in missing]
    finally:
        admin.close()


def connect_admin(kafka: KafkaSettings, timeout_s: float = 30.0) -> KafkaAdminClient:
    """An admin client connected to the broker, or ``BrokerUnavailable`` saying why not."""
    with watching_refusals() as watch:
        try:
            return KafkaAdminClient(**client_options(kafka),
                                    request_timeout_ms=int(timeout_s * 1000))
        except KafkaError as exc:
            raise BrokerUnavailable(watch.explain(kafka)) from exc


def _check_partitions(admin: KafkaAdminClient, kafka: KafkaSettings, names: list[str]) -> None:
    if not names:
        return
    for topic in admin.describe_topics(names):
        count = len(topic.get("partitions", []))
        if count < kafka.partitions:
            raise RuntimeError(
                f"topic {topic['topic']} has {count} partitions, settings say {kafka.partitions}"
            )


def group_lag(kafka: KafkaSettings, group: str, logical_topics: Iterable[str]) -> int:
    """Return how many messages ``group`` has not committed yet over ``logical_topics``.

    Every partition of each topic counts (a partition the group never committed counts
    from offset 0). Topic names are logical (``visit-events``); the prefix comes from
    ``kafka``. A snapshot: the answer can be stale by the time it is returned.
    """
    return sum(partition_lags(kafka, group, logical_topics).values())


def partition_lags(
    kafka: KafkaSettings, group: str, logical_topics: Iterable[str]
) -> dict[TopicPartition, int]:
    """``group_lag`` by partition: what ``group`` has not committed yet on each one."""
    admin = KafkaAdminClient(**client_options(kafka))
    try:
        committed = _committed(admin, group)
    finally:
        admin.close()
    consumer = KafkaConsumer(**client_options(kafka))
    try:
        partitions = [
            TopicPartition(kafka.topic(name), p)
            for name in logical_topics
            for p in sorted(consumer.partitions_for_topic(kafka.topic(name)) or ())
        ]
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    return {
        tp: end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
        for tp, end in ends.items()
    }


def _committed(admin: KafkaAdminClient, group: str, timeout_s: float = 30.0
               ) -> dict[TopicPartition, Any]:
    """The group's committed offsets, waiting out a coordinator not ready yet.

    On a new broker the first question about any group finds the offsets topic still
    being created (``CoordinatorNotAvailable``, a retriable error): ask again shortly.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found: dict[TopicPartition, Any] = admin.list_group_offsets(group).get(group, {})
            return found
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def pipeline_lag(kafka: KafkaSettings) -> int:
    """Return what the stream workers (agents and database sink) have not committed yet."""
    return total_lag(pipeline_lags(kafka))


def total_lag(lags: Mapping[str, Mapping[TopicPartition, int]]) -> int:
    """The sum of ``pipeline_lags``: what no group has committed yet, all partitions."""
    return sum(sum(by.values()) for by in lags.values())


def pipeline_lags(kafka: KafkaSettings) -> dict[str, dict[TopicPartition, int]]:
    """``pipeline_lag`` by consumer group and partition, only the partitions behind."""
    lags = {group: partition_lags(kafka, group, logical_topics)
            for group, logical_topics in pipeline_groups(kafka).items()}
    return {group: {tp: n for tp, n in by.items() if n} for group, by in lags.items()}
