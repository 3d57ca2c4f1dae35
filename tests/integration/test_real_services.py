"""The real broker and database of the local stack carry and keep contract events."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from ecm.contracts import dump_event, parse_event
from ecm.contracts.examples import examples
from ecm.settings import KafkaSettings
from ecm.topics import VISIT_EVENTS, route

CHECK_IN = next(e for e in examples() if e.event_type == "carer_checked_in")


@pytest.mark.kafka
def test_an_event_produced_to_the_real_broker_is_consumed_unchanged(
    kafka_settings: KafkaSettings,
) -> None:
    topic = kafka_settings.topic(route(CHECK_IN).topic)
    admin = KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=kafka_settings.partitions, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=kafka_settings.bootstrap_servers, acks="all", enable_idempotence=True
    )
    metadata = producer.send(topic, key=route(CHECK_IN).key.encode(), value=dump_event(CHECK_IN)).get(30)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
    )
    records = []
    for record in consumer:
        records.append(record)
        break
    consumer.close()
    assert route(CHECK_IN).topic == VISIT_EVENTS
    assert len(records) == 1
    assert records[0].partition == metadata.partition
    assert records[0].key == b"V778"
    assert parse_event(records[0].value) == CHECK_IN


@pytest.mark.postgres
def test_an_event_written_to_the_real_database_reads_back_unchanged(test_dsn: str) -> None:
    table = f"contract_roundtrip_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(test_dsn) as conn:
        conn.execute(
            f"CREATE TEMP TABLE {table} (event_id text PRIMARY KEY, occurred_at timestamptz, payload jsonb)"
        )
        conn.execute(
            f"INSERT INTO {table} VALUES (%s, %s, %s)",
            (CHECK_IN.event_id, CHECK_IN.occurred_at, dump_event(CHECK_IN).decode()),
        )
        occurred_at, payload = conn.execute(
            f"SELECT occurred_at, payload FROM {table} WHERE event_id = %s", (CHECK_IN.event_id,)
        ).fetchone()
    assert occurred_at == CHECK_IN.occurred_at
    assert parse_event(json.dumps(payload)) == CHECK_IN
