from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ecm.client import ClientError, ContractError, EcmClient
from ecm.settings import KafkaSettings


class FakeFuture:
    def get(self, timeout: float) -> str:
        return "ack"


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, value: bytes, key: bytes) -> FakeFuture:
        self.sent.append((topic, key, value))
        return FakeFuture()

    def flush(self, timeout: float) -> None:
        pass

    def close(self, timeout: float) -> None:
        pass


@pytest.fixture()
def client() -> tuple[EcmClient, FakeProducer]:
    producer = FakeProducer()
    return EcmClient("P1", kafka=KafkaSettings(topic_prefix="t"), producer=producer), producer


def test_check_in_builds_a_valid_event_with_a_fresh_uuid4(client: Any) -> None:
    ecm, _ = client
    event = ecm.check_in(visit_id="V1", carer_id="K1", client_id="C1", method="nfc",
                         at=datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert uuid.UUID(event.event_id).version == 4 and event.provider_id == "P1"
    again = ecm.check_in(visit_id="V1", carer_id="K1", client_id="C1", method="nfc")
    assert again.event_id != event.event_id


def test_send_routes_to_the_visit_topic_keyed_by_visit(client: Any) -> None:
    ecm, producer = client
    ecm.send(ecm.check_out(visit_id="V1", carer_id="K1", client_id="C1", method="qr",
                           event_id="fixed"), wait=True)
    [(topic, key, value)] = producer.sent
    assert (topic, key) == ("t.visit-events", b"V1")
    assert json.loads(value)["event_id"] == "fixed"


def test_invalid_events_raise_contract_errors_naming_fields(client: Any) -> None:
    ecm, producer = client
    with pytest.raises(ContractError) as caught:
        ecm.check_in(visit_id="V1", carer_id="K1", client_id="C1", method="manual")
    assert caught.value.as_dicts()[0]["field"] == "reason_code"
    with pytest.raises(ContractError):
        ecm.send({"event_type": "carer_checked_in", "event_id": "x"})
    assert producer.sent == []


def test_events_for_another_provider_are_refused(client: Any) -> None:
    ecm, _ = client
    other = EcmClient("P2", producer=FakeProducer()).plan_visit(
        visit_id="V1", client_id="C1", service="home_care",
        planned_start=datetime(2026, 1, 5, 9, tzinfo=UTC),
        planned_end=datetime(2026, 1, 5, 10, tzinfo=UTC))
    with pytest.raises(ClientError, match="another provider"):
        ecm.send(other)
