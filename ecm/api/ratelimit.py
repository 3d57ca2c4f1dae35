"""Per-key token buckets, in memory, per process.

Each key gets ``burst`` tokens, refilled at ``per_minute / 60`` tokens a second; each
request takes one. With several API processes the effective limit is per process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets keyed by API key id."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> int:
        """Take ``cost`` tokens for ``key``.

        Returns:
            0 when allowed, else the whole seconds to wait before retrying.

        """
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(self._burst, now))
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0
            return max(1, math.ceil((cost - bucket.tokens) / self._rate))
