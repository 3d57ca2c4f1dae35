"""Schemathesis against the OpenAPI spec of a real server (real Kafka and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_stack import issue, serve, settings_for
from hypothesis import HealthCheck, given, settings

from ecm.api import create_app
from ecm.api.keys import Role
from ecm.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(
    api_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    kafka = KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"test-st-{tmp_path_factory.mktemp('k').name}",
    )
    app = create_app(settings_for(kafka, api_dsn, tmp_path_factory.mktemp("state"),
                                  rate_limit_per_minute=1_000_000, rate_limit_burst=100_000))
    with serve(app) as base_url:
        yield {"base_url": base_url, "key": issue(api_dsn, "P1"),
               "council": {role: issue(api_dsn, "KCC", role)
                           for role in (Role.CONTRACT_MANAGER, Role.DUTY_OFFICER)}}


@pytest.fixture(scope="module")
def api_schema(server: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_url(f"{server['base_url']}/openapi.json")


def test_no_generated_request_makes_the_server_fail(
    api_schema: Any, server: dict[str, Any]
) -> None:
    """Every operation, examples from the spec plus hypothesis-generated requests: no 5xx."""
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call(headers={"X-API-Key": server["key"]})
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        check()
    print(f"schemathesis: {sum(statuses.values())} requests, statuses {dict(statuses)}")
    assert failures == []
    assert any(200 <= code < 300 for code in statuses)  # real work was done, not only 4xx


def test_the_spec_is_served(server: dict[str, Any], tmp_path: Path) -> None:
    import httpx

    spec = httpx.get(f"{server['base_url']}/openapi.json").json()
    assert spec["info"]["title"] == "ecm provider API"


WORKFLOW_PATHS = ("/v1/exceptions", "/v1/corrections", "/v1/alerts/", "/v1/monitoring",
                  "/v1/payments.csv", "/frustrated")


@pytest.mark.parametrize("role", [Role.CONTRACT_MANAGER, Role.DUTY_OFFICER])
def test_no_generated_workflow_request_of_a_council_role_makes_the_server_fail(
    api_schema: Any, server: dict[str, Any], role: Role
) -> None:
    """The closing-the-loop routes with council keys (past the provider-only 403s): no 5xx."""
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if not any(p in operation.path for p in WORKFLOW_PATHS):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call(headers={"X-API-Key": server["council"][role]})
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        check()
    print(f"schemathesis ({role.value}): {sum(statuses.values())} requests, {dict(statuses)}")
    assert failures == []
