"""The ``webhook_deliveries`` outbox in PostgreSQL (migrations 0006 and 0013).

``enqueue`` is idempotent (``ON CONFLICT DO NOTHING`` on alert, event and endpoint).
``claim`` must run inside a transaction: it locks due rows with ``FOR UPDATE SKIP
LOCKED`` so concurrent notifiers split the work, and the caller records each result
with ``record_delivered`` / ``record_failure`` before that transaction commits.
A notification is not claimed while an earlier one about the same alert to the same
endpoint is still pending, so receivers see ``raised`` before ``escalated``,
``acknowledged``, ``closed`` or ``resolved``. ``notify_alerts`` keeps what routing
remembers of each alert (``load_states`` / ``save_states``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from psycopg import AsyncConnection

from ecm.contracts import AlertTier
from ecm.notify.backoff import NextStep, RetryPolicy, Status
from ecm.notify.routing import AlertState, PlannedDelivery

_STATES = "SELECT alert_id, monitor_only, tier FROM notify_alerts WHERE alert_id = ANY(%s)"

_SAVE_STATE = """
INSERT INTO notify_alerts (alert_id, monitor_only, tier) VALUES (%s, %s, %s)
ON CONFLICT (alert_id) DO UPDATE
SET monitor_only = EXCLUDED.monitor_only, tier = EXCLUDED.tier, updated_at = now()
"""

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
  AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries r
        WHERE r.alert_id = d.alert_id AND r.endpoint = d.endpoint
          AND r.id < d.id AND r.status = 'pending')
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


async def load_states(conn: AsyncConnection, alert_ids: Collection[str]) -> dict[str, AlertState]:
    """Return what is remembered of the alerts that have a row (the others: nothing yet)."""
    if not alert_ids:
        return {}
    async with conn.cursor() as cur:
        await cur.execute(_STATES, (list(alert_ids),))
        rows = await cur.fetchall()
    return {r[0]: AlertState(monitor_only=r[1], tier=AlertTier(r[2])) for r in rows}


async def save_states(conn: AsyncConnection, states: Mapping[str, AlertState]) -> None:
    """Upsert the states of alerts (the caller commits them with the outbox rows)."""
    async with conn.cursor() as cur:
        for alert_id, state in states.items():
            await cur.execute(_SAVE_STATE, (alert_id, state.monitor_only, state.tier.value))
