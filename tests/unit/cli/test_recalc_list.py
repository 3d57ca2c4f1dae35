"""``ecm recalc list`` says so when nothing has been recorded, without a database."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from typer.testing import CliRunner

from ecm.cli import app, recalc_cmd
from ecm.recalc import store


@pytest.fixture()
def no_recalculations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recalc_cmd.psycopg, "connect", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(store, "recalculations", lambda conn: [])


@pytest.mark.usefixtures("no_recalculations")
def test_recalc_list_with_none_recorded_says_so() -> None:
    result = CliRunner().invoke(app, ["recalc", "list", "--dsn", "postgresql://unused"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "no recalculations recorded\n"


@pytest.mark.usefixtures("no_recalculations")
def test_recalc_list_json_with_none_recorded_keeps_stdout_empty() -> None:
    result = CliRunner().invoke(app, ["recalc", "list", "--json", "--dsn",
                                      "postgresql://unused"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "no recalculations recorded\n"
