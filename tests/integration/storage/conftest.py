"""A fresh, migrated database per test module, dropped afterwards.

The admin connection is ECM_TEST_DB__DSN (default: the local stack's ecm_test); each
module gets its own database named with a random suffix, so parallel sessions never meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support import drop_database

from ecm.storage.migrate import migrate

ADMIN_DSN = os.environ.get("ECM_TEST_DB__DSN", "postgresql://ecm:ecm@127.0.0.1:5433/ecm_test")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:  # pragma: no cover - depends on the stack
        pytest.fail(f"PostgreSQL not reachable at ECM_TEST_DB__DSN (make stack-up): {exc}")


@pytest.fixture(scope="module")
def empty_dsn() -> Iterator[str]:
    """The DSN of a new, empty database, dropped after the module."""
    name = f"ecm_t_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(ADMIN_DSN)
    params["dbname"] = name
    try:
        yield make_conninfo(**params)
    finally:
        drop_database(ADMIN_DSN, name)


@pytest.fixture(scope="module")
def dsn(empty_dsn: str) -> str:
    """The DSN of a new database with every migration applied."""
    migrate(empty_dsn)
    return empty_dsn


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the module's database, emptied of data after the test."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection
        connection.execute(
            "TRUNCATE raw_events, visit_outcomes, visit_latest, alerts, visit_exceptions,"
            " kpi_daily, kpi_client_week, kpi_weekly, kpi_continuity_weekly, lots, providers,"
            " clients, carers, care_packages,"
            " rate_cards, contract_rules, rota_gaps"
        )
