from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from api_fakes import Api, check_in, run

from ecm.api.auth import Authenticator
from ecm.api.errors import Unauthorized
from ecm.api.keys import Role, hash_secret, parse_token
from ecm.api.keystore import issue_key, rotate_key

PROVIDER_EVENT_PATHS = ["/v1/events"]


def test_a_key_is_ecm_keyid_secret_and_only_its_hash_is_kept(api: Api) -> None:
    token = api.keys.issue("P1")
    key_id, secret = parse_token(token)  # type: ignore[misc]
    stored = api.keys.keys[key_id]
    assert token.startswith(f"ecm_{key_id}_") and len(secret) >= 43
    assert stored.secret_sha256 == hash_secret(secret)
    assert secret not in repr(stored)


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer nonsense"},
    {"Authorization": "Bearer ecm_0123456789ab_wrongsecret"},
    {"X-API-Key": "ecm_zzzzzzzzzzzz_x"},
])
def test_missing_malformed_or_unknown_keys_are_401(api: Api, headers: dict[str, str]) -> None:
    response = api.client.post("/v1/events", json=check_in(), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_secret_for_a_real_key_id_is_401(api: Api) -> None:
    token = api.keys.issue("P1")
    forged = token[: token.rindex("_") + 1] + "A" * 43
    assert api.client.get("/v1/visits", headers={"X-API-Key": forged}).status_code == 401


def test_x_api_key_header_is_accepted(api: Api) -> None:
    response = api.client.post("/v1/events", json=check_in(),
                               headers={"X-API-Key": api.keys.issue("P1")})
    assert response.status_code == 202


def test_revoked_key_is_refused_at_once_without_cache(api: Api) -> None:
    token = api.keys.issue("P1")
    key_id = token.split("_")[1]
    run(api.keys.revoke(key_id, datetime.now(UTC)))
    response = api.client.get("/v1/visits", headers={"X-API-Key": token})
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_revocation_takes_effect_when_the_cache_entry_expires(api: Api) -> None:
    now = [0.0]
    auth = Authenticator(api.keys, cache_seconds=5, clock=lambda: now[0])
    token = api.keys.issue("P1")
    run(auth.authenticate(token))
    run(api.keys.revoke(token.split("_")[1], datetime.now(UTC)))
    run(auth.authenticate(token))  # still cached
    now[0] = 5.1
    with pytest.raises(Unauthorized):
        run(auth.authenticate(token))


def test_rotation_issues_a_new_key_and_the_old_one_works_only_during_grace(api: Api) -> None:
    old = run(issue_key(api.keys, "P1", Role.PROVIDER))
    new = run(rotate_key(api.keys, old.stored.key_id, grace_seconds=60))
    assert new.stored.provider_id == "P1" and new.token != old.token
    stored_old = api.keys.keys[old.stored.key_id]
    assert stored_old.active_at(datetime.now(UTC))
    assert not stored_old.active_at(datetime.now(UTC) + timedelta(seconds=61))
    assert api.client.get("/v1/visits", headers={"X-API-Key": new.token}).status_code == 200


def test_event_for_another_provider_is_403_logged_and_not_published(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ecm.api.security")
    response = api.client.post("/v1/events", json=check_in(provider_id="P2"),
                               headers=api.headers("P1"))
    assert response.status_code == 403
    assert api.publisher.records == []
    [record] = [r for r in caplog.records if r.name == "ecm.api.security"]
    assert record.attempted_provider == "P2" and record.provider_id == "P1"  # type: ignore[attr-defined]


def test_a_batch_with_one_foreign_event_is_refused_whole(api: Api) -> None:
    events = [check_in(event_id="a"), check_in(event_id="b", provider_id="P2")]
    response = api.client.post("/v1/events/batch", json={"events": events},
                               headers=api.headers("P1"))
    assert response.status_code == 403
    assert api.publisher.records == []


def test_a_visit_known_as_another_providers_is_refused(api: Api) -> None:
    api.reads.visits_rows.append({"visit_id": "V1", "provider_id": "P2", "status": "planned",
                                  "local_date": None, "payload": {}})
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 403
    assert "another provider" in response.json()["message"]


def _register_carer(api: Api, provider_id: str, event_id: str) -> None:
    event = {"event_type": "carer_registered", "event_id": event_id,
             "occurred_at": "2026-01-01T00:00:00+00:00", "provider_id": provider_id,
             "carer_id": "K1", "effective_from": "2026-01-01"}
    admin = api.headers("COUNCIL", Role.ADMIN)
    assert api.client.post("/v1/events", json=event, headers=admin).status_code == 202


def test_a_carer_registered_only_to_another_provider_is_refused(api: Api) -> None:
    _register_carer(api, "P2", "r-1")
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers("P1"))
    assert response.status_code == 403
    _register_carer(api, "P1", "r-2")  # moved between providers: still ours too
    assert api.client.post("/v1/events", json=check_in(),
                           headers=api.headers("P1")).status_code == 202


def test_contract_managers_read_but_cannot_submit(api: Api) -> None:
    headers = api.headers("KCC", Role.CONTRACT_MANAGER)
    assert api.client.post("/v1/events", json=check_in(), headers=headers).status_code == 403
    assert api.client.get("/v1/visits", headers=headers).status_code == 200


def test_reference_data_is_submitted_by_admins_only(api: Api) -> None:
    carer = {"event_type": "carer_registered", "event_id": "r1",
             "occurred_at": "2026-01-01T00:00:00Z", "provider_id": "P1", "carer_id": "K1",
             "effective_from": "2026-01-01"}
    assert api.client.post("/v1/events", json=carer,
                           headers=api.headers("P1")).status_code == 403
    admin = api.headers("KCC", Role.ADMIN)
    assert api.client.post("/v1/events", json=carer, headers=admin).status_code == 202
    assert api.publisher.records[0].topic == "unit.reference"


def test_only_admins_manage_keys_and_secrets_are_shown_once(api: Api) -> None:
    assert api.client.get("/v1/admin/keys", headers=api.headers("P1")).status_code == 403
    admin = api.headers("KCC", Role.ADMIN)
    issued = api.client.post("/v1/admin/keys", json={"provider_id": "P9"}, headers=admin)
    assert issued.status_code == 201 and issued.json()["api_key"].startswith("ecm_")
    listed = api.client.get("/v1/admin/keys", params={"provider_id": "P9"}, headers=admin).json()
    assert "api_key" not in listed[0] and "secret" not in str(listed)
    key_id = issued.json()["key_id"]
    assert api.client.post(f"/v1/admin/keys/{key_id}/revoke", headers=admin).status_code == 204
    token = issued.json()["api_key"]
    assert api.client.get("/v1/visits", headers={"X-API-Key": token}).status_code == 401
