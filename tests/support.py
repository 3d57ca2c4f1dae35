"""Helpers shared by tests that use the real services of the local stack."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ecm.storage.migrate import migrate


@contextmanager
def fresh_database(admin_dsn: str, prefix: str = "ecm_t", migrated: bool = True) -> Iterator[str]:
    """Create a database of its own next to the test database; drop it afterwards.

    Args:
        admin_dsn: a database the test role can connect to (ECM_TEST_DB__DSN).
        prefix: start of the new database's name (the rest is random).
        migrated: apply every migration before handing it out.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(admin_dsn)
    params["dbname"] = name
    dsn = make_conninfo(**params)
    try:
        if migrated:
            migrate(dsn)
        yield dsn
    finally:
        drop_database(admin_dsn, name)


def drop_database(admin_dsn: str, name: str, attempts: int = 30) -> None:
    """Drop a scratch database, its connections with it.

    WITH (FORCE) refuses when a session on it belongs to a role the test role may not
    signal (seen, rarely, right after a migration under load); such a session has been
    gone within seconds, so try again for a while before failing.
    """
    for attempt in range(attempts):
        try:
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
