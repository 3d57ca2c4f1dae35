"""A real webhook receiver on loopback, a private outbox schema, and alert factories."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from aiohttp import web
from psycopg.conninfo import make_conninfo

from ecm.contracts import AlertKind, AlertRaised, AlertResolved
from ecm.notify.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

MIGRATIONS = Path(__file__).resolve().parents[3] / "ecm/storage/migrations"
NOTIFY_MIGRATIONS = ("0006_notifications.sql", "0013_notify_alert_state.sql")


def create_outbox_schema(dsn: str) -> tuple[str, str]:
    """Create a private schema holding the outbox; return (schema, DSN using it)."""
    schema = f"notify_t_{uuid.uuid4().hex[:10]}"
    scoped = make_conninfo(dsn, options=f"-c search_path={schema}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    with psycopg.connect(scoped) as conn:
        for name in NOTIFY_MIGRATIONS:
            conn.execute((MIGRATIONS / name).read_text())  # type: ignore[arg-type]
    return schema, scoped


def drop_schema(dsn: str, schema: str) -> None:
    """Drop a schema made by ``create_outbox_schema``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def outbox_rows(dsn: str) -> list[tuple[str, str, str, str, int, str | None]]:
    """Return (alert_id, event, endpoint, status, attempts, last_error) of every row."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT alert_id, event, endpoint, status, attempts, last_error"
            " FROM webhook_deliveries ORDER BY id"
        ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


@dataclass
class Received:
    """One request the receiver accepted."""

    path: str
    key: str
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """A webhook receiver; ``fail_first`` answers 500 to the first N tries of each key."""

    secret: bytes
    fail_first: int = 0
    accepted: list[Received] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        tried = self.tries[f"{request.path} {key}"] = self.tries.get(f"{request.path} {key}", 0) + 1
        if tried <= self.fail_first:
            return web.Response(status=500, text="try again")
        ok = verify(self.secret, request.headers.get(SIGNATURE_HEADER, ""), body, int(time.time()))
        self.accepted.append(Received(request.path, key, body, ok))
        return web.Response(status=204)

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (the given port, or a free one)."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = port or site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        """Return the URL of ``path`` on this receiver."""
        return f"http://127.0.0.1:{self.port}/{path}"

    def keys(self) -> list[tuple[str, str]]:
        """(path, idempotency key) of every accepted request, in arrival order."""
        return [(r.path, r.key) for r in self.accepted]


def raised(n: int, kind: AlertKind, provider: str = "P1") -> AlertRaised:
    """Return an alert raised now for visit ``V<n>``."""
    now = datetime.now(UTC).replace(microsecond=0)
    return AlertRaised(
        event_id=f"AR-{n}-{kind.value}",
        occurred_at=now,
        alert_id=f"V{n}:{kind.value}",
        kind=kind,
        visit_id=f"V{n}",
        provider_id=provider,
        client_id=f"C{n}",
        lot_id="L1",
        due_at=now,
    )


def resolved(n: int, kind: AlertKind, provider: str = "P1") -> AlertResolved:
    """Return the resolution of ``raised(n, kind)``."""
    return AlertResolved(
        event_id=f"AZ-{n}-{kind.value}",
        occurred_at=datetime.now(UTC).replace(microsecond=0),
        alert_id=f"V{n}:{kind.value}",
        kind=kind,
        visit_id=f"V{n}",
        provider_id=provider,
        resolution="checked_in_late",
    )


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str
) -> None:
    """Poll ``check`` until true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
