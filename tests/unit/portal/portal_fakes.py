"""An in-memory account store for unit tests of the portal's routes (pure logic only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ecm.portal.accounts import Session, User, after_failure


class MemoryAccountStore:
    """``AccountStore`` in memory: for unit tests of the portal's pages and routes."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.sessions: dict[bytes, Session] = {}

    async def user(self, user_id: str) -> User | None:
        """The account, if there is one."""
        return self.users.get(user_id)

    async def add_user(self, user: User) -> None:
        """Create an account."""
        if user.user_id in self.users:
            raise ValueError(f"user {user.user_id} exists")
        self.users[user.user_id] = user

    async def record_failure(self, user_id: str, now: datetime) -> User | None:
        """Count one wrong password (the same rule as in PostgreSQL: ``after_failure``)."""
        user = self.users.get(user_id)
        if user is None:
            return None
        self.users[user_id] = after_failure(user, now)
        return self.users[user_id]

    async def clear_failures(self, user_id: str) -> None:
        """Forget failed attempts and any lock."""
        user = self.users[user_id]
        self.users[user_id] = replace(user, failed_attempts=0, locked_until=None)

    async def add_session(self, session: Session) -> None:
        """Keep a new session."""
        self.sessions[session.session_hash] = session

    async def session(self, session_hash: bytes) -> Session | None:
        """The session, if any."""
        return self.sessions.get(session_hash)

    async def touch_session(self, session_hash: bytes, at: datetime) -> None:
        """Record use."""
        old = self.sessions.get(session_hash)
        if old is not None:
            self.sessions[session_hash] = Session(old.session_hash, old.user_id,
                                                  old.csrf_token, old.created_at, at)

    async def end_session(self, session_hash: bytes) -> None:
        """Forget a session."""
        self.sessions.pop(session_hash, None)
