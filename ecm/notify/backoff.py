"""When to try a webhook delivery again: exponential backoff with jitter, then a slow sweep.

Attempt ``n`` (1-based) that fails is retried after ``min(cap, base * 2**(n-1))``
seconds, scaled by a jitter factor in [0.5, 1.0) so that many notifiers do not retry
in step. After ``max_attempts`` failed attempts the delivery is recorded as *failed*
(and counted, which pages through the ``EcmWebhookDeliveryFailed`` rule), but it is not
abandoned: a failed delivery is tried again every ``failed_retry_seconds`` until it is
``failed_retry_for_seconds`` old, so a receiver that comes back still gets the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """The state of one outbox row."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry schedule (from ``NotifySettings``)."""

    max_attempts: int = 10
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    failed_retry_seconds: float = 900.0
    failed_retry_for_seconds: float = 86_400.0


@dataclass(frozen=True)
class NextStep:
    """What to record after a failed attempt: the new status and the delay to the next."""

    status: Status
    delay_seconds: float


def backoff_seconds(attempt: int, policy: RetryPolicy, jitter: float) -> float:
    """Delay after failed attempt number ``attempt`` (1-based), with ``jitter`` in [0, 1).

    The result lies in ``[d/2, d)`` for ``d = min(cap, base * 2**(attempt-1))``.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    exponent = min(attempt - 1, 62)
    ceiling = min(policy.cap_seconds, policy.base_seconds * 2.0**exponent)
    return ceiling * (0.5 + jitter / 2.0)


def after_failure(attempts: int, policy: RetryPolicy, jitter: float) -> NextStep:
    """Decide the row's status and next delay once ``attempts`` attempts have failed."""
    if attempts < policy.max_attempts:
        return NextStep(Status.PENDING, backoff_seconds(attempts, policy, jitter))
    return NextStep(Status.FAILED, policy.failed_retry_seconds)
