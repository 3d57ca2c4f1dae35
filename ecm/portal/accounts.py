"""People who sign in to the portal: accounts, passwords, lockout and sessions.

A user has one role — provider staff (bound to one provider), contract manager, duty
officer or administrator — the same roles the API's keys carry (``ecm.api.keys.Role``).
Passwords are hashed with Argon2id (``argon2-cffi``'s defaults). After
``MAX_FAILURES`` wrong passwords in a row an account is locked for ``LOCK_MINUTES``;
the lock is not revealed to the person signing in (the same answer as a wrong password),
only logged. A session is a random token in an HTTP-only, same-site cookie; only its
SHA-256 is stored, with the session's CSRF token, so a stolen database row cannot be
replayed as a cookie.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ecm.api.keys import Role

MAX_FAILURES = 5
LOCK_MINUTES = 15
SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 12
MIN_PASSWORD_LENGTH = 12

_HASHER = PasswordHasher()
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(ValueError):
    """An account that cannot be created as asked, naming the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class User:
    """A person with a portal account."""

    user_id: str
    display_name: str
    role: Role
    provider_id: str | None
    password_hash: str
    failed_attempts: int = 0
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        """Whether the account is locked at ``now``."""
        return self.locked_until is not None and now < self.locked_until

    def sees(self, provider_id: str) -> bool:
        """Whether this user may see (and act on) data of ``provider_id``."""
        return self.role is not Role.PROVIDER or provider_id == self.provider_id


def new_user(
    user_id: str, display_name: str, role: Role, provider_id: str | None, password: str
) -> User:
    """A new account with its password hashed, or ``AccountError``."""
    if not _USER_ID.match(user_id):
        raise AccountError("user_id", "2–64 lower-case letters, digits, '.', '_' or '-'")
    if not display_name.strip():
        raise AccountError("display_name", "must not be empty")
    if (role is Role.PROVIDER) != (provider_id is not None):
        raise AccountError("provider_id", "required for provider staff, and only for them")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    return User(user_id, display_name.strip(), role, provider_id, _HASHER.hash(password))


def password_matches(user: User, password: str) -> bool:
    """Whether ``password`` is the user's (constant-time within Argon2)."""
    try:
        return _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def after_failure(user: User, now: datetime) -> User:
    """The account after one more wrong password: locked at the ``MAX_FAILURES``-th."""
    failures = user.failed_attempts + 1
    if failures >= MAX_FAILURES:
        return replace(user, failed_attempts=0, locked_until=now + timedelta(minutes=LOCK_MINUTES))
    return replace(user, failed_attempts=failures)


def dummy_verify(password: str) -> None:
    """Spend the time of a password check for an unknown user (no user-id probing by timing)."""
    password_matches(_DUMMY, password)


_DUMMY = User("dummy", "dummy", Role.ADMIN, None, _HASHER.hash(secrets.token_urlsafe(16)))


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: whose, its CSRF token, and how long it lasts."""

    session_hash: bytes
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime

    def expired_at(self, now: datetime) -> bool:
        """Whether the session has been idle too long or lived too long."""
        return (now - self.last_seen_at > timedelta(minutes=SESSION_IDLE_MINUTES)
                or now - self.created_at > timedelta(hours=SESSION_MAX_HOURS))


def new_session(user_id: str, now: datetime) -> tuple[str, Session]:
    """A fresh session: the cookie's token (shown to the browser once) and what is stored."""
    token = secrets.token_urlsafe(32)
    return token, Session(session_digest(token), user_id, secrets.token_urlsafe(32), now, now)


def session_digest(token: str) -> bytes:
    """What is stored of a session token."""
    return hashlib.sha256(token.encode()).digest()


def csrf_matches(session: Session, presented: str | None) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    return presented is not None and secrets.compare_digest(session.csrf_token, presented)


class AccountStore(Protocol):
    """Where accounts and sessions are kept (PostgreSQL in production)."""

    async def user(self, user_id: str) -> User | None:
        """The account, if there is one."""

    async def add_user(self, user: User) -> None:
        """Create an account; an existing user id is an error."""

    async def record_failure(self, user_id: str, now: datetime) -> User | None:
        """Count one wrong password atomically (``after_failure``); the account after it."""

    async def clear_failures(self, user_id: str) -> None:
        """Forget failed attempts and any lock (after a right password)."""

    async def add_session(self, session: Session) -> None:
        """Keep a new session."""

    async def session(self, session_hash: bytes) -> Session | None:
        """The session with this token digest, if any."""

    async def touch_session(self, session_hash: bytes, at: datetime) -> None:
        """Record that the session was used at ``at``."""

    async def end_session(self, session_hash: bytes) -> None:
        """Forget a session."""
