"""Contract-v1 events for one simulated day, each with the time it reaches the service."""

from __future__ import annotations

from collections.abc import Iterator

from ecm.contracts import (
    CallTimeCorrected,
    CarerCheckedIn,
    CarerCheckedOut,
    CheckMethod,
    ContractEvent,
    Location,
    VisitCancelled,
    VisitChanged,
    VisitChangedV2,
    VisitPlanned,
    VisitPlannedV2,
)
from ecm.simulate.behaviour import Check, VisitStory
from ecm.simulate.clock import to_local
from ecm.simulate.day import DayPlan
from ecm.simulate.geo import offset
from ecm.simulate.reference import package_agreed
from ecm.simulate.truth import names_planned_carers

Arrival = tuple[float, ContractEvent]
"""When an event reaches the service (epoch seconds), and the event."""


def planned(story: VisitStory, published: int) -> VisitPlanned:
    """Build the rota entry for a visit, published the day before.

    Version 2, naming the planned carers, for the providers that name them.
    """
    p = story.package
    fields = dict(
        event_id=f"{story.visit_id}.plan",
        occurred_at=to_local(published),
        provider_id=p.provider_id,
        visit_id=story.visit_id,
        client_id=p.client.client_id,
        service=p.service,
        tier=p.tier,
        package_id=p.package_id,
        planned_start=to_local(story.start),
        planned_end=to_local(story.start + story.minutes * 60),
        carers_required=story.carers_required,
        time_critical=story.time_critical,
    )
    if names_planned_carers(p.provider_id) and story.planned_carers:
        return VisitPlannedV2(**fields, planned_carer_ids=story.planned_carers)
    return VisitPlanned(**fields)


def recrewed(story: VisitStory) -> VisitChangedV2:
    """Build the rota change naming the carers who stand in for one who did not turn up."""
    assert story.recrew is not None
    carers, at = story.recrew
    start = story.change[0] if story.change is not None and story.change[1] <= at else story.start
    return VisitChangedV2(
        event_id=f"{story.visit_id}.crew",
        occurred_at=to_local(at),
        provider_id=story.package.provider_id,
        visit_id=story.visit_id,
        planned_start=to_local(start),
        planned_end=to_local(start + story.minutes * 60),
        carers_required=story.carers_required,
        time_critical=story.time_critical,
        reason="planned carer unavailable",
        planned_carer_ids=carers,
    )


def changed(story: VisitStory) -> VisitChanged:
    """Build the event moving a visit to new times after the rota was published."""
    assert story.change is not None
    start, at, reason = story.change
    return VisitChanged(
        event_id=f"{story.visit_id}.chg",
        occurred_at=to_local(at),
        provider_id=story.package.provider_id,
        visit_id=story.visit_id,
        planned_start=to_local(start),
        planned_end=to_local(start + story.minutes * 60),
        carers_required=story.carers_required,
        time_critical=story.time_critical,
        reason=reason,
    )


def cancelled(story: VisitStory) -> VisitCancelled:
    """Build the event calling a visit off before it started."""
    assert story.cancel is not None
    by, at = story.cancel
    return VisitCancelled(
        event_id=f"{story.visit_id}.cxl",
        occurred_at=to_local(at),
        provider_id=story.package.provider_id,
        visit_id=story.visit_id,
        cancelled_by=by,
        reason=f"synthetic: cancelled by {by.value}",
    )


def check_event(story: VisitStory, check: Check) -> CarerCheckedIn | CarerCheckedOut:
    """Build a carer's check-in or check-out, with the phone's position for app checks."""
    location = None
    if check.method is CheckMethod.APP_GPS and check.gps_m is not None:
        lat, lon = offset(*story.package.client.location, check.gps_m, check.bearing)
        location = Location(lat=round(lat, 6), lon=round(lon, 6), accuracy_m=12.0)
    model = CarerCheckedIn if check.checked_in else CarerCheckedOut
    suffix = "in" if check.checked_in else "out"
    return model(
        event_id=f"{story.visit_id}.{suffix}.{check.carer_id}",
        occurred_at=to_local(check.at),
        provider_id=story.package.provider_id,
        visit_id=story.visit_id,
        client_id=story.package.client.client_id,
        carer_id=check.carer_id,
        method=check.method,
        location=location,
        reason_code=check.reason_code,
    )


def story_events(story: VisitStory, published: int) -> Iterator[Arrival]:
    """Every event of one visit, with its arrival time."""
    if story.scheduled:
        yield published, planned(story, published)
    if story.change is not None:
        yield story.change[1], changed(story)
    if story.recrew is not None and names_planned_carers(story.package.provider_id):
        yield story.recrew[1], recrewed(story)
    if story.cancel is not None:
        yield story.cancel[1], cancelled(story)
    for check in story.checks:
        yield check.at + check.delay, check_event(story, check)
    for fix in story.corrections:
        yield (
            fix.at,
            CallTimeCorrected(
                event_id=f"{story.visit_id}.fix.{fix.carer_id}",
                occurred_at=to_local(fix.at),
                provider_id=story.package.provider_id,
                visit_id=story.visit_id,
                carer_id=fix.carer_id,
                corrects="check_out",
                corrected_time=to_local(fix.corrected_time),
                reason_code="office_correction",
                corrected_by=f"U-{story.package.provider_id}-office",
            ),
        )


def day_events(plan: DayPlan) -> Iterator[Arrival]:
    """Every event of a day: D2A episodes agreed, then each visit's events."""
    for episode in plan.new_episodes:
        at = plan.published[episode.provider_id] - 60
        yield at, package_agreed(episode, to_local(at))
    for story in plan.stories:
        yield from story_events(story, plan.published[story.package.provider_id])
