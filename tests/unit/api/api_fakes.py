"""Fakes for the API's ports (publisher, key store, read model) and a ready app.

Pure unit tests only: integration tests use the real broker and database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ecm.api import create_app
from ecm.api.keys import Role, StoredKey, new_key
from ecm.api.ownership import Ownership, OwnershipDirectory, OwnershipUnavailable, learn_record
from ecm.api.readmodel import ReadModelUnavailable, VisitQuery
from ecm.api.workflowreads import ExceptionQuery
from ecm.contracts import ContractEvent
from ecm.domain.workflow import CodeList
from ecm.producer import Record, to_record
from ecm.settings import ApiSettings, KafkaSettings, Settings


class FakePublisher:
    """Records what would have been published; can be told to fail."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.records: list[Record] = []
        self.fail: Exception | None = None
        self.is_ready = True

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, events: Sequence[ContractEvent]) -> None:
        if self.fail is not None:
            raise self.fail
        self.records.extend(to_record(e, self.kafka) for e in events)

    async def ready(self) -> bool:
        return self.is_ready


class FakeOwnershipFeed:
    """The topics as the fake publisher wrote them (plus records others put there).

    Catching up reads every record not yet read, as the Kafka feed reads to the end.
    """

    def __init__(self, publisher: FakePublisher) -> None:
        self.publisher = publisher
        self.others: list[Record] = []  # written by another process or ``ecm publish``
        self.read = 0
        self.rounds = 0
        self.down = False
        self.directory = OwnershipDirectory()

    async def start(self, directory: OwnershipDirectory) -> None:
        self.directory = directory

    async def stop(self) -> None:
        pass

    async def caught_up(self) -> None:
        if self.down:
            raise OwnershipUnavailable("the topics could not be read in time")
        self.rounds += 1
        self.tail()

    def tail(self) -> None:
        """Read what is there, as the real feed does in the background."""
        topic = [*self.publisher.records, *self.others]
        for record in topic[self.read:]:
            kind = record.topic.split(".", 1)[1]
            learn_record(self.directory, kind, record.key, record.value)
        self.read = len(topic)

    def ready(self) -> bool:
        return not self.down


class MemoryKeyStore:
    def __init__(self) -> None:
        self.keys: dict[str, StoredKey] = {}

    async def get(self, key_id: str) -> StoredKey | None:
        return self.keys.get(key_id)

    async def add(self, key: StoredKey) -> None:
        self.keys[key.key_id] = key

    async def list(self, provider_id: str | None = None) -> list[StoredKey]:
        return [k for k in self.keys.values() if provider_id in (None, k.provider_id)]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        key = self.keys.get(key_id)
        if key is None:
            return False
        self.keys[key_id] = StoredKey(key.key_id, key.provider_id, key.role, key.secret_sha256,
                                      key.created_at, at, key.label)
        return True

    def issue(self, provider_id: str, role: Role = Role.PROVIDER) -> str:
        issued = new_key(provider_id, role, datetime.now(UTC))
        self.keys[issued.stored.key_id] = issued.stored
        return issued.token


@dataclass
class FakeReadModel:
    visits_rows: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    carers: dict[str, set[str]] = field(default_factory=dict)
    down: bool = False
    owner_queries: int = 0

    def _check(self) -> None:
        if self.down:
            raise ReadModelUnavailable("database unreachable")

    async def visits(self, q: VisitQuery) -> list[dict[str, Any]]:
        self._check()
        return [r for r in self.visits_rows if q.provider_id in (None, r["provider_id"])
                and q.status in (None, r["status"])][q.offset:q.offset + q.limit]

    async def visit(self, visit_id: str) -> dict[str, Any] | None:
        self._check()
        return next((r for r in self.visits_rows if r["visit_id"] == visit_id), None)

    async def open_alerts(self, provider_id: str | None, limit: int, offset: int) -> list[Any]:
        self._check()
        return [a for a in self.alerts if provider_id in (None, a["provider_id"])]

    async def open_exceptions(self, provider_id: str | None, limit: int, offset: int) -> list[Any]:
        self._check()
        return [e for e in self.exceptions if provider_id in (None, e["provider_id"])]

    async def visit_owners(self, visit_ids: Sequence[str]) -> dict[str, str]:
        """The owner store's port: owners of visits with a stored outcome."""
        self.owner_queries += 1
        if self.down:
            raise OwnershipUnavailable("the database is unreachable")
        owners = {r["visit_id"]: r["provider_id"] for r in self.visits_rows}
        return {v: owners[v] for v in visit_ids if v in owners}

    async def carer_employers(self) -> dict[str, set[str]]:
        """The owner store's port: every registered carer (read at start-up)."""
        return {c: set(p) for c, p in self.carers.items()}

    async def ping(self) -> bool:
        return not self.down


@dataclass
class FakeWorkflowReads:
    """The workflow tables as dicts (rows as the PostgreSQL port returns them)."""

    exception_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    acts: list[dict[str, Any]] = field(default_factory=list)
    alert_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    corrections: dict[str, dict[str, Any]] = field(default_factory=dict)
    code_list: CodeList | None = None
    payment_rows: list[dict[str, Any]] = field(default_factory=list)
    stories: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def exceptions(self, q: ExceptionQuery) -> list[dict[str, Any]]:
        rows = [r for r in self.exception_rows.values()
                if q.provider_id in (None, r["provider_id"]) and r["status"] in q.statuses
                and q.kind in (None, r["kind"]) and q.reason_code in (None, r.get("reason_code"))
                and (q.ids is None or r["exception_id"] in q.ids)]
        return rows[q.offset:q.offset + q.limit]

    async def exception(self, exception_id: str) -> dict[str, Any] | None:
        return self.exception_rows.get(exception_id)

    async def exception_history(self, exception_id: str) -> list[dict[str, Any]]:
        return [a for a in self.acts if a.get("exception_id") == exception_id]

    async def alert(self, alert_id: str) -> dict[str, Any] | None:
        return self.alert_rows.get(alert_id)

    async def alert_timeline(self, alert_id: str) -> list[dict[str, Any]]:
        return [t for t in self.timeline if t.get("alert_id") == alert_id]

    async def held_corrections(
        self, provider_id: str | None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return [c for c in self.corrections.values()
                if c["held"] and provider_id in (None, c["provider_id"])]

    async def correction(self, event_id: str) -> dict[str, Any] | None:
        return self.corrections.get(event_id)

    async def codes(self, day: Any) -> CodeList | None:
        return self.code_list

    async def visit_story(self, visit_id: str) -> dict[str, Any] | None:
        return self.stories.get(visit_id)

    async def payments(self, provider_id: str | None, date_from: Any, date_to: Any
                       ) -> list[dict[str, Any]]:
        return [r for r in self.payment_rows if provider_id in (None, r["provider_id"])]


@dataclass
class Api:
    client: TestClient
    publisher: FakePublisher
    keys: MemoryKeyStore
    reads: FakeReadModel
    settings: Settings
    workflow: FakeWorkflowReads = field(default_factory=FakeWorkflowReads)
    feed: FakeOwnershipFeed | None = None

    def headers(self, provider_id: str = "P1", role: Role = Role.PROVIDER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.issue(provider_id, role)}"}


def make_api(tmp_path: Path, **api: Any) -> Api:
    settings = Settings(
        kafka=KafkaSettings(topic_prefix="unit"),
        api=ApiSettings(**{"auth_cache_seconds": 0, **api}),
        state_dir=tmp_path,
    )
    publisher, keys, reads = FakePublisher(settings.kafka), MemoryKeyStore(), FakeReadModel()
    workflow, feed = FakeWorkflowReads(), FakeOwnershipFeed(publisher)
    app = create_app(settings, publisher=publisher, keystore=keys, reads=reads,  # type: ignore[arg-type]
                     workflow=workflow,  # type: ignore[arg-type]
                     ownership=Ownership(reads, feed))
    client = TestClient(app, raise_server_exceptions=False)
    return Api(client, publisher, keys, reads, settings, workflow, feed)


def check_in(**overrides: Any) -> dict[str, Any]:
    event = {
        "event_type": "carer_checked_in",
        "event_id": "e-1",
        "occurred_at": "2026-01-05T09:02:00+00:00",
        "provider_id": "P1",
        "visit_id": "V1",
        "client_id": "C1",
        "carer_id": "K1",
        "method": "app_gps",
        "location": {"lat": 51.123456, "lon": 1.654321},
    }
    event.update(overrides)
    return event


def run(coro: Any) -> Any:
    return asyncio.run(coro)
