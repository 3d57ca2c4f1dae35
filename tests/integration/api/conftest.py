"""Fixtures of the API integration tests: real Kafka, real PostgreSQL, a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import fresh_database


@pytest.fixture(scope="session")
def api_dsn(test_dsn: str) -> Iterator[str]:
    with fresh_database(test_dsn, prefix="ecm_api") as dsn:
        yield dsn


@pytest.fixture()
def state_dir(tmp_path: Path) -> Path:
    return tmp_path
