"""What people's acts do to a visit (docs/rules.md, "Closing the loop").

Acts are folded in event-time order with the visit's facts, and every move is checked
by ``ecm.domain.workflow`` (the checks the API makes too): who may act, the state
machines and the council's code list in force on the act's local day. An act refused
changes nothing and is reported with its ``Refused`` reason (the worker dead-letters it).

* Late call-time corrections are held until the council approves them; refused ones
  never count (``settle_facts``).
* A frustrated visit counts from the first report the workflow accepts (``settle_facts``).
* Each exception the visit holds has a status; the visit is verified when every
  exception needing a decision is accepted and no correction is held (``fold_workflow``).
* Each raised alert is handled: acknowledged, escalated, closed, escalated on timeout
  when nobody acknowledged it, or monitor-only (``fold_workflow``).

Pure: no clock, no I/O; the instant of judgement is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ecm.domain.alerts import alert_id
from ecm.domain.calendar import local_date
from ecm.domain.context import VisitContext
from ecm.domain.deadlines import ESCALATING_KINDS, AlertTimeline, passed
from ecm.domain.events import (
    AlertAcknowledged,
    AlertClosed,
    AlertEscalated,
    CorrectionDecided,
    ExceptionDecided,
    ExceptionExplained,
    VisitFrustrated,
    WorkflowAct,
)
from ecm.domain.exceptions import VisitException, kind_named
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import AlertMemory, VisitFacts, fold_visit
from ecm.domain.workflow import (
    INFORMATIONAL_KINDS,
    Act,
    AlertHandling,
    AlertTier,
    CodePurpose,
    EscalationTimings,
    ExceptionStatus,
    Refused,
    acknowledge,
    check_code,
    check_disputable,
    close,
    decide,
    escalate,
    explain,
    may,
    next_escalation,
)

SYSTEM, SYSTEM_ROLE = "ecm", "system"
"""Who acts when ecm itself moves an alert (an escalation on timeout, monitor-only)."""

ESCALATION = "escalation"
"""The kind of a wake-up for an escalation on timeout."""


@dataclass(frozen=True, slots=True)
class StatusMove:
    """An exception moved in the workflow by an act."""

    exception: VisitException
    status: ExceptionStatus
    act: ExceptionExplained | ExceptionDecided


@dataclass(frozen=True, slots=True)
class AlertMove:
    """Something happened to a raised alert, at event time ``at``; ``tier`` is who has it after.

    ``record_id`` is the stable id of its record: ``{act}:handled`` for an act,
    ``alert:{alert_id}:escalated:{tier}`` for a timeout, ``alert:{alert_id}:monitor_only``.
    """

    record_id: str
    alert_id: str
    kind: str
    visit_id: str
    provider_id: str
    client_id: str
    action: str
    tier: AlertTier
    at: datetime
    by: str
    by_role: str
    code: str | None = None
    note: str | None = None
    caused_by: str | None = None


@dataclass(frozen=True, slots=True)
class Workflow:
    """Where a visit's exceptions and alerts stand at the instant of judgement.

    ``alerts`` holds only what can be published at that instant: moves of alerts raised,
    escalations whose time has passed; ``wake`` is the next instant time alone moves one.
    """

    statuses: Mapping[str, ExceptionStatus]
    moves: tuple[StatusMove, ...]
    alerts: tuple[AlertMove, ...]
    in_dispute: bool
    needs_decision: bool
    wake: datetime | None


def _check_actor(act: WorkflowAct, context: VisitContext, what: Act) -> None:
    """Refuse an act by someone whose role may not do it, or about another provider's visit."""
    if not may(act.by_role, what):
        raise Refused("by_role", f"a {act.by_role} may not {what.value.replace('_', ' ')}")
    if act.provider_id != context.provider_id:
        raise Refused("provider_id", f"the visit is provider {context.provider_id}'s")


def _codes_check(
    act: WorkflowAct, reference: ReferenceData, purpose: CodePurpose, code: str, field: str,
    kind: str | None = None,
) -> None:
    codes = reference.codes(local_date(act.occurred_at))
    check_code(codes, purpose, code, act.note, field=field, kind=kind)


def unknown_visit(facts: VisitFacts) -> dict[str, Refused]:
    """Every act about a visit ecm knows nothing of (no plan, no call) is refused."""
    refusal = Refused("visit_id", "no such visit: nothing planned or checked in")
    return {act.event_id: refusal for act in facts.acts}


def settle_facts(
    facts: VisitFacts, context: VisitContext, reference: ReferenceData,
    refused: dict[str, Refused],
) -> VisitFacts:
    """The facts that count: held and refused late corrections left out, frustration in.

    A correction made more than ``late_correction_days`` local days after the visit's day
    is held until a ``CorrectionDecided`` accepts it; one rejected never counts. Refusals
    are added to ``refused``. Returns ``facts`` itself when nothing changes.
    """
    skip, held = _corrections(facts, context, refused)
    frustration = _frustration(facts, context, reference, refused)
    if not skip and frustration is None:
        return facts
    return fold_visit(facts.visit_id, facts.events, frozenset(skip), tuple(held), frustration)


def _corrections(
    facts: VisitFacts, context: VisitContext, refused: dict[str, Refused]
) -> tuple[list[str], list[str]]:
    """Return the corrections to leave out, and those of them held for a decision."""
    limit = context.policy.late_correction_days
    late = [c.event_id for c in facts.corrections
            if (local_date(c.occurred_at) - context.day).days > limit]
    decided: dict[str, bool] = {}
    for act in facts.acts:
        if not isinstance(act, CorrectionDecided):
            continue
        try:
            _check_actor(act, context, Act.DECIDE_CORRECTION)
            target = act.correction_event_id
            if target not in late:
                raise Refused("correction_event_id",
                              "not a call-time correction held for the council's approval")
            if target in decided:
                done = "accepted" if decided[target] else "rejected"
                raise Refused("correction_event_id", f"already {done}")
            decided[target] = act.accepted
        except Refused as refusal:
            refused[act.event_id] = refusal
    held = [i for i in late if i not in decided]
    return held + [i for i in late if decided.get(i) is False], held


def _frustration(
    facts: VisitFacts, context: VisitContext, reference: ReferenceData,
    refused: dict[str, Refused],
) -> VisitFrustrated | None:
    counted: VisitFrustrated | None = None
    for act in facts.acts:
        if not isinstance(act, VisitFrustrated):
            continue
        try:
            _check_actor(act, context, Act.REPORT_FRUSTRATED)
            if facts.plan is None:
                raise Refused("visit_id", "not on the rota: only a planned visit is frustrated")
            _codes_check(act, reference, CodePurpose.FRUSTRATION, act.reason_code,
                         "reason_code")
            if counted is not None:
                raise Refused("visit_id", f"already reported frustrated ({counted.event_id})")
            counted = act
        except Refused as refusal:
            refused[act.event_id] = refusal
    return counted


def fold_workflow(
    facts: VisitFacts,
    context: VisitContext,
    lines: tuple[AlertTimeline, ...],
    memory: AlertMemory,
    exceptions: tuple[VisitException, ...],
    reference: ReferenceData,
    at: datetime,
    inclusive: bool,
    refused: dict[str, Refused],
) -> Workflow:
    """Fold the acts about the visit's exceptions and alerts, as they stand at ``at``.

    Refusals are added to ``refused``. ``memory`` says which alerts have been raised:
    only their moves are published (a later judgement publishes the others).
    """
    statuses, moves = _exception_statuses(facts, context, exceptions, reference, refused)
    holding = [e for e in exceptions if e.kind.value not in INFORMATIONAL_KINDS]
    in_dispute = bool(facts.held) or any(
        statuses[e.exception_id] is not ExceptionStatus.ACCEPTED for e in holding)
    alerts, wake = _alerts(facts, context, lines, memory, reference, at, inclusive, refused)
    return Workflow(statuses, tuple(moves), tuple(alerts), in_dispute,
                    bool(holding) or bool(facts.held), wake)


def _exception_statuses(
    facts: VisitFacts, context: VisitContext, exceptions: tuple[VisitException, ...],
    reference: ReferenceData, refused: dict[str, Refused],
) -> tuple[dict[str, ExceptionStatus], list[StatusMove]]:
    held = {e.exception_id: e for e in exceptions}
    statuses = dict.fromkeys(held, ExceptionStatus.OPEN)
    moves: list[StatusMove] = []
    for act in facts.acts:
        if not isinstance(act, ExceptionExplained | ExceptionDecided):
            continue
        exception = held.get(act.exception_id)
        try:
            if exception is None:
                check_disputable(kind_named(act.exception_id, facts.visit_id) or "")
                raise Refused("exception_id", "not an exception this visit holds (settled by "
                                              "later facts, or never raised)")
            status = statuses[act.exception_id]
            if isinstance(act, ExceptionExplained):
                _check_actor(act, context, Act.EXPLAIN)
                status = explain(status)
                _codes_check(act, reference, CodePurpose.EXPLANATION, act.reason_code,
                             "reason_code", exception.kind.value)
            else:
                _check_actor(act, context, Act.DECIDE)
                status = decide(status, act.accepted)
                _codes_check(act, reference, CodePurpose.RESOLUTION, act.resolution_code,
                             "resolution_code")
        except Refused as refusal:
            refused[act.event_id] = refusal
            continue
        assert exception is not None
        statuses[act.exception_id] = status
        moves.append(StatusMove(exception, status, act))
    return statuses, moves


def _alerts(
    facts: VisitFacts, context: VisitContext, lines: tuple[AlertTimeline, ...],
    memory: AlertMemory, reference: ReferenceData, at: datetime, inclusive: bool,
    refused: dict[str, Refused],
) -> tuple[list[AlertMove], datetime | None]:
    """Every alert's moves publishable at ``at``, and the next instant time moves one."""
    acts: dict[str, list[AlertAcknowledged | AlertEscalated | AlertClosed]] = {}
    for act in facts.acts:
        if isinstance(act, AlertAcknowledged | AlertEscalated | AlertClosed):
            acts.setdefault(act.alert_id, []).append(act)
    if not acts and not memory.raised:
        return [], None
    policy = context.policy
    timings = EscalationTimings(policy.escalate_to_council_after_minutes,
                                policy.escalate_to_manager_after_minutes)
    published: list[AlertMove] = []
    wakes: list[datetime] = []
    for line in lines:
        ident = alert_id(facts.visit_id, line.kind)
        handled = _AlertFold(facts, context, line, reference, timings)
        for act in acts.pop(ident, ()):
            try:
                handled.apply(act)
            except Refused as refusal:
                refused[act.event_id] = refusal
        if line.kind not in memory.raised:
            continue  # not raised yet: its moves are published when it is
        handled.time_out(at, inclusive)
        published += [m for m in handled.moves if m.by_role != SYSTEM_ROLE or m.action ==
                      "monitor_only" or passed(m.at, at, inclusive)]
        wakes += [m.at for m in handled.moves if m.by_role == SYSTEM_ROLE
                  and m.action == "escalated" and not passed(m.at, at, inclusive)]
        due = handled.next_due()
        if due is not None:
            wakes.append(due)
    for pending in acts.values():
        for act in pending:
            refused[act.event_id] = Refused("alert_id", "no such alert was raised for this visit")
    return published, min(wakes) if wakes else None


class _AlertFold:
    """One alert's handling, folded act by act with the escalations on timeout between."""

    def __init__(self, facts: VisitFacts, context: VisitContext, line: AlertTimeline,
                 reference: ReferenceData, timings: EscalationTimings) -> None:
        self.context, self.line, self.reference, self.timings = context, line, reference, timings
        self.alert_id = alert_id(facts.visit_id, line.kind)
        self.visit_id = facts.visit_id
        monitor = reference.monitored(context.client_id, context.service, line.due_at)
        self.handling = AlertHandling(monitor_only=monitor is not None)
        self.moves: list[AlertMove] = []
        if monitor is not None:
            self._move(f"alert:{self.alert_id}:monitor_only", "monitor_only", line.due_at,
                       SYSTEM, SYSTEM_ROLE, note=f"monitor only: {monitor.reason}"[:1000],
                       caused_by=monitor.event_id)

    def _move(self, record_id: str, action: str, at: datetime, by: str, by_role: str,
              code: str | None = None, note: str | None = None,
              caused_by: str | None = None) -> None:
        context = self.context
        self.moves.append(AlertMove(
            record_id, self.alert_id, self.line.kind.value, self.visit_id,
            context.provider_id, context.client_id, action, self.handling.tier, at, by,
            by_role, code, note, caused_by))

    def next_due(self) -> datetime | None:
        """When the alert next escalates on timeout (never once settled by later facts).

        An alert of a kind that does not escalate ("at risk") never does.
        """
        if self.line.kind not in ESCALATING_KINDS:
            return None
        upcoming = next_escalation(self.handling, self.line.due_at, self.timings)
        if upcoming is None:
            return None
        resolved = self.line.resolved_at
        return None if resolved is not None and not passed(upcoming[1], resolved) \
            else upcoming[1]

    def time_out(self, until: datetime, inclusive: bool) -> None:
        """Escalate on every timeout passed by ``until`` (an unacknowledged, open alert)."""
        while True:
            due = self.next_due()
            upcoming = next_escalation(self.handling, self.line.due_at, self.timings)
            if due is None or upcoming is None or not passed(due, until, inclusive):
                return
            self.handling = escalate(self.handling, upcoming[0])
            tier = upcoming[0].value
            after = (self.timings.council_after_minutes if upcoming[0] is
                     AlertTier.COUNCIL_DUTY else self.timings.manager_after_minutes)
            self._move(f"alert:{self.alert_id}:escalated:{tier}", "escalated", due, SYSTEM,
                       SYSTEM_ROLE, note=f"not acknowledged within {after} minutes")

    def apply(self, act: AlertAcknowledged | AlertEscalated | AlertClosed) -> None:
        """Apply one act (after the timeouts before it), or raise ``Refused``."""
        line = self.line
        if not line.fires:
            raise Refused("alert_id", "no such alert was raised for this visit")
        if not passed(line.due_at, act.occurred_at, inclusive=True):
            raise Refused("alert_id", f"not raised yet: it is due at {line.due_at.isoformat()}")
        self.time_out(act.occurred_at, inclusive=False)
        handling, context, record_id = self.handling, self.context, f"{act.event_id}:handled"
        if isinstance(act, AlertAcknowledged):
            _check_actor(act, context, Act.ACKNOWLEDGE)
            self.handling = acknowledge(handling, act.by, act.occurred_at)
            self._move(record_id, "acknowledged", act.occurred_at, act.by, act.by_role,
                       note=act.action_taken, caused_by=act.event_id)
        elif isinstance(act, AlertEscalated):
            _check_actor(act, context, Act.ESCALATE)
            self.handling = escalate(handling, AlertTier(act.to_tier))
            self._move(record_id, "escalated", act.occurred_at, act.by, act.by_role,
                       note=act.note, caused_by=act.event_id)
        else:
            _check_actor(act, context, Act.CLOSE_ALERT)
            _codes_check(act, self.reference, CodePurpose.ALERT_OUTCOME, act.outcome_code,
                         "outcome_code")
            self.handling = close(handling, act.outcome_code, act.occurred_at)
            self._move(record_id, "closed", act.occurred_at, act.by, act.by_role,
                       code=act.outcome_code, note=act.note, caused_by=act.event_id)
