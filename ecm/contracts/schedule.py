"""The planned rota: visits planned, changed and cancelled by providers.

Version 2 of ``visit_planned`` and ``visit_changed`` may name the carers planned for the
visit (``planned_carer_ids``); version 1 says nothing of them, so a version 1 reader keeps
reading every visit a provider plans without naming carers.
"""

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


def _check_planned_carers(carers: tuple[str, ...] | None, required: int) -> None:
    if carers is None:
        return
    if len(set(carers)) != len(carers):
        raise ValueError("planned_carer_ids: names a carer more than once")
    if len(carers) > required:
        raise ValueError(
            f"planned_carer_ids: names {len(carers)} carers for a visit that needs {required}")


class VisitPlannedV2(VisitPlanned):
    """A visit on the rota (schema version 2: the carers planned for it may be named).

    ``planned_carer_ids`` names up to ``carers_required`` carers, each once; fewer (or
    none) when the provider has not yet decided who goes.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    planned_carer_ids: tuple[Identifier, ...] = Field(
        default=(), description="Carers planned for the visit, at most carers_required.")

    @model_validator(mode="after")
    def _carers_fit(self) -> VisitPlannedV2:
        _check_planned_carers(self.planned_carer_ids, self.carers_required)
        return self


class VisitChangedV2(VisitChanged):
    """New planned times for a visit (schema version 2: and, if named, its planned carers).

    ``planned_carer_ids`` absent (``null``) keeps the carers planned before; a list,
    even an empty one, replaces them.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    planned_carer_ids: tuple[Identifier, ...] | None = Field(
        default=None, description="The carers now planned (replacing the old ones); "
        "absent: unchanged.")

    @model_validator(mode="after")
    def _carers_fit(self) -> VisitChangedV2:
        _check_planned_carers(self.planned_carer_ids, self.carers_required)
        return self
