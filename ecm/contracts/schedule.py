"""The planned rota: visits planned, changed and cancelled by providers."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from ecm.contracts.common import CancelledBy, ContractEvent, Identifier, Service, Tier


class _PlannedTimes(ContractEvent):
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    carers_required: int = Field(default=1, ge=1, le=4)
    time_critical: bool = Field(default=False, description="e.g. medication: tighter window.")

    @model_validator(mode="after")
    def _end_after_start(self) -> _PlannedTimes:
        if self.planned_end <= self.planned_start:
            raise ValueError("planned_end: must be after planned_start")
        if (self.planned_end - self.planned_start).total_seconds() > 24 * 3600:
            raise ValueError("planned_end: a planned visit cannot last more than 24 hours")
        return self


class VisitPlanned(_PlannedTimes):
    """A visit on the rota: who is visited, when, for which service, by how many carers."""

    event_type: Literal["visit_planned"] = "visit_planned"
    provider_id: Identifier
    visit_id: Identifier
    client_id: Identifier
    service: Service
    tier: Tier = Tier.STANDARD
    package_id: Identifier | None = None


class VisitChanged(_PlannedTimes):
    """New planned times (and carers) for a visit already planned; replaces the old ones."""

    event_type: Literal["visit_changed"] = "visit_changed"
    provider_id: Identifier
    visit_id: Identifier
    reason: str | None = Field(default=None, max_length=500)


class VisitCancelled(ContractEvent):
    """A visit called off before it happened, with who cancelled it."""

    event_type: Literal["visit_cancelled"] = "visit_cancelled"
    provider_id: Identifier
    visit_id: Identifier
    cancelled_by: CancelledBy
    reason: str | None = Field(default=None, max_length=500)
