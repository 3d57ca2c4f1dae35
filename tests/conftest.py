"""Shared fixtures: where the real services of the local stack are.

Tests marked ``kafka`` or ``postgres`` talk to the real broker and database that
``make stack-up`` starts; they fail (not skip) when those are down.
"""

from __future__ import annotations

import os
import uuid

import pytest

from ecm.settings import KafkaSettings


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return os.environ.get("ECM_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")


@pytest.fixture()
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Kafka settings with a topic prefix of its own, so tests never share topics."""
    return KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
        partitions=4,
    )


@pytest.fixture(scope="session")
def test_dsn() -> str:
    return os.environ.get(
        "ECM_TEST_DB__DSN", "postgresql://ecm:ecm@127.0.0.1:5433/ecm_test"
    )
