"""Control messages and dead letters: records on the service's topics that are not events.

* A **watermark tick** (replay mode) travels in the visit-events topic, in order with
  the events, to every partition: header ``ecm-control: watermark`` and the instant as
  the value. It lets quiet partitions fire their deadlines in event time.
* A **deadline-due command** (live mode) is sent by a worker's timer to the
  deadline-commands topic, keyed by visit, so the agent that owns the visit re-checks it.
* A **visit fact** carries what one visit (or a carer's rota) tells another about a
  carer they share (docs/rules.md, "At risk") to the deadline-commands topic, keyed by
  the visit it is for: header ``ecm-control: visit-fact``, the domain event as JSON.
* A **dead letter** keeps the original bytes and key of a message that could not be
  processed, with the reason and the failing fields in headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ecm import contracts as c
from ecm.contracts import ContractError
from ecm.domain.events import (
    CarerRunningLate,
    CarerWhereabouts,
    NextVisitPlanned,
    StayQuestioned,
)
from ecm.domain.serial import event_from_dict, event_json
from ecm.metrics import DeadLetterReason

CONTROL_HEADER = "ecm-control"
WATERMARK = "watermark"
FLUSH = "flush"
DEADLINE_DUE = "deadline-due"
VISIT_FACT = "visit-fact"
VISITS_HEARD = "visits-heard"
"""A visit partition's tick passed on to a carer partition (``ecm.visits.gate``)."""
ROTAS_HEARD = "rotas-heard"
"""A carer partition's low watermark passed on to a visit partition (``ecm.visits.gate``)."""
SAID_AT_HEADER = "ecm-said-at"
"""On a schedule event re-keyed to a carer: the watermark when its visit received it."""


def watermark_tick(
    watermark: datetime, flush: bool = False
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Return the value and headers of a watermark tick (``flush``: the end of a replay)."""
    kind = FLUSH if flush else WATERMARK
    return watermark.isoformat().encode(), [(CONTROL_HEADER, kind.encode())]


def gate_tick(kind: str, source: int, instant: datetime) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of a ``VISITS_HEARD`` or ``ROTAS_HEARD`` message from ``source``."""
    return f"{source} {instant.isoformat()}".encode(), [(CONTROL_HEADER, kind.encode())]


def decode_gate_tick(value: bytes) -> tuple[int, datetime]:
    """Inverse of ``gate_tick``: the source partition and the instant it has reached.

    Raises:
        ContractError: not such a message (names the field and the reason).
    """
    try:
        source, instant = value.decode().split(" ", 1)
        at = datetime.fromisoformat(instant)
        if at.tzinfo is None:
            raise ValueError("the instant has no time zone")
        return int(source), at
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError([c.FieldError("(value)", f"not a gate tick: {exc}")]) from None


def deadline_due(now: datetime) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Return the value and headers of a deadline-due command checked at ``now``."""
    return now.isoformat().encode(), [(CONTROL_HEADER, DEADLINE_DUE.encode())]


def visit_fact(fact: CarerWhereabouts) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Return the key, value and headers of a fact for another visit's partition."""
    return fact.visit_id.encode(), event_json(fact), [(CONTROL_HEADER, VISIT_FACT.encode())]


def decode_visit_fact(value: bytes) -> CarerWhereabouts:
    """Decode a visit fact (``visit_fact``'s value).

    Raises:
        ContractError: not a visit fact (names the field and the reason).
    """
    try:
        fact = event_from_dict(json.loads(value))
    except (ValueError, KeyError, TypeError) as exc:
        raise ContractError([c.FieldError("(event)", f"not a visit fact: {exc}")]) from None
    if not isinstance(fact, NextVisitPlanned | CarerRunningLate | StayQuestioned):
        raise ContractError([c.FieldError("type", f"{type(fact).__name__} is not a visit fact")])
    return fact


def control_kind(headers: Mapping[str, bytes] | Sequence[tuple[str, bytes]] | None) -> str | None:
    """Return the control kind of a record (``watermark``, ``deadline-due``) or ``None``."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name == CONTROL_HEADER:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def control_instant(value: bytes) -> datetime:
    """Decode the instant carried by a control message (always timezone-aware)."""
    instant = datetime.fromisoformat(value.decode())
    if instant.tzinfo is None:
        raise ValueError("control message instant has no UTC offset")
    return instant


@dataclass(frozen=True)
class DeadLetter:
    """Why a message was set aside: a short reason code and the failing fields."""

    reason: DeadLetterReason
    errors: list[dict[str, str]]

    @classmethod
    def from_contract_error(cls, error: ContractError) -> DeadLetter:
        """Classify a contract error: not JSON, unknown event type, or invalid fields."""
        errors = error.as_dicts()
        if any("JSON" in e["reason"] and e["field"] == "(event)" for e in errors):
            reason = DeadLetterReason.INVALID_JSON
        elif {e["field"] for e in errors} == {"event_type"}:
            reason = DeadLetterReason.UNKNOWN_EVENT_TYPE
        else:
            reason = DeadLetterReason.SCHEMA_INVALID
        return cls(reason, errors)

    @classmethod
    def from_refusal(cls, field: str, reason: str) -> DeadLetter:
        """A valid act the workflow refuses (docs/rules.md, "Closing the loop"): kept, with why."""
        return cls(DeadLetterReason.REFUSED, [{"field": field, "reason": reason}])

    @classmethod
    def from_failure(cls, error: Exception) -> DeadLetter:
        """A valid event that processing failed on (a bug): kept, never dropped."""
        return cls(DeadLetterReason.PROCESSING_ERROR,
                   [{"field": "(event)", "reason": f"{type(error).__name__}: {error}"}])

    def headers(self, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
        """Headers carrying the reason, the errors and where the message came from."""
        return [
            ("ecm-dlq-reason", self.reason.value.encode()),
            ("ecm-dlq-errors", json.dumps(self.errors).encode()),
            ("ecm-dlq-source", f"{topic}/{partition}/{offset}".encode()),
        ]


def decode_visit_event(value: bytes) -> c.VisitEvent:
    """Decode a message of the visit-events topic: schedule, call and workflow events only.

    Raises:
        ContractError: not a valid contract event, or not a visit event.
    """
    event = c.parse_event(value)
    if not isinstance(event, c.VisitEvent):
        reason = f"{event.event_type} does not belong on the visit-events topic"
        raise c.ContractError([c.FieldError("event_type", reason)])
    return event
