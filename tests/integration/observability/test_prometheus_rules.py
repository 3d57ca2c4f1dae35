"""The alert rules are valid and behave as their promtool unit tests say."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .prom import PROM_DIR, binary

pytestmark = pytest.mark.prometheus


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_check_rules_accepts_every_rule_file() -> None:
    files = sorted(str(p) for p in (PROM_DIR / "rules").glob("*.yml"))
    assert files
    result = _promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    files = sorted(str(p) for p in (PROM_DIR / "tests").glob("*.yml"))
    assert files
    result = _promtool("test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_has_a_unit_test_that_fires_it_and_one_that_does_not() -> None:
    import yaml

    rules = yaml.safe_load((PROM_DIR / "rules" / "ecm.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in (PROM_DIR / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert names - fired == set()
    assert names - quiet == set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("critical", "warning")
            assert rule["annotations"]["runbook"]


def test_the_local_config_loads_the_rules_from_next_to_it_as_stack_sh_lays_them_out() -> None:
    result = _promtool("check", "config", str(PROM_DIR / "prometheus.local.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_the_compose_config_is_valid_with_its_container_paths(tmp_path: Path) -> None:
    text = (PROM_DIR / "prometheus.compose.yml").read_text()
    text = text.replace("/etc/prometheus/rules", str(PROM_DIR / "rules"))
    text = text.replace("/etc/prometheus/", f"{tmp_path}/")
    config = tmp_path / "prometheus.yml"
    config.write_text(text)
    result = _promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
