"""The committed dashboards: generated from the KPI layer, well-formed, wired to real things."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram, Info

from ecm import metrics
from ecm.kpi import grafana, sql_text

ROOT = Path(__file__).parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
FILES = sorted(p.name for p in DASHBOARDS.glob("*.json"))


def _load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / name).read_text())


def _targets(board: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(panel, target) for panel in board["panels"] for target in panel["targets"]]


def test_the_committed_files_are_exactly_what_the_generator_writes_now() -> None:
    generated = grafana.dashboards()
    assert FILES == sorted(generated), "run `make dashboards`"
    for name, board in generated.items():
        assert (DASHBOARDS / name).read_text() == grafana.render(board), f"{name}: make dashboards"


def test_there_are_the_four_dashboards_with_unique_uids() -> None:
    uids = [_load(name)["uid"] for name in FILES]
    assert len(FILES) == 4
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", FILES)
def test_panel_ids_are_unique_within_a_dashboard(name: str) -> None:
    ids = [panel["id"] for panel in _load(name)["panels"]]
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, int) for i in ids)


def _provisioned() -> dict[str, str]:
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "ecm.yml").read_text())
    return {ds["uid"]: ds["type"] for ds in config["datasources"]}


@pytest.mark.parametrize("name", FILES)
def test_every_datasource_reference_is_a_provisioned_datasource(name: str) -> None:
    provisioned = _provisioned()
    board = _load(name)
    refs = [panel["datasource"] for panel in board["panels"]]
    refs += [target["datasource"] for _, target in _targets(board)]
    refs += [var["datasource"] for var in board["templating"]["list"] if "datasource" in var]
    assert refs
    for ref in refs:
        assert provisioned.get(ref["uid"]) == ref["type"], ref


@pytest.mark.parametrize("name", FILES)
def test_every_variable_a_query_uses_is_defined_in_templating(name: str) -> None:
    board = _load(name)
    defined = {var["name"] for var in board["templating"]["list"]}
    for panel, target in _targets(board):
        query = target.get("rawSql") or target["expr"]
        assert grafana.variables_used(query) <= defined, panel["title"]
        # Only the macros interpolate() knows (and documents).
        assert set(re.findall(r"\$__\w+\(\)", query)) <= set(grafana.MACROS), panel["title"]


def _kpi_layer_queries() -> set[str]:
    names = [p.stem for p in (ROOT / "ecm" / "kpi" / "sql").glob("*.sql")]
    return {sql_text(n) for n in names}


@pytest.mark.parametrize("name", FILES)
def test_every_sql_query_is_the_kpi_layers_sql_with_only_its_parameters_bound(name: str) -> None:
    board = _load(name)
    queries = [t["rawSql"] for _, t in _targets(board) if "rawSql" in t]
    queries += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    for query in queries:
        # Rebuild the query from each KPI-layer file with the parameters bound to whatever the
        # dashboard put there: one of them must match it exactly.
        matches = [
            text for text in _kpi_layer_queries()
            if re.fullmatch(_pattern(text), query, flags=re.DOTALL)
        ]
        assert matches, query[:200]


def _pattern(text: str) -> str:
    parts = re.split(r"%\(\w+\)s", text.replace("%%", "%"))
    return r"(?:[^\n]+?)".join(re.escape(part) for part in parts)


def _series_names(collector_name: str, kind: type) -> set[str]:
    if kind is Counter:
        return {f"{collector_name}_total", f"{collector_name}_created"}
    if kind is Histogram:
        return {f"{collector_name}_{s}" for s in ("bucket", "sum", "count", "created")}
    if kind is Info:
        return {f"{collector_name}_info"}
    return {collector_name}


SERIES = {
    name
    for collector in vars(metrics).values()
    if isinstance(collector, Counter | Gauge | Histogram | Info)
    for name in _series_names(collector._name, type(collector))  # type: ignore[attr-defined]
}
PROMQL_WORDS = {"sum", "by", "rate", "max", "min", "avg", "histogram_quantile", "le",
                "increase", "without", "count", "irate", "topk", "on", "ignoring"}


def test_every_promql_expression_references_metrics_declared_in_ecm_metrics() -> None:
    board = _load("pipeline-health.json")
    exprs = [target["expr"] for _, target in _targets(board)]
    assert exprs
    for expr in exprs:
        without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\((?:[\w ,]*)\)(?=\s*\()", " ", expr)
        names = {w for w in re.findall(r"[a-zA-Z_:][\w:]*", without_labels)}
        names -= PROMQL_WORDS
        grouping = set(re.findall(r"by \(([^)]*)\)", expr))
        labels = {lab.strip() for group in grouping for lab in group.split(",")}
        metric_names = names - labels
        assert metric_names, expr
        assert metric_names <= SERIES, (expr, metric_names - SERIES)
    used = {n for e in exprs for n in re.findall(r"ecm_\w+", e)}
    for wanted in ("ecm_events_consumed_total", "ecm_consumer_lag",
                   "ecm_events_dead_lettered_total", "ecm_event_processing_seconds_bucket",
                   "ecm_sink_flush_seconds_bucket", "ecm_deadline_sweep_seconds_bucket"):
        assert wanted in used


def test_the_dashboard_provider_reads_the_directory_compose_mounts() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    mounts = dict(v.removesuffix(":ro").split(":", 1) for v in volumes if v.startswith("./"))
    target = mounts["./grafana/dashboards"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "ecm.yml").read_text())
    assert [p["options"]["path"] for p in provider["providers"]] == [target]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert set(_provisioned()) == grafana.DATASOURCE_UIDS
