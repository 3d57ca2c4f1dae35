"""Fuzzing the stream decoder: any bytes, any JSON, never a crash, always a reason.

Whatever arrives on the visit-events topic, the worker either gets a visit event it can
translate or a ``ContractError`` that becomes a dead letter with a reason and failing
fields; nothing else may escape (an escape would be a "processing error", a bug).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecm import contracts as c
from ecm.contracts import examples
from ecm.domain.reference import ReferenceData
from ecm.kafka.records import DeadLetter, decode_visit_event
from ecm.metrics import DeadLetterReason
from ecm.visits.translate import visit_event

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)

VALID = [c.dump_event(e) for e in examples.examples() if isinstance(e, c.VisitEvent)]


def decode_or_dead_letter(value: bytes) -> DeadLetter | c.VisitEvent:
    """What the visit agent does with a message, short of the ledger."""
    try:
        event = decode_visit_event(value)
    except c.ContractError as exc:
        letter = DeadLetter.from_contract_error(exc)
        headers = dict(letter.headers("ecm.visit-events", 0, 1))
        assert headers["ecm-dlq-reason"] == letter.reason.value.encode()
        assert json.loads(headers["ecm-dlq-errors"])  # every failing field, named
        return letter
    visit_event(event, ReferenceData())  # a valid event always translates
    return event


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_an_event_or_a_dead_letter_with_a_reason(value: bytes) -> None:
    decode_or_dead_letter(value)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_is_an_event_or_a_dead_letter_with_a_reason(value: object) -> None:
    decode_or_dead_letter(json.dumps(value).encode())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.text(min_size=1, max_size=20), JSON)
def test_a_valid_event_with_any_field_changed_is_an_event_or_a_dead_letter(
    raw: bytes, key: str, value: object
) -> None:
    data = json.loads(raw)
    target = key if key in data and len(key) % 2 else sorted(data)[len(key) % len(data)]
    data[target] = value
    decode_or_dead_letter(json.dumps(data).encode())


def test_not_json_is_dead_lettered_as_invalid_json() -> None:
    letter = decode_or_dead_letter(b"\xff\xfe not json")
    assert isinstance(letter, DeadLetter) and letter.reason is DeadLetterReason.INVALID_JSON


def test_an_output_event_on_the_input_topic_is_dead_lettered_naming_event_type() -> None:
    outcome = next(e for e in examples.examples() if isinstance(e, c.AlertRaised))
    letter = decode_or_dead_letter(c.dump_event(outcome))
    assert isinstance(letter, DeadLetter) and letter.errors[0]["field"] == "event_type"
