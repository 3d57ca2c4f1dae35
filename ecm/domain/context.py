"""What a visit is judged against: its local day and week, lot, service and rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ecm.domain.calendar import iso_week_of_date, local_date
from ecm.domain.reference import ClientRecord, ReferenceData
from ecm.domain.rules import Policy
from ecm.domain.visit import VisitFacts


@dataclass(frozen=True, slots=True)
class VisitContext:
    """Reference data resolved for one visit on its local day."""

    anchor: datetime
    day: date
    week: str
    provider_id: str
    client_id: str
    lot_id: str | None
    service: str | None
    tier: str | None
    client: ClientRecord | None
    policy: Policy


def context_of(facts: VisitFacts, reference: ReferenceData) -> VisitContext | None:
    """Resolve the visit's context, or ``None`` for a visit with neither plan nor calls.

    A visit belongs to the day and week of its planned start, or (unscheduled) of its
    first check-in. Its lot is its care package's lot, else the client's registered lot.
    """
    plan, call = facts.plan, facts.first_call
    service: str | None
    tier: str | None
    if plan is not None:
        anchor, provider_id, client_id = plan.start, plan.provider_id, plan.client_id
        service, tier = plan.service, plan.tier
    elif call is not None:
        anchor = facts.first_check_in or call.occurred_at
        provider_id, client_id = call.provider_id, call.client_id
        service = tier = None
    else:
        return None
    day = local_date(anchor)
    client = reference.client(client_id, day)
    lot_id = client.lot_id if client else None
    package = reference.package(plan.package_id, day) if plan and plan.package_id else None
    if package is not None:
        lot_id = package.lot_id
    if plan is None:
        service, tier, lot_id = _unscheduled_service(reference, provider_id, client_id, day, lot_id)
    return VisitContext(
        anchor=anchor,
        day=day,
        week=iso_week_of_date(day),
        provider_id=provider_id,
        client_id=client_id,
        lot_id=lot_id,
        service=service,
        tier=tier,
        client=client,
        policy=reference.policy(lot_id, service, day),
    )


def _unscheduled_service(
    reference: ReferenceData, provider_id: str, client_id: str, day: date, lot_id: str | None
) -> tuple[str | None, str | None, str | None]:
    # An unscheduled visit takes the service of the client's package with that provider
    # (the lowest package id if there are several), so it lands in the right KPI row.
    for package_id in reference.package_ids_for(client_id, provider_id):
        package = reference.package(package_id, day)
        if package and (package.client_id, package.provider_id) == (client_id, provider_id):
            return package.service, package.tier, package.lot_id
    return None, None, lot_id
