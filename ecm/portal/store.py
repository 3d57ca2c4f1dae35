"""Accounts and sessions in PostgreSQL (tables ``portal_users`` and ``portal_sessions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from ecm.api.keys import Role
from ecm.portal.accounts import Session, User, after_failure

_USER = ("user_id, display_name, role, provider_id, password_hash, failed_attempts,"
         " locked_until")
_SESSION = "session_hash, user_id, csrf_token, created_at, last_seen_at"


def _user(row: tuple[Any, ...]) -> User:
    user_id, name, role, provider_id, password_hash, failures, locked_until = row
    return User(user_id, name, Role(role), provider_id, password_hash, failures, locked_until)


def _session(row: tuple[Any, ...]) -> Session:
    digest, user_id, csrf, created_at, last_seen_at = row
    return Session(bytes(digest), user_id, csrf, created_at, last_seen_at)


class PgAccountStore:
    """``AccountStore`` over an async connection pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def user(self, user_id: str) -> User | None:
        """The account, if there is one."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_USER} FROM portal_users WHERE user_id = %s", (user_id,))
            row = await cur.fetchone()
        return _user(row) if row else None

    async def add_user(self, user: User) -> None:
        """Create an account (``ecm users add``); an existing user id is an error."""
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO portal_users ({_USER}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (user.user_id, user.display_name, user.role.value, user.provider_id,
                 user.password_hash, user.failed_attempts, user.locked_until))

    async def replace_user(self, user: User) -> None:
        """Create the account, or reset an existing one's name, role, password and lock."""
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO portal_users ({_USER}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name,"
                " role = EXCLUDED.role, provider_id = EXCLUDED.provider_id,"
                " password_hash = EXCLUDED.password_hash, failed_attempts = 0,"
                " locked_until = NULL",
                (user.user_id, user.display_name, user.role.value, user.provider_id,
                 user.password_hash, user.failed_attempts, user.locked_until))
            await conn.execute("DELETE FROM portal_sessions WHERE user_id = %s", (user.user_id,))

    async def record_failure(self, user_id: str, now: datetime) -> User | None:
        """Count one wrong password under a row lock, so parallel guesses all count."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {_USER} FROM portal_users WHERE user_id = %s FOR UPDATE", (user_id,))
            row = await cur.fetchone()
            if row is None:
                return None
            failed = after_failure(_user(row), now)
            await conn.execute(
                "UPDATE portal_users SET failed_attempts = %s, locked_until = %s"
                " WHERE user_id = %s", (failed.failed_attempts, failed.locked_until, user_id))
        return failed

    async def clear_failures(self, user_id: str) -> None:
        """Forget failed attempts and any lock."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE portal_users SET failed_attempts = 0, locked_until = NULL"
                " WHERE user_id = %s", (user_id,))

    async def add_session(self, session: Session) -> None:
        """Keep a new session."""
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO portal_sessions ({_SESSION}) VALUES (%s, %s, %s, %s, %s)",
                (session.session_hash, session.user_id, session.csrf_token,
                 session.created_at, session.last_seen_at))

    async def session(self, session_hash: bytes) -> Session | None:
        """The session with this token digest, if any."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_SESSION} FROM portal_sessions WHERE session_hash = %s",
                (session_hash,))
            row = await cur.fetchone()
        return _session(row) if row else None

    async def touch_session(self, session_hash: bytes, at: datetime) -> None:
        """Record that the session was used at ``at``."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE portal_sessions SET last_seen_at = %s WHERE session_hash = %s",
                (at, session_hash))

    async def end_session(self, session_hash: bytes) -> None:
        """Forget a session (signing out, or expiry)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "DELETE FROM portal_sessions WHERE session_hash = %s", (session_hash,))
