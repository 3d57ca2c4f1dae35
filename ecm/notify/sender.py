"""POST one signed notification to a webhook URL with aiohttp."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from ecm.notify.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign


@dataclass(frozen=True)
class SendResult:
    """The answer to one POST: ``ok`` only for a 2xx status."""

    ok: bool
    status_code: int | None
    error: str


def headers_for(secret: bytes, timestamp: int, body: bytes, key: str) -> dict[str, str]:
    """Return the request headers of a notification (signature and idempotency key)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "ecm-notify/1",
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        IDEMPOTENCY_HEADER: key,
    }


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> SendResult:
    """POST ``body`` to ``url``; never raises for network or HTTP errors.

    Redirects are not followed (a 3xx is a failure): a signed body goes only where
    it was configured to go.
    """
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
            await resp.read()
            if 200 <= resp.status < 300:
                return SendResult(True, resp.status, "")
            return SendResult(False, resp.status, f"HTTP {resp.status} {resp.reason or ''}".strip())
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:1000])
