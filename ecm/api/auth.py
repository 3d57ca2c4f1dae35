"""Who is calling: API-key authentication, roles and the per-key rate limit.

The key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Lookups are
cached for ``auth_cache_seconds`` (default 5 s), so a revocation takes effect within
that time. Keys are never logged: only their public ``key_id``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from ecm.api.errors import Forbidden, RateLimited, Unauthorized
from ecm.api.keys import KeyStore, Role, StoredKey, parse_token, secret_matches
from ecm.api.ratelimit import TokenBuckets

security_log = logging.getLogger("ecm.api.security")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    key_id: str
    provider_id: str
    role: Role

    def may_read(self, provider_id: str) -> bool:
        """Whether this caller may see data of ``provider_id``."""
        return self.role is not Role.PROVIDER or provider_id == self.provider_id


class Authenticator:
    """Turns a presented token into a Principal, with a short lookup cache."""

    def __init__(
        self,
        store: KeyStore,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, StoredKey | None]] = {}

    async def _lookup(self, key_id: str) -> StoredKey | None:
        now = self._clock()
        hit = self._cache.get(key_id)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        stored = await self._store.get(key_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now, stored)
        return stored

    async def authenticate(self, token: str | None) -> Principal:
        """Return the caller for ``token`` or raise Unauthorized."""
        parsed = parse_token(token) if token else None
        if parsed is None:
            raise Unauthorized()
        key_id, secret = parsed
        stored = await self._lookup(key_id)
        if stored is None or not secret_matches(stored, secret):
            security_log.warning("authentication failed", extra={"key_id": key_id})
            raise Unauthorized()
        if not stored.active_at(datetime.now(UTC)):
            security_log.warning("revoked key used", extra={"key_id": key_id})
            raise Unauthorized("this API key has been revoked")
        return Principal(stored.key_id, stored.provider_id, stored.role)


def presented_token(request: Request) -> str | None:
    """Return the key from ``Authorization: Bearer`` or ``X-API-Key``, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: authenticate, then apply the key's rate limit."""
    auth: Authenticator = request.app.state.authenticator
    buckets: TokenBuckets = request.app.state.rate_limiter
    principal = await auth.authenticate(presented_token(request))
    wait = buckets.take(principal.key_id)
    if wait:
        raise RateLimited(wait)
    request.state.principal = principal
    return principal


def refuse(principal: Principal, request: Request, reason: str, *, field: str | None = None,
           **detail: str) -> Forbidden:
    """Log a security event (who, what, where; never secrets) and return the 403 error.

    With ``field``, the error names the field at fault (``errors``: field and reason).
    """
    security_log.warning(
        "access refused: %s",
        reason,
        extra={"key_id": principal.key_id, "provider_id": principal.provider_id,
               "path": request.url.path, **({"field": field} if field else {}), **detail},
    )
    if field is None:
        return Forbidden(reason)
    return Forbidden(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


def require_role(principal: Principal, request: Request, *roles: Role) -> None:
    """Raise 403 (logged) unless the caller has one of ``roles``."""
    if principal.role not in roles:
        raise refuse(principal, request, f"role {principal.role.value} may not do this")
