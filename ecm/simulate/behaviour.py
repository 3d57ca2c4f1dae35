"""What actually happens on a day: cancellations, changes, and carers' check-ins and -outs.

Each carer (or pair) works a run in order: arrival is the later of the planned start
(plus noise and, sometimes, a long delay) and the end of the previous visit plus the
real travel time, so lateness propagates along a run. A provider's ``quality`` drives
its lateness, missed, short, manual-entry and continuity rates, so providers differ.
Times are UTC epoch seconds; only the caller converts them to local timestamps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ecm.contracts import CancelledBy, CheckMethod
from ecm.simulate.population import Package
from ecm.simulate.rota import Stop

MINUTE = 60
MANUAL_REASONS = (
    "no_signal",
    "app_failure",
    "phone_lost",
    "landline_unavailable",
    "carer_forgot",
    "tag_missing",
)
ELECTRONIC = (CheckMethod.APP_GPS, CheckMethod.TELEPHONY, CheckMethod.NFC, CheckMethod.QR)
ELECTRONIC_WEIGHTS = (0.72, 0.18, 0.06, 0.04)
CHANGE_REASONS = ("client request", "carer availability", "GP appointment", "family visiting")


@dataclass(slots=True)
class Check:
    """One check-in or check-out by one carer, and when it reaches the service."""

    carer_id: str
    checked_in: bool
    at: int
    method: CheckMethod
    delay: int
    gps_m: float | None = None
    bearing: float = 0.0
    reason_code: str | None = None


@dataclass(slots=True)
class Correction:
    """An office coordinator's later correction of a check-out time."""

    carer_id: str
    corrected_time: int
    at: int


@dataclass(slots=True)
class VisitStory:
    """Everything that happens to one visit on the day, planned or unscheduled."""

    visit_id: str
    package: Package
    start: int
    minutes: int
    carers_required: int
    time_critical: bool
    scheduled: bool = True
    change: tuple[int, int, str] | None = None
    """(new start, when changed, reason)."""
    cancel: tuple[CancelledBy, int] | None = None
    checks: list[Check] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    planned_carers: tuple[str, ...] = ()
    """The carers the rota names (empty when the provider does not name them)."""
    recrew: tuple[tuple[str, ...], int] | None = None
    """(carers now planned, when the provider changed the rota to say so)."""
    squeezed_after: str | None = None
    """The visit this one was planned too soon after (deliberately), if it was."""
    cause: str | None = None
    """Why the visit was late or missed (ground truth, never on the wire)."""
    root_cause: str | None = None
    """What started the delay this visit inherited (``cause`` when it is its own)."""

    @property
    def actual_start(self) -> int:
        """The planned start after any change."""
        return self.change[0] if self.change else self.start


@dataclass(frozen=True)
class Rates:
    """Per-provider behaviour rates derived from its quality (0 worst .. 1 best)."""

    quality: float

    @property
    def poor(self) -> float:
        """How far from perfect the provider is."""
        return 1.0 - self.quality

    def late_tail(self, time_critical: bool) -> float:
        """Chance that a carer turns up well after the planned start."""
        return (0.03 + 0.22 * self.poor) * (0.5 if time_critical else 1.0)

    @property
    def missed(self) -> float:
        """Chance a visit is never attended."""
        return 0.001 + 0.03 * self.poor**2

    @property
    def short(self) -> float:
        """Chance a visit lasts under 80% of its planned time."""
        return 0.03 + 0.16 * self.poor

    @property
    def manual(self) -> float:
        """Chance a check is entered manually rather than captured electronically."""
        return 0.03 + 0.18 * self.poor

    @property
    def provider_cancel(self) -> float:
        """Chance the provider itself cancels a visit (counted as missed)."""
        return 0.001 + 0.008 * self.poor

    @property
    def no_checkout(self) -> float:
        """Chance a carer never checks out."""
        return 0.005 + 0.03 * self.poor

    @property
    def single_handed(self) -> float:
        """Chance the second carer of a double-handed visit does not come."""
        return 0.01 + 0.06 * self.poor


def plan_cancellation(rng: random.Random, story: VisitStory, rates: Rates, published: int) -> None:
    """Maybe cancel a visit before it starts (client, council or provider)."""
    roll = rng.random()
    if roll < 0.015:
        by = CancelledBy.CLIENT
    elif roll < 0.018:
        by = CancelledBy.COUNCIL
    elif roll < 0.018 + rates.provider_cancel:
        by = CancelledBy.PROVIDER
    else:
        return
    at = story.actual_start - int(rng.uniform(0.5, 20) * 3600)
    story.cancel = (by, max(at, published + rng.randint(5, 120) * MINUTE))


def plan_change(rng: random.Random, story: VisitStory, published: int) -> None:
    """Maybe move a visit by up to an hour, some time after the rota was published."""
    if rng.random() >= 0.02:
        return
    shift = rng.choice((-60, -45, -30, -15, 15, 30, 45, 60)) * MINUTE
    latest = story.start - 60 * MINUTE
    at = rng.randint(published + 10 * MINUTE, max(latest, published + 11 * MINUTE))
    story.change = (story.start + shift, at, rng.choice(CHANGE_REASONS))


def _method(rng: random.Random, rates: Rates) -> tuple[CheckMethod, str | None]:
    if rng.random() < rates.manual:
        return CheckMethod.MANUAL, rng.choice(MANUAL_REASONS)
    return rng.choices(ELECTRONIC, weights=ELECTRONIC_WEIGHTS)[0], None


def _delay(rng: random.Random, method: CheckMethod) -> int:
    """Seconds between a check and its arrival: manual entries are typed in hours later."""
    if method is CheckMethod.MANUAL:
        return rng.randint(30, 360) * MINUTE
    if rng.random() < 0.02:  # phone offline: the app uploads its buffer later
        return rng.randint(5, 120) * MINUTE
    return int(rng.expovariate(1 / 15))


def make_check(rng: random.Random, rates: Rates, carer_id: str, checked_in: bool, at: int) -> Check:
    """One check with its capture method, GPS drift (app only) and delivery delay."""
    method, reason = _method(rng, rates)
    check = Check(carer_id, checked_in, at, method, _delay(rng, method), reason_code=reason)
    if method is CheckMethod.APP_GPS:
        far = rng.random() < 0.03 + 0.04 * rates.poor
        check.gps_m = rng.uniform(260, 3000) if far else min(240.0, rng.expovariate(1 / 40))
        check.bearing = rng.uniform(0, 360)
    return check


def is_missed(rng: random.Random, rates: Rates) -> bool:
    """Whether the carer never turns up (no check-in at all)."""
    return rng.random() < rates.missed


def intended_arrival(rng: random.Random, story: VisitStory, rates: Rates) -> tuple[int, bool]:
    """When the carer would arrive were they free: the time, and whether they ran late."""
    target = story.actual_start + int(rng.gauss(0, 4) * MINUTE)
    if rng.random() < rates.late_tail(story.time_critical):
        return target + int(rng.expovariate(1 / 25) * MINUTE) + 16 * MINUTE, True
    if rng.random() < 0.04:
        target -= rng.randint(16, 30) * MINUTE
    return target, False


def arrival_time(rng: random.Random, story: VisitStory, rates: Rates, earliest: int) -> int:
    """When the carer checks in: never before they could get there."""
    return max(earliest, intended_arrival(rng, story, rates)[0])


def stay_seconds(rng: random.Random, story: VisitStory, rates: Rates) -> int:
    """How long the carer stays: usually about the planned time, sometimes well short."""
    factor = (
        rng.uniform(0.4, 0.79)
        if rng.random() < rates.short
        else (min(1.2, max(0.82, rng.gauss(0.98, 0.05))))
    )
    return int(story.minutes * MINUTE * factor)


def stop_story(stop: Stop, package: Package, visit_id: str, start: int) -> VisitStory:
    """Build the planned visit for one stop of a run on a day, starting at ``start``."""
    return VisitStory(
        visit_id=visit_id,
        package=package,
        start=start,
        minutes=stop.call.minutes,
        carers_required=package.plan.carers_required,
        time_critical=stop.call.time_critical,
    )
