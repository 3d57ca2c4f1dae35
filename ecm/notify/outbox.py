"""The ``webhook_deliveries`` outbox in PostgreSQL (migration 0006_notifications).

``enqueue`` is idempotent (``ON CONFLICT DO NOTHING`` on alert, event and endpoint).
``claim`` must run inside a transaction: it locks due rows with ``FOR UPDATE SKIP
LOCKED`` so concurrent notifiers split the work, and the caller records each result
with ``record_delivered`` / ``record_failure`` before that transaction commits.
A resolution is not claimed while the alert's own notification to the same endpoint
is still pending, so receivers see ``raised`` before ``resolved``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import AsyncConnection

from ecm.notify.backoff import NextStep, RetryPolicy, Status
from ecm.notify.routing import PlannedDelivery

_INSERT = """
INSERT INTO webhook_deliveries
    (alert_id, event, endpoint, kind, provider_id, idempotency_key, body)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (alert_id, event, endpoint) DO NOTHING
"""

_CLAIM = """
SELECT d.id, d.alert_id, d.event, d.endpoint, d.idempotency_key, d.body, d.attempts, d.status
FROM webhook_deliveries d
WHERE d.next_attempt_at <= now()
  AND (d.status = 'pending'
       OR (d.status = 'failed' AND d.created_at > now() - make_interval(secs => %s)))
  AND NOT (d.event = 'resolved' AND EXISTS (
        SELECT 1 FROM webhook_deliveries r
        WHERE r.alert_id = d.alert_id AND r.endpoint = d.endpoint
          AND r.event = 'raised' AND r.status = 'pending'))
ORDER BY d.next_attempt_at, d.id
LIMIT %s
FOR UPDATE OF d SKIP LOCKED
"""

_DELIVERED = """
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, delivered_at = now(), updated_at = now(),
    last_status_code = %s, last_error = NULL
WHERE id = %s
"""

_FAILED = """
UPDATE webhook_deliveries
SET status = %s, attempts = attempts + 1, updated_at = now(),
    next_attempt_at = now() + make_interval(secs => %s),
    last_status_code = %s, last_error = %s,
    failed_at = CASE WHEN %s = 'failed' THEN coalesce(failed_at, now()) ELSE failed_at END
WHERE id = %s
"""


@dataclass(frozen=True)
class Claimed:
    """A due delivery, locked by the current transaction."""

    id: int
    alert_id: str
    event: str
    endpoint: str
    idempotency_key: str
    body: str
    attempts: int
    status: Status


async def enqueue(conn: AsyncConnection, deliveries: Sequence[PlannedDelivery]) -> int:
    """Insert deliveries not already in the outbox; return how many were new.

    The caller commits; nothing is sent until the commit is visible.
    """
    if not deliveries:
        return 0
    new = 0
    async with conn.cursor() as cur:
        for d in deliveries:
            await cur.execute(
                _INSERT,
                (d.alert_id, d.event.value, d.endpoint, d.kind, d.provider_id,
                 d.idempotency_key, d.body),
            )
            new += max(cur.rowcount, 0)
    return new


async def claim(conn: AsyncConnection, limit: int, policy: RetryPolicy) -> list[Claimed]:
    """Lock and return up to ``limit`` due deliveries (call inside a transaction)."""
    async with conn.cursor() as cur:
        await cur.execute(_CLAIM, (policy.failed_retry_for_seconds, limit))
        rows = await cur.fetchall()
    return [
        Claimed(r[0], r[1], r[2], r[3], r[4], r[5], r[6], Status(r[7])) for r in rows
    ]


async def record_delivered(conn: AsyncConnection, row_id: int, status_code: int) -> None:
    """Mark a claimed delivery delivered (final)."""
    await conn.execute(_DELIVERED, (status_code, row_id))


async def record_failure(
    conn: AsyncConnection, row_id: int, step: NextStep, status_code: int | None, error: str
) -> None:
    """Record a failed attempt: still pending with a backoff, or failed for the sweep."""
    await conn.execute(
        _FAILED,
        (step.status.value, step.delay_seconds, status_code, error[:1000],
         step.status.value, row_id),
    )
