from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ecm.cli import app
from ecm.simulate import SimulationConfig

from .conftest import run_bytes

SMALL = SimulationConfig(seed=7, scale=0.02, weeks=1, malformed_rate=0.01)


def test_same_seed_and_arguments_give_identical_bytes() -> None:
    assert run_bytes(SMALL) == run_bytes(SMALL)


def test_different_seed_gives_different_bytes() -> None:
    other = SimulationConfig(seed=8, scale=0.02, weeks=1, malformed_rate=0.01)
    assert run_bytes(SMALL) != run_bytes(other)


def test_cli_writes_identical_files_for_the_same_seed(tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name in ("a.jsonl", "b.jsonl"):
        path = tmp_path / name
        args = ["simulate", "--seed", "3", "--scale", "0.01", "--start", "2026-11-16"]
        result = runner.invoke(app, [*args, "--out", str(path)])
        assert result.exit_code == 0, result.output
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") > 1000


def test_cli_refuses_both_or_neither_output() -> None:
    result = CliRunner().invoke(app, ["simulate", "--scale", "0.01"])
    assert result.exit_code != 0
