"""At risk: knowing that a planned carer cannot be on time before the visit is late.

A carer's whereabouts are facts of the visits they are at, so two visits take part, each
judged on its own at its own watermark (docs/rules.md, "At risk"):

* The visit ``P`` a carer is planned at just before visit ``V`` on their rota knows
  (``NextVisitPlanned``, from the carer's rota) the latest instant the carer can leave
  ``P`` and still reach ``V`` within its on-time window: ``leave_by`` = ``V``'s planned
  start + the window - the travel between the two homes. ``P``'s judgement finds the
  first instant at which the carer can no longer make it (``onward``): checked in at
  ``P`` so late that even the shortest stay that is not a short visit ends after
  ``leave_by`` (known at the check-in); still checked in at ``P`` at ``leave_by``; or no
  sign of the carer at ``P`` (no check-in, no check-out) by ``leave_by``. At that instant
  ``P`` tells ``V`` (``CarerRunningLate``).
* ``V`` raises ``at_risk`` at that instant (``ecm.domain.deadlines``), unless someone had
  checked in or it was excused by then; a check-in, a cancellation, a frustrated visit or
  a rota change resolves it.

Pure: the instant of judgement and the rota are parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from functools import lru_cache

from ecm.domain.calls import CarerCalls
from ecm.domain.context import context_of
from ecm.domain.deadlines import minutes, passed
from ecm.domain.events import CarerRunningLate, NextVisitPlanned
from ecm.domain.reference import ReferenceData
from ecm.domain.rota import CarerRota
from ecm.domain.rules import Policy
from ecm.domain.travel import client_travel
from ecm.domain.visit import AlertMemory, Plan, VisitFacts, known_at

ONWARD = "onward"
"""The kind of a wake-up for an onward warning to send."""
HELD = "held"
"""The kind of an onward warning due but held back until the gate moves (its index)."""
ONWARD_PREFIX = f"{ONWARD}:"
"""How a carer's onward warning is remembered among a visit's alerts (sent at most once)."""


class Reason(StrEnum):
    """Why a carer cannot reach their next visit on time."""

    STILL_CHECKED_IN = "still_checked_in"
    """Still checked in here when they had to leave."""
    CHECKED_IN_LATE = "checked_in_late"
    """Checked in here so late that the shortest acceptable stay ends after they had to leave."""
    NOT_ARRIVED = "not_arrived_before"
    """No sign of the carer here (no check-in or check-out) when they had to leave.

    Not earlier (when only the shortest stay was left): a check-in entered by hand
    arrives hours after it happened, so its absence then says little (docs/rules.md)."""


@dataclass(frozen=True, slots=True)
class Onward:
    """One planned carer's way from this visit to their next, and when it is lost.

    ``due_at`` is the first instant at which, as the facts stand, the carer can no longer
    reach the next visit on time; ``fires`` whether that still holds at ``due_at``.
    """

    carer_id: str
    next_visit: NextVisitPlanned
    leave_by: datetime
    due_at: datetime
    fires: bool
    reason: Reason

    @property
    def key(self) -> str:
        """Its name among the visit's remembered alerts: one warning per carer and visit."""
        return f"{ONWARD_PREFIX}{self.carer_id}:{self.next_visit.next_visit_id}"

    @property
    def decided_at(self) -> datetime:
        """The event time by which the warning is due and its word was in force.

        Everything said about the carer's rota before this instant decides whether it
        is sent; a worker may send it only once it has heard all of that (``gate``).
        """
        said = self.next_visit.said_at
        return self.due_at if said is None or said <= self.due_at else said


def leave_by(next_start: datetime, window_minutes: int, travel_seconds: int) -> datetime:
    """The latest instant to leave and still arrive within the next visit's on-time window."""
    return next_start + minutes(window_minutes) - timedelta(seconds=travel_seconds)


def shortest_stay(plan: Plan, policy: Policy) -> timedelta:
    """The shortest stay that is not a short visit: the planned time x ``short_visit_ratio``."""
    return _shortest_stay(plan.seconds, policy.short_visit_ratio)


@lru_cache(maxsize=4096)
def _shortest_stay(planned_seconds: int, short_visit_ratio: Decimal) -> timedelta:
    # Asked for every instant of every onward journey, of a few planned lengths.
    share = (Decimal(planned_seconds) * short_visit_ratio).to_integral_value(ROUND_CEILING)
    return timedelta(seconds=int(share))


def onward(facts: VisitFacts, policy: Policy) -> list[Onward]:
    """The onward journeys of this visit's planned carers to their next visits.

    Only for a planned visit that still names the carer, and whose carer has a next visit
    with a known ``leave_by`` (travel estimated). A carer who checked out, or a visit
    cancelled (by anyone) or frustrated, by the instant does not fire.

    Every word the rota said about the carer counts while it was in force: from its
    ``said_at`` until the next word's. A word's journey fires only if it was lost before
    the next word was said (a rota change that came first replaced it), so what fires does
    not depend on when the words reached this visit. Of the journeys to one next visit
    that fire, the first decided (``Onward.decided_at``) is the one warning sent.
    """
    plan = facts.plan
    if plan is None:
        return []
    found: dict[str, Onward] = {}
    for carer_id, words in sorted(facts.next_visits.items()):
        if carer_id not in plan.planned_carer_ids:
            continue
        for word, later in zip(words, [*words[1:], None], strict=True):
            if word.next_visit_id is None or word.leave_by is None or word.next_start is None:
                continue
            line = _first_lost(facts, plan, policy, word, word.leave_by)
            if later is not None and not _in_force(line.due_at, later.said_at):
                line = replace(line, fires=False)  # the rota had changed before it was due
            kept = found.get(line.key)
            if kept is None or _sooner(line, kept):
                found[line.key] = line
    return list(found.values())


def _in_force(due_at: datetime, next_said_at: datetime | None) -> bool:
    """Whether a word was still in force at ``due_at`` (the next one said after it)."""
    return next_said_at is not None and due_at < next_said_at


def _sooner(line: Onward, than: Onward) -> bool:
    """Whether ``line`` is the warning to send rather than ``than`` (same next visit).

    One that fires before one that does not; of two that fire, the first decided; at the
    same instant, a word that came after its journey was lost (decided when said)
    before one decided by its due time, as a replay sees them.
    """
    if line.fires != than.fires:
        return line.fires
    if not line.fires:
        return True  # neither fires: the latest word says where the carer goes
    return _decision_order(line) < _decision_order(than)


def _decision_order(line: Onward) -> tuple[datetime, bool, int]:
    return (line.decided_at, line.decided_at == line.due_at, line.next_visit.seq)


def _first_lost(
    facts: VisitFacts, plan: Plan, policy: Policy, nxt: NextVisitPlanned, leave: datetime
) -> Onward:
    """The journey as judged at the first instant, with what ecm knew then, it was lost.

    A fact received late (a check-in entered by hand hours after it happened) cannot
    change what was known before it arrived; so each instant at which ecm learned
    something, and ``leave_by``, is judged with what was known then, whenever the word
    of the next visit arrived. Without it a replay and the workers could disagree.
    """
    earliest = leave - shortest_stay(plan, policy)  # no way on is lost before
    for instant in sorted({leave, *(t for t in facts.known.values() if t >= earliest)}):
        view = known_at(facts, instant)
        if view is facts:
            break  # everything was known by then: judged below
        if view.plan is None:
            continue
        line = _onward(view, view.plan, policy, nxt, leave)
        if line.fires and line.due_at <= instant:
            return line
    return _onward(facts, plan, policy, nxt, leave)


def _onward(
    facts: VisitFacts, plan: Plan, policy: Policy, nxt: NextVisitPlanned, leave: datetime
) -> Onward:
    stay = shortest_stay(plan, policy)
    calls = facts.carers.get(nxt.carer_id) or CarerCalls(nxt.carer_id)
    if calls.check_in is not None and calls.in_known_at is not None:
        if calls.check_in + stay > leave:
            due, reason = max(calls.in_known_at, calls.check_in), Reason.CHECKED_IN_LATE
        else:
            due, reason = leave, Reason.STILL_CHECKED_IN
        out = calls.out_known_at
        return Onward(nxt.carer_id, nxt, leave, due, out is None or out > due, reason)
    stopped = [t for t in (facts.excuse_at(), _cancelled_at(facts), _frustrated_at(facts),
                           calls.out_known_at) if t is not None]
    fires = not any(t <= leave for t in stopped)
    return Onward(nxt.carer_id, nxt, leave, leave, fires, Reason.NOT_ARRIVED)


def _cancelled_at(facts: VisitFacts) -> datetime | None:
    """Any cancellation counts here: a carer not going to this visit is free for the next."""
    return facts.cancellation.occurred_at if facts.cancellation is not None else None


def _frustrated_at(facts: VisitFacts) -> datetime | None:
    return facts.frustration.occurred_at if facts.frustration is not None else None


def running_late(facts: VisitFacts, line: Onward) -> CarerRunningLate:
    """The report this visit sends the carer's next visit when ``line`` fires."""
    nxt = line.next_visit
    assert nxt.next_visit_id is not None and nxt.next_start is not None
    return CarerRunningLate(
        event_id=f"late:{nxt.next_visit_id}:{line.carer_id}:{facts.visit_id}",
        occurred_at=line.due_at, visit_id=nxt.next_visit_id,
        provider_id=nxt.next_provider_id or "", carer_id=line.carer_id,
        from_visit_id=facts.visit_id, planned_start=nxt.next_start, reason=line.reason.value,
    )


@dataclass(frozen=True, slots=True)
class NextStop:
    """A carer's next visit on their rota after one visit, as the rota says it."""

    visit_id: str
    provider_id: str
    planned_start: datetime
    window_minutes: int
    travel_seconds: int | None
    """``None``: a home's location is unknown, so no time to leave by is known."""


def next_visit_event(
    carer_id: str, visit_id: str, provider_id: str, nxt: NextStop | None, occurred_at: datetime,
    seq: int = 1, said_at: datetime | None = None,
) -> NextVisitPlanned:
    """The event that tells ``visit_id`` where ``carer_id`` goes next (``None``: nowhere).

    ``seq`` counts the words sent to the visit about the carer: each is in force from its
    ``said_at`` until the next. Its id names the visit, the carer, ``seq`` and a digest of
    what it says, so a resend of the same word has the same id.
    """
    if nxt is None or nxt.travel_seconds is None:
        digest = _digest((None,))
        return NextVisitPlanned(f"next:{visit_id}:{carer_id}:{seq}:{digest}", occurred_at,
                                visit_id, provider_id, carer_id, seq, said_at=said_at)
    leave = leave_by(nxt.planned_start, nxt.window_minutes, nxt.travel_seconds)
    digest = _digest((nxt.visit_id, nxt.planned_start.isoformat(), leave.isoformat()))
    return NextVisitPlanned(f"next:{visit_id}:{carer_id}:{seq}:{digest}", occurred_at,
                            visit_id, provider_id, carer_id, seq, nxt.visit_id,
                            nxt.provider_id, nxt.planned_start, leave, said_at)


def _digest(said: tuple[object, ...]) -> str:
    return hashlib.blake2b(repr(said).encode(), digest_size=6).hexdigest()


def fire_onward(
    lines: Iterable[Onward], memory: AlertMemory, watermark: datetime, inclusive: bool,
    gate: datetime | None = None,
) -> tuple[list[Onward], AlertMemory]:
    """The onward warnings the watermark passed, each at most once (``memory`` says which).

    ``gate`` (workers replaying an extract): the event time up to which every word of the
    carers' rotas has reached the visit; a warning decided later waits (``held``).

    Returns:
        The lines newly fired, in the order of their instants (a next visit raises its
        warning at the first report it receives: two carers of a double-handed visit,
        both late for the same next visit, must tell it the earlier first, as they would
        have had each been judged when its instant passed), and the memory after them
        (``memory`` itself if none).
    """
    raised, fired = memory.raised, []
    for line in lines:
        if line.key in raised or not (line.fires and passed(line.due_at, watermark, inclusive)):
            continue
        if gate is not None and not line.decided_at < gate:
            continue
        raised = {**raised, line.key: line.due_at}
        fired.append(line)
    fired.sort(key=lambda line: (line.due_at, line.key))
    return fired, (AlertMemory(raised, memory.resolved) if fired else memory)


def held(
    lines: Iterable[Onward], memory: AlertMemory, watermark: datetime, inclusive: bool,
    gate: datetime | None,
) -> datetime | None:
    """The earliest ``decided_at`` of a warning due by ``watermark`` that ``gate`` holds back."""
    if gate is None:
        return None
    waiting = [line.decided_at for line in lines
               if line.fires and line.key not in memory.raised
               and passed(line.due_at, watermark, inclusive) and not line.decided_at < gate]
    return min(waiting) if waiting else None


def reports_sent(
    facts: VisitFacts, lines: Iterable[Onward], memory: AlertMemory
) -> list[CarerRunningLate]:
    """The reports this visit has sent, as remembered (to send again after a crash)."""
    return [running_late(facts, replace(line, due_at=memory.raised[line.key]))
            for line in lines if line.key in memory.raised]


def next_visits_of_day(
    rota: CarerRota, day: date, reference: ReferenceData
) -> list[tuple[str, str, NextStop | None]]:
    """Where the carer goes after each of their planned visits of ``day``, in order.

    Each as (visit id, its provider, the next stop or ``None`` for the last visit of the
    day); ``next_visit_event`` makes the word to send. A pair whose homes are not both
    known has a next stop with no travel: no time to leave by can be known.
    """
    visits = rota.planned_facts(day)
    found: list[tuple[str, str, NextStop | None]] = []
    for here, there in zip(visits, [*visits[1:], None], strict=False):
        assert here.plan is not None
        stop = None if there is None else _next_stop(here, there, reference)
        found.append((here.visit_id, here.plan.provider_id, stop))
    return found


def _next_stop(here: VisitFacts, there: VisitFacts, reference: ReferenceData) -> NextStop:
    assert here.plan is not None and there.plan is not None
    context = context_of(there, reference)
    assert context is not None  # it has a plan
    policy = context.policy
    travel = client_travel(reference, here.plan.client_id, there.plan.client_id, context.day,
                           policy)
    return NextStop(there.visit_id, there.plan.provider_id, there.plan.start,
                    policy.punctuality_window_minutes,
                    None if travel is None else travel.seconds)


def word_of(stop: NextStop | None) -> str:
    """What a word about a next stop says, to compare with what was last sent to a visit."""
    if stop is None or stop.travel_seconds is None:
        return ""
    return f"{stop.visit_id}|{stop.planned_start.isoformat()}|{stop.window_minutes}|" \
           f"{stop.travel_seconds}"
