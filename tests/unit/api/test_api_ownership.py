"""Ownership answered from memory, kept current from the topics, never guessed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_fakes import Api, check_in, make_api

from ecm.api.app import process_rate_limiter
from ecm.api.ownership import OwnershipDirectory, learn_record
from ecm.producer import Record
from ecm.settings import ApiSettings, Settings


def planned(provider_id: str, visit_id: str = "V1", event_id: str = "p-1") -> dict[str, Any]:
    return {"event_type": "visit_planned", "event_id": event_id,
            "occurred_at": "2026-01-01T12:00:00+00:00", "provider_id": provider_id,
            "visit_id": visit_id, "client_id": "C1", "service": "home_care",
            "planned_start": "2026-01-05T09:00:00+00:00",
            "planned_end": "2026-01-05T09:30:00+00:00"}


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
