"""The delivery loop: claim due outbox rows, POST them, record the result, commit.

Claim, send and record happen in one transaction per batch, so a row marked delivered
is never claimed again, and a row whose send did not complete stays claimable. If the
loop is cancelled (shutdown) while a batch is in flight, the batch is allowed to finish
and commit first. Only a hard crash between a receiver's 2xx and our commit can cause a
resend; the ``Idempotency-Key`` header lets receivers drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import psycopg
from psycopg import AsyncConnection

from ecm import metrics
from ecm.notify.backoff import Status, after_failure
from ecm.notify.config import NotifierConfig
from ecm.notify.outbox import Claimed, claim, record_delivered, record_failure
from ecm.notify.routing import target_of
from ecm.notify.sender import SendResult, headers_for, post

log = logging.getLogger("ecm.notify")
T = TypeVar("T")


async def _send(
    session: aiohttp.ClientSession, config: NotifierConfig, row: Claimed, now: int
) -> tuple[SendResult, float]:
    url = config.endpoints.url_for(row.endpoint)
    if url is None:
        return SendResult(False, None, f"no URL configured for {row.endpoint}"), 0.0
    body = row.body.encode()
    started = time.perf_counter()
    headers = headers_for(config.secret, now, body, row.idempotency_key)
    result = await post(session, url, body, headers)
    return result, time.perf_counter() - started


async def deliver_batch(
    conn: AsyncConnection,
    session: aiohttp.ClientSession,
    config: NotifierConfig,
    clock: Callable[[], float] = time.time,
    jitter: Callable[[], float] = random.random,
) -> int:
    """Deliver one batch of due rows; return how many rows were attempted."""
    async with conn.transaction():
        rows = await claim(conn, config.batch_size, config.policy)
        if not rows:
            return 0
        now = int(clock())
        results = await asyncio.gather(*(_send(session, config, row, now) for row in rows))
        for row, (result, seconds) in zip(rows, results, strict=True):
            await _record(conn, config, row, result, seconds, jitter())
    return len(rows)


async def _record(
    conn: AsyncConnection,
    config: NotifierConfig,
    row: Claimed,
    result: SendResult,
    seconds: float,
    jitter: float,
) -> None:
    target = target_of(row.endpoint)
    if result.ok:
        await record_delivered(conn, row.id, result.status_code or 200)
        metrics.webhook_attempted(target, metrics.DeliveryOutcome.DELIVERED, seconds)
        return
    step = after_failure(row.attempts + 1, config.policy, jitter)
    await record_failure(conn, row.id, step, result.status_code, result.error)
    failed = step.status is Status.FAILED
    outcome = metrics.DeliveryOutcome.FAILED if failed else metrics.DeliveryOutcome.RETRY
    metrics.webhook_attempted(target, outcome, seconds)
    log.warning(
        "webhook %s for %s (%s) attempt %d: %s; %s",
        row.endpoint, row.alert_id, row.event, row.attempts + 1, result.error,
        "recorded as failed" if failed else f"retry in {step.delay_seconds:.1f}s",
    )


async def finish_on_cancel(work: Awaitable[T], grace_seconds: float) -> T:
    """Await ``work``; if cancelled meanwhile, let it finish (up to the grace) first."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, grace_seconds)
        raise


async def delivery_loop(config: NotifierConfig) -> None:
    """Deliver due rows until cancelled; reconnects to PostgreSQL after errors."""
    timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
    grace = config.timeout_seconds + 5.0
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            try:
                async with await AsyncConnection.connect(config.dsn) as conn:
                    while True:
                        done = await finish_on_cancel(
                            deliver_batch(conn, session, config), grace
                        )
                        if done == 0:
                            await asyncio.sleep(config.poll_seconds)
            except psycopg.Error as exc:
                log.error("delivery loop: database error, reconnecting: %s", exc)
                await asyncio.sleep(min(30.0, config.poll_seconds * 5))
