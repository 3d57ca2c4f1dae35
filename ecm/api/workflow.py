"""Checking an act against stored state before it is published (closing the loop).

The rules are ``ecm.domain.workflow``'s, applied here to what the database says now so a
person gets a clear refusal at once; the visit engine applies the same rules again in
event-time order (what it refuses goes to the dead-letter topic). Refusals map to
answers: who may not act, 403 (logged); the item's state forbids it, 409; a code or note
the council's list refuses, 422 — each naming the field and the reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request

from ecm.api.auth import Principal, refuse
from ecm.api.errors import Conflict, NotFound, Unavailable, ValidationFailed
from ecm.api.ingest import publish
from ecm.api.keys import Role
from ecm.api.readmodel import answered
from ecm.api.workflowreads import WorkflowReads
from ecm.contracts import ActorRole, ContractEvent
from ecm.domain.calendar import LONDON
from ecm.domain.workflow import (
    Act,
    AlertHandling,
    AlertTier,
    CodeList,
    CodePurpose,
    Refused,
    check_code,
    may,
)

audit_log = logging.getLogger("ecm.api.audit")
_NAMESPACE = uuid.UUID("6f1e0c1a-6c3b-4b8e-9a51-0c2f3d1e7a10")


def now() -> datetime:
    """The API's clock (an adapter: the only place the routes read the time)."""
    return datetime.now(UTC)


def act_id(given: str | None, *parts: str) -> str:
    """The act's event id: the sender's (per item: derived from it), else a fresh uuid."""
    if given is None:
        return str(uuid.uuid4())
    return given if not parts else str(uuid.uuid5(_NAMESPACE, "|".join((given, *parts))))


def workflow_reads(request: Request) -> WorkflowReads:
    """The workflow read port of the app, or 503 when no database is configured."""
    reads: WorkflowReads | None = getattr(request.app.state, "workflow", None)
    if reads is None:
        raise Unavailable("no database configured", 30)
    return reads


guard = answered
"""Await a read (503 when the database is down; ``ecm.api.readmodel.answered``)."""


def conflict(exc: Refused) -> Conflict:
    """409 naming the field and why the item's state refuses the act."""
    return Conflict(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}])


def invalid(exc: Refused) -> ValidationFailed:
    """422 naming the field (a code, a note) and why."""
    return ValidationFailed(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}])


def actor_role(principal: Principal) -> ActorRole:
    """The contract's role of the caller."""
    return ActorRole(principal.role.value)


def allow(principal: Principal, request: Request, act: Act) -> None:
    """403 (logged) unless the caller's role may do ``act`` (``ecm.domain.workflow.MAY``)."""
    if not may(principal.role.value, act):
        raise refuse(principal, request, f"role {principal.role.value} may not {act.value}")


def own(principal: Principal, request: Request, provider_id: str, **detail: str) -> None:
    """403 (logged) when a provider acts on another provider's item."""
    if principal.role is Role.PROVIDER and provider_id != principal.provider_id:
        raise refuse(principal, request, "act on another provider's item",
                     attempted_provider=provider_id, **detail)


def readable(
    principal: Principal, request: Request, row: dict[str, Any] | None, what: str, item: str
) -> dict[str, Any]:
    """The row, or 404 when unknown or another provider's (the latter logged)."""
    if row is None:
        raise NotFound(f"no such {what}")
    if not principal.may_read(row["provider_id"]):
        refuse(principal, request, f"read of another provider's {what}", item=item)
        raise NotFound(f"no such {what}")
    return row


def checked_code(
    codes: CodeList | None, purpose: CodePurpose, code: str, note: str | None, *,
    field: str, kind: str | None = None,
) -> None:  # fmt: skip
    """422 unless the council's list has ``code`` for ``purpose`` (with its note if needed)."""
    try:
        check_code(codes, purpose, code, note, field=field, kind=kind)
    except Refused as exc:
        raise invalid(exc) from None


def local_day(at: datetime) -> date:
    """The Europe/London day of ``at`` (the code list in force is that day's)."""
    return at.astimezone(LONDON).date()


def handling(row: dict[str, Any]) -> AlertHandling:
    """The domain's view of a stored alert's handling."""
    return AlertHandling(
        tier=AlertTier(row.get("tier") or AlertTier.PROVIDER_ON_CALL.value),
        acknowledged_at=row.get("acknowledged_at"),
        acknowledged_by=row.get("acknowledged_by"),
        closed_at=row.get("closed_at"),
        outcome_code=row.get("outcome_code"),
        monitor_only=bool(row.get("monitor_only")),
    )


async def send(request: Request, events: Sequence[ContractEvent], principal: Principal) -> None:
    """Publish and wait for Kafka's acknowledgement (else 503); audit each act."""
    retry = int(request.app.state.settings.api.retry_after_seconds)
    await publish(request.app.state.publisher, events, retry)
    request.app.state.metrics.events_accepted("workflow", len(events))
    for event in events:
        audit_log.info("act accepted", extra={
            "event_type": getattr(event, "event_type", ""), "act_event_id": event.event_id,
            "by": getattr(event, "by", getattr(event, "set_by", "")),
            "key_id": principal.key_id, "subject": _subject(event)})  # fmt: skip


def _subject(event: ContractEvent) -> str:
    for name in ("exception_id", "alert_id", "correction_event_id", "monitoring_id", "visit_id"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            return value
    return ""
