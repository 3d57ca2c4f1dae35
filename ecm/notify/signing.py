"""Signing webhook bodies: HMAC-SHA256 over the timestamp and the exact body bytes.

The header is ``X-ECM-Signature: t=<unix seconds>,v1=<hex digest>`` where the digest is
``HMAC_SHA256(secret, f"{t}." + body)``. A receiver recomputes it over the raw body it
received (before any JSON parsing), compares in constant time, and rejects a
timestamp further than the tolerance from its own clock (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-ECM-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_SECONDS = 300


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Return the ``X-ECM-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: bytes,
    header: str,
    body: bytes,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` is a valid signature of ``body``, made within the tolerance.

    Args:
        secret: the shared signing secret.
        header: the received ``X-ECM-Signature`` value.
        body: the raw request body, byte for byte.
        now: the receiver's clock, Unix seconds.
        tolerance_seconds: largest accepted distance between ``t`` and ``now``.

    Returns:
        True only if the header parses, ``t`` is fresh and one ``v1`` digest matches.

    """
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
