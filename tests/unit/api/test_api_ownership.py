"""Ownership answered from memory, kept current from the topics, never guessed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_fakes import Api, check_in, make_api

from ecm.api.app import process_rate_limiter
from ecm.api.keys import Role
from ecm.api.ownership import Owners, OwnershipDirectory, foreign, learn_record, owned_ids
from ecm.contracts import parse_event
from ecm.producer import Record
from ecm.settings import ApiSettings, Settings


def planned(provider_id: str, visit_id: str = "V1", event_id: str = "p-1") -> dict[str, Any]:
    return {"event_type": "visit_planned", "event_id": event_id,
            "occurred_at": "2026-01-01T12:00:00+00:00", "provider_id": provider_id,
            "visit_id": visit_id, "client_id": "C1", "service": "home_care",
            "planned_start": "2026-01-05T09:00:00+00:00",
            "planned_end": "2026-01-05T09:30:00+00:00"}


def register(api: Api, provider_id: str, carer_id: str, event_id: str) -> None:
    event = {"event_type": "carer_registered", "event_id": event_id,
             "occurred_at": "2026-01-01T00:00:00+00:00", "provider_id": provider_id,
             "carer_id": carer_id, "effective_from": "2026-01-01"}
    admin = api.headers("COUNCIL", Role.ADMIN)
    assert api.client.post("/v1/events", json=event, headers=admin).status_code == 202


def planned_with(carers: list[str], provider_id: str = "P1", event_type: str = "visit_planned",
                 event_id: str = "p-2") -> dict[str, Any]:
    event = {**planned(provider_id, event_id=event_id), "event_type": event_type,
             "schema_version": 2, "carers_required": max(1, len(carers)),
             "planned_carer_ids": carers}
    if event_type == "visit_changed":
        del event["client_id"], event["service"]
    return event


def test_planning_another_providers_carer_is_refused_naming_the_field(api: Api) -> None:
    register(api, "P1", "K1", "r-1")
    register(api, "P2", "K2", "r-2")
    published = len(api.publisher.records)
    response = api.client.post("/v1/events", json=planned_with(["K1", "K2"]),
                               headers=api.headers("P1"))
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert body["errors"] == [{"field": "planned_carer_ids[1]",
                               "reason": "carer is registered to another provider"}]
    assert body["message"] == "planned_carer_ids[1]: carer is registered to another provider"
    assert len(api.publisher.records) == published
    register(api, "P1", "K2", "r-3")  # K2 works for both now: P1 may plan K2
    assert api.client.post("/v1/events", json=planned_with(["K1", "K2"]),
                           headers=api.headers("P1")).status_code == 202


def test_a_batch_changing_the_carers_to_another_providers_names_the_item(api: Api) -> None:
    register(api, "P2", "K2", "r-1")
    events = [check_in(event_id="a"),
              planned_with(["K2"], event_type="visit_changed", event_id="b")]
    response = api.client.post("/v1/events/batch", json={"events": events},
                               headers=api.headers("P1"))
    assert response.status_code == 403
    assert response.json()["errors"] == [{"field": "events[1].planned_carer_ids[0]",
                                          "reason": "carer is registered to another provider"}]
    assert [r for r in api.publisher.records if r.topic != "unit.reference"] == []


def test_a_call_for_another_providers_carer_names_carer_id(api: Api) -> None:
    register(api, "P2", "K1", "r-1")
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 403
    assert response.json()["errors"] == [{"field": "carer_id", "reason":
                                          "carer is registered to another provider"}]


def test_every_carer_an_event_names_is_checked() -> None:
    owners = Owners({"V1": "P1", "V9": "P2"},
                    {"K1": frozenset({"P1"}), "K2": frozenset({"P2"}),
                     "K3": frozenset({"P1", "P2"})})
    changed = parse_event(planned_with(["K2", "K3", "K1"], event_type="visit_changed"))
    assert owned_ids([changed]) == (["V1"], ["K2", "K3", "K1"])
    assert foreign(changed, owners, "P1") == [
        ("planned_carer_ids[0]", "carer is registered to another provider")]
    assert foreign(changed, owners, "P2") == [
        ("visit_id", "visit belongs to another provider"),
        ("planned_carer_ids[2]", "carer is registered to another provider")]
    keeps = parse_event({**planned_with([], event_type="visit_changed"),
                         "planned_carer_ids": None})  # keeps the carers: names none
    assert owned_ids([keeps]) == (["V1"], []) and foreign(keeps, owners, "P1") == []
    unknown = parse_event(planned_with(["K7"]))  # registered nowhere yet: not refused
    assert foreign(unknown, owners, "P1") == []
    correction = parse_event({
        "event_type": "call_time_corrected", "event_id": "t-1",
        "occurred_at": "2026-01-05T12:00:00+00:00", "provider_id": "P1", "visit_id": "V1",
        "carer_id": "K2", "corrects": "check_in",
        "corrected_time": "2026-01-05T09:05:00+00:00", "reason_code": "device_fault",
        "corrected_by": "u1"})
    assert foreign(correction, owners, "P1") == [
        ("carer_id", "carer is registered to another provider")]


def test_a_visit_planned_a_moment_ago_is_refused_to_another_provider(api: Api) -> None:
    assert api.client.post("/v1/events", json=planned("P2"),
                           headers=api.headers("P2")).status_code == 202
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 403
    assert "another provider" in response.json()["message"]
    assert len(api.publisher.records) == 1


def test_a_visit_planned_through_another_process_is_refused_too(api: Api) -> None:
    assert api.feed is not None
    api.feed.others.append(Record("unit.visit-events", b"V1", json.dumps(planned("P2")).encode()))
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 403 and api.publisher.records == []


def test_a_known_owner_is_answered_from_memory(api: Api) -> None:
    assert api.feed is not None
    headers = api.headers("P1")
    assert api.client.post("/v1/events", json=planned("P1"), headers=headers).status_code == 202
    api.feed.tail()  # read in the background, a few milliseconds later
    rounds, queries = api.feed.rounds, api.reads.owner_queries
    for n in range(3):
        event = check_in(event_id=f"c-{n}")
        assert api.client.post("/v1/events", json=event, headers=headers).status_code == 202
    # the carer K1 is registered nowhere, so each call still reads the topics up to
    # date once; the visit is known, so the database is not asked
    assert api.reads.owner_queries == queries
    assert api.feed.rounds == rounds + 3


def test_a_registered_carer_and_planned_visit_need_neither_topics_nor_database(
        tmp_path: Path) -> None:
    made = make_api(tmp_path)
    made.reads.carers["K1"] = {"P1"}  # in the database at start-up
    assert made.feed is not None
    with made.client:
        headers = made.headers("P1")
        assert made.client.post("/v1/events", json=planned("P1"),
                                headers=headers).status_code == 202
        made.feed.tail()  # read in the background, a few milliseconds later
        rounds, queries = made.feed.rounds, made.reads.owner_queries
        assert made.client.post("/v1/events", json=check_in(),
                                headers=headers).status_code == 202
        assert (made.feed.rounds, made.reads.owner_queries) == (rounds, queries)


def test_an_unknown_visit_is_refused_with_503_when_the_topics_cannot_be_read(api: Api) -> None:
    assert api.feed is not None
    api.feed.down = True
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 503 and api.publisher.records == []
    assert response.headers["retry-after"]
    assert api.client.get("/readyz").json()["ownership"] == "loading"


def test_an_unknown_visit_is_refused_with_503_when_the_database_cannot_be_asked(
        api: Api) -> None:
    api.reads.down = True
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 503 and api.publisher.records == []


def test_a_visits_first_event_in_the_topic_decides_its_owner() -> None:
    directory = OwnershipDirectory()
    for provider in ("P2", "P1"):
        learn_record(directory, "visit-events", b"V1",
                     json.dumps({"visit_id": "V1", "provider_id": provider}).encode())
    assert directory.owners(["V1"], []).visits == {"V1": "P2"}


@pytest.mark.parametrize("value", [b"not json", b"[]", b'{"visit_id": "V1"}', None])
def test_a_record_that_is_not_an_event_teaches_nothing(value: bytes | None) -> None:
    directory = OwnershipDirectory()
    learn_record(directory, "visit-events", b"V1", value)
    learn_record(directory, "reference", b"carer:K1", value)
    assert directory.owners(["V1"], ["K1"]).visits == {} and directory.carers == {}


def test_a_carer_registered_with_two_providers_is_employed_by_both() -> None:
    directory = OwnershipDirectory()
    for provider in ("P2", "P1"):
        learn_record(directory, "reference", b"carer:K1",
                     json.dumps({"carer_id": "K1", "provider_id": provider}).encode())
    learn_record(directory, "reference", b"client:C1",
                 json.dumps({"client_id": "C1", "provider_id": "P3"}).encode())
    assert directory.carers == {"K1": frozenset({"P1", "P2"})}


@pytest.mark.parametrize(("workers", "per_minute", "burst"), [(1, 6000, 200), (2, 3000, 100),
                                                               (3, 2000, 67)])
def test_each_of_n_processes_takes_an_nth_of_a_keys_rate_limit(
        workers: int, per_minute: int, burst: int) -> None:
    limiter = process_rate_limiter(Settings(api=ApiSettings(workers=workers)))
    taken = sum(1 for _ in range(400) if limiter.take("k") == 0)
    assert taken == burst
    assert limiter._rate == pytest.approx(per_minute / 60)  # noqa: SLF001
