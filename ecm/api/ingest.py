"""Accepting events: validate each, check who may send it, publish, report per item.

What is checked before anything is published:

1. each event against contract v1 (every failing field named);
2. the event type: providers send schedule and call events; reference data comes from
   admins; outputs (outcomes, alerts, exceptions) are never accepted from outside;
3. for a provider key, the event's ``provider_id`` is the key's provider, the visit is
   not known as another provider's, and no carer it names (a call's ``carer_id``, a
   schedule event's ``planned_carer_ids``) is known as employed only by other providers
   (``ecm.api.ownership``: from memory, kept current from the topics). Any such attempt
   refuses the whole request with 403 naming the field (``events[i].`` before it in a
   batch) and is logged as a security event.

Each item is validated once, by the contract's model, from the request's bytes (a single
event) or from the decoded batch. Valid items are then published together and answered
only once Kafka acknowledged all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from fastapi import Request

from ecm.api.auth import Principal, refuse
from ecm.api.errors import Unavailable
from ecm.api.keys import Role
from ecm.api.ownership import Owners, Ownership, OwnershipUnavailable, foreign, owned_ids
from ecm.contracts import (
    CallTimeCorrected,
    CarerCheckedIn,
    CarerCheckedOut,
    ContractError,
    ContractEvent,
    Event,
    FieldError,
    LotDefined,
    ProviderRegistered,
    VisitCancelled,
    VisitChanged,
    VisitPlanned,
    parse_event,
)
from ecm.contracts import (
    CarePackageAgreed as _Package,
)
from ecm.contracts import (
    CarerRegistered as _Carer,
)
from ecm.contracts import (
    ClientRegistered as _Client,
)
from ecm.contracts import (
    ContractRulesSet as _Rules,
)
from ecm.contracts import (
    RateCardPublished as _Rates,
)
from ecm.producer import EventPublisher, PublishError

VISIT_TYPES = (VisitPlanned, VisitChanged, VisitCancelled, CarerCheckedIn, CarerCheckedOut,
               CallTimeCorrected)
REFERENCE_TYPES = (LotDefined, ProviderRegistered, _Client, _Carer, _Package, _Rates, _Rules)


@cache
def _kind(event_type: type[ContractEvent]) -> Literal["visit", "reference", "output"]:
    """Whether an event type is about visits, reference data, or the service's output.

    Answered once per class (as ``ecm.topics.route``): ``isinstance`` that fails on a
    pydantic model costs ~0.4 µs, and each item was checked against up to 13 of them.
    """
    if issubclass(event_type, VISIT_TYPES):
        return "visit"
    return "reference" if issubclass(event_type, REFERENCE_TYPES) else "output"


@dataclass
class ItemResult:
    """The fate of one submitted item."""

    index: int
    event_id: str | None
    status: str = "accepted"
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Checked:
    """Valid events (with their item indexes) and every item's result."""

    events: list[tuple[int, Event]]
    results: list[ItemResult]


def _event_id(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


def validate_items(raw_items: Sequence[Any]) -> Checked:
    """Parse every item (decoded JSON or JSON bytes); reject invalid ones, outputs, repeats."""
    checked = Checked([], [])
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        result = ItemResult(index, _event_id(raw))
        checked.results.append(result)
        try:
            event = parse_event(raw if isinstance(raw, dict | bytes) else {})
            if _kind(type(event)) == "output":
                raise ContractError([FieldError("event_type", "emitted by the service only")])
            if event.event_id in seen:
                raise ContractError([FieldError("event_id", "repeated within this request")])
        except ContractError as exc:
            result.status, result.errors = "rejected", exc.as_dicts()
            continue
        seen.add(event.event_id)
        checked.events.append((index, event))
    return checked


async def authorise(
    principal: Principal, request: Request, events: Sequence[Event], ownership: Ownership,
    *, indexes: Sequence[int] | None = None,
) -> None:
    """Raise 403 (logged) unless ``principal`` may submit every one of ``events``.

    ``indexes`` are the events' places in a batch's ``events`` list: a refusal then names
    the field as ``events[i].field``; without them (a single event), as ``field``.
    """
    if principal.role is Role.ADMIN:
        return
    where = [f"events[{i}]." for i in indexes] if indexes is not None else [""] * len(events)
    for at, event in zip(where, events, strict=True):
        if _kind(type(event)) != "visit":
            raise refuse(principal, request, "reference data is submitted by admins only",
                         field=f"{at}event_type")
        provider_id = str(getattr(event, "provider_id", ""))  # every visit event has one
        if provider_id != principal.provider_id:
            raise refuse(principal, request, "event for another provider",
                         field=f"{at}provider_id", attempted_provider=provider_id,
                         event_id=event.event_id)
    owners = await known_owners(ownership, events)
    for at, event in zip(where, events, strict=True):
        found = foreign(event, owners, principal.provider_id)
        if found:
            name, reason = found[0]
            raise refuse(principal, request, reason, field=f"{at}{name}",
                         event_id=event.event_id)


async def known_owners(ownership: Ownership, events: Sequence[ContractEvent]) -> Owners:
    """The owners of the events' visits and carers, or 503 when they cannot be told."""
    try:
        return await ownership.owners(*owned_ids(events))
    except OwnershipUnavailable as exc:
        raise Unavailable(f"ownership could not be checked ({exc}); nothing was accepted; "
                          "retry the same request later", 5) from None


async def publish(
    publisher: EventPublisher, events: Sequence[ContractEvent], retry_after: int
) -> None:
    """Publish and wait for every acknowledgement, or raise 503 with Retry-After."""
    try:
        await publisher.publish(events)
    except PublishError:
        raise Unavailable(
            "the event broker did not acknowledge the events; nothing may be assumed "
            "accepted; retry the same request (same event_id values) later",
            retry_after,
        ) from None
