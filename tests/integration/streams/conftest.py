"""Fixtures of the stream tests: real workers on the real broker and a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline import Pipeline
from support import fresh_database


@pytest.fixture()
def pipeline(kafka_bootstrap: str, test_dsn: str, tmp_path: Path) -> Iterator[Pipeline]:
    with fresh_database(test_dsn, prefix="ecm_stream") as dsn:
        pipe = Pipeline(kafka_bootstrap, dsn, tmp_path)
        pipe.create_topics()
        try:
            yield pipe
        finally:
            pipe.stop_all()
