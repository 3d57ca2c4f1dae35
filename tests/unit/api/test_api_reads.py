from __future__ import annotations

import logging

import pytest
from api_fakes import Api

from ecm.api.keys import Role


@pytest.fixture()
def seeded(api: Api) -> Api:
    for visit_id, provider in (("V1", "P1"), ("V2", "P2"), ("V3", "P1")):
        api.reads.visits_rows.append({"visit_id": visit_id, "provider_id": provider,
                                      "status": "completed", "local_date": None,
                                      "payload": {"visit_id": visit_id}})
    api.reads.alerts += [{"alert_id": "a1", "provider_id": "P1"},
                         {"alert_id": "a2", "provider_id": "P2"}]
    api.workflow.exception_rows["x2"] = {"exception_id": "x2", "provider_id": "P2",
                                         "status": "open", "kind": "no_check_in"}
    return api


def test_a_provider_reads_only_its_own_visits_alerts_and_exceptions(seeded: Api) -> None:
    headers = seeded.headers("P1")
    visits = seeded.client.get("/v1/visits", headers=headers).json()
    assert [v["visit_id"] for v in visits] == ["V1", "V3"]
    alerts = seeded.client.get("/v1/alerts", headers=headers).json()
    assert [a["alert_id"] for a in alerts] == ["a1"]
    assert seeded.client.get("/v1/exceptions", headers=headers).json() == []


def test_another_providers_visit_is_404_like_an_unknown_one_and_logged(
    seeded: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ecm.api.security")
    headers = seeded.headers("P1")
    theirs = seeded.client.get("/v1/visits/V2", headers=headers)
    unknown = seeded.client.get("/v1/visits/V9", headers=headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["message"] == unknown.json()["message"]
    assert any(r.name == "ecm.api.security" for r in caplog.records)


def test_filtering_on_another_provider_is_403(seeded: Api) -> None:
    for path in ("/v1/visits", "/v1/alerts", "/v1/exceptions"):
        response = seeded.client.get(path, params={"provider_id": "P2"},
                                     headers=seeded.headers("P1"))
        assert response.status_code == 403


def test_contract_managers_read_across_providers(seeded: Api) -> None:
    headers = seeded.headers("KCC", Role.CONTRACT_MANAGER)
    assert len(seeded.client.get("/v1/visits", headers=headers).json()) == 3
    only = seeded.client.get("/v1/visits", params={"provider_id": "P2"}, headers=headers).json()
    assert [v["visit_id"] for v in only] == ["V2"]
    assert seeded.client.get("/v1/visits/V2", headers=headers).status_code == 200


def test_reads_answer_503_when_the_database_is_down(seeded: Api) -> None:
    seeded.reads.down = True
    response = seeded.client.get("/v1/visits", headers=seeded.headers("P1"))
    assert response.status_code == 503 and response.headers["Retry-After"]


def test_health_is_always_ok_and_readiness_follows_dependencies(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").status_code == 200
    api.publisher.is_ready = False
    ready = api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["kafka"] == "down"


def test_openapi_documents_every_endpoint_with_examples(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/v1/events", "/v1/events/batch", "/v1/uploads/{layout}", "/v1/visits",
            "/v1/alerts", "/v1/exceptions", "/healthz", "/readyz"} <= paths
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert "check_in" in body["examples"]
    assert "text/csv" in spec["paths"]["/v1/uploads/{layout}"]["post"]["requestBody"]["content"]
