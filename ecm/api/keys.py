"""API keys: format, hashing, and the store that keeps them (hashed) in PostgreSQL.

A key reads ``ecm_<key_id>_<secret>``: ``key_id`` is 12 public hex characters (shown
in listings and logs), ``secret`` is 32 random bytes, urlsafe base64. Only the
SHA-256 of the secret is stored (table ``api_keys``, migration 0002); the key is
shown once, when issued. A key is active until its ``revoked_at``; rotation issues a
new key and sets the old one's ``revoked_at`` to now plus an optional grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

_PREFIX = "ecm"


class Role(StrEnum):
    """What a key may do."""

    PROVIDER = "provider"
    """Submit and read its own provider's data only."""
    CONTRACT_MANAGER = "contract_manager"
    """Read every provider's data; decide exceptions and corrections, escalate alerts."""
    DUTY_OFFICER = "duty_officer"
    """Read every provider's data; acknowledge, escalate and close alerts, set monitoring."""
    ADMIN = "admin"
    """Submit reference data (and any event); manage keys."""


@dataclass(frozen=True)
class StoredKey:
    """A key as stored: everything but the secret, which is only hashed."""

    key_id: str
    provider_id: str
    role: Role
    secret_sha256: bytes
    created_at: datetime
    revoked_at: datetime | None = None
    label: str | None = None

    def active_at(self, now: datetime) -> bool:
        """Whether the key authenticates at ``now`` (not revoked, or still in grace)."""
        return self.revoked_at is None or now < self.revoked_at


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key: the full token, to be shown once, and its stored form."""

    token: str
    stored: StoredKey


def hash_secret(secret: str) -> bytes:
    """SHA-256 of the secret (256 random bits, so a slow hash adds nothing)."""
    return hashlib.sha256(secret.encode()).digest()


def new_key(provider_id: str, role: Role, now: datetime, label: str | None = None) -> IssuedKey:
    """Generate a fresh key for a provider and role."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    stored = StoredKey(key_id, provider_id, role, hash_secret(secret), now, None, label)
    return IssuedKey(f"{_PREFIX}_{key_id}_{secret}", stored)


def parse_token(token: str) -> tuple[str, str] | None:
    """Split ``ecm_<key_id>_<secret>`` into key id and secret; None when malformed."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != _PREFIX or len(key_id) != 12 or not secret or len(token) > 200:
        return None
    if any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id, secret


def secret_matches(stored: StoredKey, secret: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(stored.secret_sha256, hash_secret(secret))


def grace_end(now: datetime, grace_seconds: int) -> datetime:
    """When an old key stops working after a rotation with this grace period."""
    return now + timedelta(seconds=max(0, grace_seconds))


class KeyStore(Protocol):
    """Where keys are kept."""

    async def get(self, key_id: str) -> StoredKey | None:
        """Return the key with this id, revoked or not; None when unknown."""

    async def add(self, key: StoredKey) -> None:
        """Store a newly issued key."""

    async def list(self, provider_id: str | None = None) -> list[StoredKey]:
        """Every key (of one provider), newest first."""

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Set ``revoked_at`` (unless already earlier); False when the key is unknown."""
