"""The PostgreSQL key store (table ``api_keys``) and the key-management operations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from ecm.api.keys import IssuedKey, KeyStore, Role, StoredKey, grace_end, new_key

_COLUMNS = "key_id, provider_id, role, secret_sha256, created_at, revoked_at, label"


def _row_to_key(row: tuple[Any, ...]) -> StoredKey:
    key_id, provider_id, role, digest, created_at, revoked_at, label = row
    return StoredKey(key_id, provider_id, Role(role), bytes(digest), created_at, revoked_at, label)


class PgKeyStore:
    """Keys in PostgreSQL through an async connection pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get(self, key_id: str) -> StoredKey | None:
        """Return the key with this id, revoked or not; None when unknown."""
        async with self._pool.connection() as conn:
            sql = f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = %s"
            cur = await conn.execute(sql, (key_id,))
            row = await cur.fetchone()
        return _row_to_key(row) if row else None

    async def add(self, key: StoredKey) -> None:
        """Insert a newly issued key."""
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO api_keys ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (key.key_id, key.provider_id, key.role.value, key.secret_sha256,
                 key.created_at, key.revoked_at, key.label),
            )

    async def list(self, provider_id: str | None = None) -> list[StoredKey]:
        """Every key (of one provider), newest first."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys"
                " WHERE %(p)s::text IS NULL OR provider_id = %(p)s ORDER BY created_at DESC",
                {"p": provider_id},
            )
            rows = await cur.fetchall()
        return [_row_to_key(r) for r in rows]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Set ``revoked_at`` to ``at`` unless it is already earlier."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE api_keys SET revoked_at = LEAST(COALESCE(revoked_at, %(at)s), %(at)s)"
                " WHERE key_id = %(k)s",
                {"at": at, "k": key_id},
            )
        return cur.rowcount == 1


async def issue_key(
    store: KeyStore, provider_id: str, role: Role, label: str | None = None
) -> IssuedKey:
    """Create and store a new key; the returned token is the only copy of the secret."""
    issued = new_key(provider_id, role, datetime.now(UTC), label)
    await store.add(issued.stored)
    return issued


async def rotate_key(store: KeyStore, key_id: str, grace_seconds: int = 0) -> IssuedKey | None:
    """Issue a key like ``key_id`` and revoke the old one after ``grace_seconds``.

    Returns:
        The new key, or None when ``key_id`` is unknown or already revoked.

    """
    now = datetime.now(UTC)
    old = await store.get(key_id)
    if old is None or not old.active_at(now):
        return None
    issued = await issue_key(store, old.provider_id, old.role, old.label)
    await store.revoke(key_id, grace_end(now, grace_seconds))
    return issued
