"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest


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
