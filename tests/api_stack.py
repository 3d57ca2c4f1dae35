"""Helpers for API integration tests: real settings, a consumer, a server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from kafka import KafkaConsumer
from support import free_port

from ecm.api.keys import Role
from ecm.api.keystore import PgKeyStore, issue_key
from ecm.kafka.connection import client_options
from ecm.settings import ApiSettings, DatabaseSettings, KafkaSettings, Settings


def settings_for(kafka: KafkaSettings, dsn: str, state_dir: Path, **api: Any) -> Settings:
    from pydantic import SecretStr

    return Settings(kafka=kafka, db=DatabaseSettings(dsn=SecretStr(dsn)),
                    api=ApiSettings(**{"auth_cache_seconds": 0, **api}), state_dir=state_dir)


def consume_all(kafka: KafkaSettings, topic: str, expect: int, timeout: float = 30) -> list[Any]:
    """Read a topic from the start until ``expect`` records (then 2 s more) or timeout."""
    consumer = KafkaConsumer(kafka.topic(topic), **client_options(kafka),
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=2000)
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = list(consumer)
            records += batch
            if len(records) >= expect and not batch:
                break
    finally:
        consumer.close()
    return records


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def issue(dsn: str, provider_id: str, role: Role = Role.PROVIDER) -> str:
    """Issue a key straight into the database; return the token."""
    from psycopg_pool import AsyncConnectionPool

    async def run() -> str:
        async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                       kwargs={"autocommit": True}) as pool:
            return (await issue_key(PgKeyStore(pool), provider_id, role)).token

    return asyncio.run(run())
