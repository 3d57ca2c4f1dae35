"""The retry schedule: exponential backoff with jitter, bounded, then the failed sweep."""

from __future__ import annotations

import pytest

from ecm.notify.backoff import RetryPolicy, Status, after_failure, backoff_seconds

POLICY = RetryPolicy(
    max_attempts=5, base_seconds=2.0, cap_seconds=20.0, failed_retry_seconds=900.0
)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 1.0, 2.0),
        (2, 2.0, 4.0),
        (3, 4.0, 8.0),
        (4, 8.0, 16.0),
        (5, 10.0, 20.0),
        (60, 10.0, 20.0),
    ],
)
def test_backoff_doubles_per_attempt_up_to_the_cap_with_jitter_in_the_upper_half(
    attempt: int, low: float, high: float
) -> None:
    assert backoff_seconds(attempt, POLICY, 0.0) == low
    assert low <= backoff_seconds(attempt, POLICY, 0.5) < high
    assert backoff_seconds(attempt, POLICY, 0.999999) == pytest.approx(high, rel=1e-5)


def test_backoff_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        backoff_seconds(0, POLICY, 0.1)
    with pytest.raises(ValueError):
        backoff_seconds(1, POLICY, 1.0)


def test_a_delivery_stays_pending_until_max_attempts_then_is_failed_for_the_sweep() -> None:
    steps = [after_failure(n, POLICY, 0.0) for n in range(1, 8)]
    assert [s.status for s in steps[:4]] == [Status.PENDING] * 4
    assert [s.delay_seconds for s in steps[:4]] == [1.0, 2.0, 4.0, 8.0]
    assert all(s.status is Status.FAILED and s.delay_seconds == 900.0 for s in steps[4:])


def test_default_policy_keeps_retrying_quickly_for_about_a_quarter_of_an_hour() -> None:
    policy = RetryPolicy()
    worst = sum(backoff_seconds(n, policy, 0.999999) for n in range(1, policy.max_attempts))
    best = sum(backoff_seconds(n, policy, 0.0) for n in range(1, policy.max_attempts))
    assert 300 < best < worst < 1200
