"""Closing the loop: the two state machines people move, and who may move them.

An exception is explained by its provider, then accepted or rejected by the council; a
rejected explanation may be explained again; facts that arrive later settle it whatever
its state. An alert is with the provider's on-call until acknowledged or closed; left
unacknowledged it escalates to the council's duty team and then to a manager. Every
move is checked here, once, for both the API (a clear refusal before anything is sent)
and the visit engine (which folds the same acts in event-time order). Pure: no clock, no
I/O. Rules: docs/rules.md, "Closing the loop".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum


class Refused(ValueError):
    """A move the workflow does not allow, naming the field at fault and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ExceptionStatus(StrEnum):
    """Where an exception stands."""

    OPEN = "open"
    EXPLAINED = "explained"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SETTLED = "settled"
    """Settled by later facts (the exception no longer holds)."""


CLOSED_STATUSES = frozenset({ExceptionStatus.ACCEPTED, ExceptionStatus.SETTLED})
"""Statuses that keep nothing in dispute."""

INFORMATIONAL_KINDS = frozenset({"duplicate_event"})
"""Exception kinds kept for the record that never hold a visit's payment."""


ROTA_FINDINGS = frozenset({"insufficient_travel_time"})
"""Exception kinds that are findings about a carer's rota, not about a visit.

They are raised and resolved by the carer's rota (keyed by carer, across visits), never
held by the visit whose acts the workflow folds, and hold no payment: nothing for the
council to decide. The rota is what settles them (docs/rules.md, "Rota realism").
"""


def check_disputable(kind: str) -> None:
    """``Refused`` when an exception of ``kind`` cannot be explained or decided."""
    if kind in ROTA_FINDINGS:
        raise Refused("exception_id", f"{kind} is a finding about the carer's "
                      "rota, not the visit: it cannot be explained or decided; it is "
                      "resolved when the rota allows the travel (the visit moved, another "
                      "carer planned, a visit cancelled)")


def explain(status: ExceptionStatus) -> ExceptionStatus:
    """The status after a provider's explanation, or ``Refused``."""
    if status in (ExceptionStatus.OPEN, ExceptionStatus.REJECTED):
        return ExceptionStatus.EXPLAINED
    if status is ExceptionStatus.EXPLAINED:
        raise Refused("exception_id", "already explained and awaiting the council's decision")
    raise Refused("exception_id", f"already {status.value}: nothing left to explain")


def decide(status: ExceptionStatus, accepted: bool) -> ExceptionStatus:
    """The status after the council's decision on an explanation, or ``Refused``."""
    if status is ExceptionStatus.EXPLAINED:
        return ExceptionStatus.ACCEPTED if accepted else ExceptionStatus.REJECTED
    if status is ExceptionStatus.OPEN:
        raise Refused("exception_id", "not explained yet: there is no explanation to decide on")
    if status is ExceptionStatus.REJECTED:
        raise Refused("exception_id", "already rejected: awaiting a new explanation")
    raise Refused("exception_id", f"already {status.value}: nothing left to decide")


class CodePurpose(StrEnum):
    """What a code is for."""

    EXPLANATION = "explanation"
    RESOLUTION = "resolution"
    ALERT_OUTCOME = "alert_outcome"
    FRUSTRATION = "frustration"


@dataclass(frozen=True, slots=True)
class Code:
    """One code of the council's list."""

    code: str
    purpose: str
    label: str = ""
    category: str = "preferred"
    note_required: bool = False
    settles: frozenset[str] = frozenset()
    """Exception kinds an explanation with this code may settle; empty: any."""


@dataclass(frozen=True, slots=True)
class CodeList:
    """The council's codes that apply from ``effective_from`` (replacing any earlier list)."""

    list_id: str
    effective_from: date
    effective_to: date | None
    codes: tuple[Code, ...]

    def find(self, purpose: str, code: str) -> Code | None:
        """The code of that purpose, if the list has it."""
        for candidate in self.codes:
            if candidate.purpose == purpose and candidate.code == code:
                return candidate
        return None

    def applies_on(self, day: date) -> bool:
        """Whether the list is in force on local ``day``."""
        return self.effective_from <= day and (self.effective_to is None
                                               or day <= self.effective_to)


def check_code(
    codes: CodeList | None,
    purpose: CodePurpose,
    code: str,
    note: str | None,
    *,
    field: str,
    kind: str | None = None,
) -> Code:
    """Return the code of the council's list, or ``Refused`` naming ``field``.

    Refused when no list is in force, the code is not on it for ``purpose``, its note is
    required and missing, or (for an explanation) it may not settle an exception of ``kind``.
    """
    if codes is None:
        raise Refused(field, "no list of codes is in force for that day")
    found = codes.find(purpose.value, code)
    if found is None:
        raise Refused(field, f"{code!r} is not a {purpose.value} code of list {codes.list_id}")
    if found.note_required and not (note and note.strip()):
        raise Refused("note", f"code {code!r} requires a note")
    if kind is not None and found.settles and kind not in found.settles:
        raise Refused(field, f"code {code!r} cannot explain a {kind} exception")
    return found


class AlertTier(StrEnum):
    """Who has an alert, in escalation order."""

    PROVIDER_ON_CALL = "provider_on_call"
    COUNCIL_DUTY = "council_duty"
    MANAGER = "manager"


TIERS = tuple(AlertTier)


@dataclass(frozen=True, slots=True)
class AlertHandling:
    """What people (and timeouts) have done with one alert since it was raised."""

    tier: AlertTier = AlertTier.PROVIDER_ON_CALL
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    closed_at: datetime | None = None
    outcome_code: str | None = None
    monitor_only: bool = False

    @property
    def closed(self) -> bool:
        """Whether someone closed the alert with an outcome."""
        return self.closed_at is not None


def acknowledge(handling: AlertHandling, by: str, at: datetime) -> AlertHandling:
    """The handling after an acknowledgement, or ``Refused``."""
    if handling.closed:
        raise Refused("alert_id", "already closed")
    if handling.acknowledged_at is not None:
        raise Refused("alert_id", f"already acknowledged by {handling.acknowledged_by}")
    return replace(handling, acknowledged_at=at, acknowledged_by=by)


def escalate(handling: AlertHandling, to_tier: AlertTier) -> AlertHandling:
    """The handling after a manual escalation to ``to_tier``, or ``Refused``."""
    if handling.closed:
        raise Refused("alert_id", "already closed")
    if TIERS.index(to_tier) <= TIERS.index(handling.tier):
        raise Refused("to_tier", f"the alert is already with {handling.tier.value}")
    return replace(handling, tier=to_tier)


def close(handling: AlertHandling, outcome_code: str, at: datetime) -> AlertHandling:
    """The handling after closing with an outcome code, or ``Refused``."""
    if handling.closed:
        raise Refused("alert_id", f"already closed ({handling.outcome_code})")
    return replace(handling, closed_at=at, outcome_code=outcome_code)


@dataclass(frozen=True, slots=True)
class EscalationTimings:
    """Minutes after an alert is raised at which, unacknowledged, it moves up a tier."""

    council_after_minutes: int = 15
    manager_after_minutes: int = 30


def next_escalation(
    handling: AlertHandling, raised_at: datetime, timings: EscalationTimings
) -> tuple[AlertTier, datetime] | None:
    """The next tier an unacknowledged alert escalates to on timeout, and when; else None.

    An acknowledged, closed or monitor-only alert does not escalate on its own.
    """
    if handling.closed or handling.acknowledged_at is not None or handling.monitor_only:
        return None
    if handling.tier is AlertTier.PROVIDER_ON_CALL:
        return (AlertTier.COUNCIL_DUTY,
                raised_at + timedelta(minutes=timings.council_after_minutes))
    if handling.tier is AlertTier.COUNCIL_DUTY:
        return (AlertTier.MANAGER,
                raised_at + timedelta(minutes=max(timings.manager_after_minutes,
                                                  timings.council_after_minutes)))
    return None


class Act(StrEnum):
    """Things people do about visits, for the table of who may do them."""

    EXPLAIN = "explain"
    DECIDE = "decide"
    DECIDE_CORRECTION = "decide_correction"
    REPORT_FRUSTRATED = "report_frustrated"
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    CLOSE_ALERT = "close_alert"
    SET_MONITORING = "set_monitoring"


PROVIDER, CONTRACT_MANAGER, DUTY_OFFICER, ADMIN = (
    "provider", "contract_manager", "duty_officer", "admin")

MAY: dict[Act, frozenset[str]] = {
    Act.EXPLAIN: frozenset({PROVIDER}),
    Act.DECIDE: frozenset({CONTRACT_MANAGER}),
    Act.DECIDE_CORRECTION: frozenset({CONTRACT_MANAGER}),
    Act.REPORT_FRUSTRATED: frozenset({PROVIDER}),
    Act.ACKNOWLEDGE: frozenset({PROVIDER, DUTY_OFFICER}),
    Act.ESCALATE: frozenset({DUTY_OFFICER, CONTRACT_MANAGER}),
    Act.CLOSE_ALERT: frozenset({PROVIDER, DUTY_OFFICER}),
    Act.SET_MONITORING: frozenset({DUTY_OFFICER, CONTRACT_MANAGER}),
}
"""Who may do what (docs/rules.md): providers only ever about their own visits."""


def may(role: str, act: Act) -> bool:
    """Whether someone of ``role`` may do ``act`` (administrators may do anything)."""
    return role == ADMIN or role in MAY[act]
