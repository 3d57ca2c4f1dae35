from __future__ import annotations

from api_fakes import make_api

from ecm.api.ratelimit import TokenBuckets


def test_token_bucket_allows_the_burst_then_asks_to_wait_until_refilled() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, burst=2, clock=lambda: now[0])
    assert [buckets.take("k"), buckets.take("k")] == [0, 0]
    assert buckets.take("k") == 1
    now[0] = 1.0
    assert buckets.take("k") == 0
    assert buckets.take("other") == 0  # buckets are per key


def test_requests_over_the_keys_rate_get_429_with_retry_after(tmp_path) -> None:
    api = make_api(tmp_path, rate_limit_per_minute=6, rate_limit_burst=2)
    headers, other = api.headers("P1"), api.headers("P1")
    codes = [api.client.get("/v1/visits", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = api.client.get("/v1/visits", headers=headers)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"] == "rate_limited"
    assert api.client.get("/v1/visits", headers=other).status_code == 200


def test_a_declared_oversized_body_is_413_before_reading(tmp_path) -> None:
    api = make_api(tmp_path, max_body_bytes=2048)
    body = b'{"events": [' + b" " * 4096 + b"]}"
    response = api.client.post("/v1/events/batch", content=body,
                               headers={**api.headers(), "content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_a_streamed_oversized_body_is_413(tmp_path) -> None:
    api = make_api(tmp_path, max_body_bytes=2048)

    def chunks():
        for _ in range(10):
            yield b" " * 1000

    response = api.client.post("/v1/events", content=chunks(),
                               headers={**api.headers(), "content-type": "application/json"})
    assert response.status_code == 413
    assert api.publisher.records == []


def test_uploads_have_their_own_larger_limit(tmp_path) -> None:
    api = make_api(tmp_path, max_body_bytes=2048, max_upload_bytes=10_000_000)
    rows = "".join(f"V{i},C1,home_care,2026-01-05 09:00,2026-01-05 09:30\n" for i in range(200))
    body = "visit_id,client_id,service,planned_start,planned_end\n" + rows
    response = api.client.post("/v1/uploads/visits", content=body.encode(), headers={
        **api.headers(), "content-type": "text/csv"})
    assert response.status_code == 200
    assert response.json()["rows_accepted"] == 200
