"""Webhook signatures: HMAC-SHA256 over timestamp and body, checked with a tolerance."""

from __future__ import annotations

import hashlib
import hmac

from ecm.notify.signing import sign, verify

SECRET = b"s3cret"
BODY = b'{"type":"alert_raised","alert":{"alert_id":"V1:missed"}}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body_as_documented() -> None:
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == f"t=1700000000,v1={expected}"


def test_a_signature_verifies_within_the_tolerance() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert verify(SECRET, header, BODY, now=1_700_000_000 + 299)
    assert verify(SECRET, header, BODY, now=1_700_000_000 - 299)


def test_a_stale_or_future_timestamp_is_rejected() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, header, BODY, now=1_700_000_000 + 301)
    assert not verify(SECRET, header, BODY, now=1_700_000_000 - 301)


def test_a_changed_body_wrong_secret_or_forged_timestamp_is_rejected() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not verify(b"other", header, BODY, now=1_700_000_000)
    forged = header.replace("t=1700000000", "t=1700000001")
    assert not verify(SECRET, forged, BODY, now=1_700_000_001)


def test_malformed_headers_are_rejected_not_raised() -> None:
    for header in ("", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000"):
        assert not verify(SECRET, header, BODY, now=1_700_000_000)


def test_any_of_several_v1_signatures_may_match_for_secret_rotation() -> None:
    new = sign(SECRET, 1_700_000_000, BODY)
    old = sign(b"old", 1_700_000_000, BODY).split(",")[1]
    assert verify(SECRET, f"{new},{old}", BODY, now=1_700_000_000)
    assert verify(b"old", f"{new},{old}", BODY, now=1_700_000_000)
