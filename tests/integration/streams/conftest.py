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


@pytest.fixture(scope="session")
def simulated_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated multi-provider week at 1% of Kent (about 2,500 events), with bad lines."""
    from typer.testing import CliRunner

    from ecm.cli import app

    path = tmp_path_factory.mktemp("week") / "week.jsonl"
    result = CliRunner().invoke(
        app, ["simulate", "--seed", "11", "--scale", "0.01", "--weeks", "1",
              "--start", "2026-11-16", "--out", str(path)],
    )
    assert result.exit_code == 0, result.output
    return path
