"""The one mapping from contract events to table rows (columns named as in the migrations).

When ``ecm/contracts/outputs.py`` gains or changes a field, this module and the
migrations are what change; the sink and the KPI queries only see the columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from ecm.contracts import (
    AlertHandled,
    AlertMonitoringSet,
    AlertRaised,
    AlertResolved,
    CallTimeCorrected,
    CarePackageAgreed,
    CarerCheckedIn,
    CarerCheckedOut,
    CarerRegistered,
    ClientRegistered,
    ContractEvent,
    ContractRulesSet,
    ContractRulesSetV2,
    ExceptionStatusChanged,
    LotDefined,
    ProviderRegistered,
    RateCardPublished,
    ReasonCodesPublished,
    VisitCancelled,
    VisitChanged,
    VisitExceptionRaised,
    VisitExceptionResolved,
    VisitOutcomeRecorded,
    VisitOutcomeRecordedV2,
    VisitPlanned,
    WorkflowAct,
    dump_event,
)
from ecm.domain.events import CarerCall
from ecm.domain.kpis import visit_measures
from ecm.domain.reference import ReferenceData
from ecm.visits.translate import outcome_from_record, visit_event, without_location

Row = tuple[Any, ...]

VISIT_INPUTS = (
    VisitPlanned, VisitChanged, VisitCancelled, CarerCheckedIn, CarerCheckedOut,
    CallTimeCorrected,
)  # fmt: skip
"""The inputs whose own fields ``raw_events.detail`` keeps: the visit page tells them, and
a recalculation judges the visit again from them (``ecm.recalc.store``)."""

OUTCOME_COLUMNS = (
    "visit_id", "local_date", "iso_week", "provider_id", "lot_id", "service", "tier",
    "client_id", "scheduled", "status", "cancelled_by", "planned_start", "planned_end",
    "planned_minutes", "carers_required", "time_critical", "first_check_in", "punctuality",
    "lateness_minutes", "carer_ids", "delivered_seconds", "payable_gbp", "short",
    "single_handed", "manual_entry", "electronic", "max_distance_m", "kpi_cancelled",
    "kpi_missed", "kpi_completed", "kpi_checked_in", "kpi_no_checkout", "kpi_planned_seconds",
    "kpi_lateness_seconds", "verification", "verified_gbp", "disputed_gbp", "event_id",
    "recorded_at", "schema_version", "extra", "trust_score", "rate_card_id", "rate_card_from",
    "rate_card_event_id",
)  # fmt: skip
"""Columns of ``visit_outcomes``, in the order of ``outcome_row``."""

OUTCOME_EXTRA_FIELDS = (
    "corrections", "frustrated_reason", "held_corrections", "trust_deductions", "rules_applied",
)  # fmt: skip
"""Fields of an outcome that no column holds: its ``extra`` (absent when empty)."""

RAW_INPUT_FIELDS = (
    "carers_required", "time_critical", "planned_start", "planned_end", "client_id",
    "carer_id", "method", "service", "tier", "package_id", "planned_carer_ids",
)  # fmt: skip
"""A visit input's own fields that ``raw_events`` keeps as columns of the same name (storage
migration 0026); ``detail`` keeps the others, and its ``schema_version`` is
``input_version`` (NULL: version 1)."""
RAW_EVENT_COLUMNS = (
    "event_id", "event_type", "provider_id", "visit_id", "occurred_at", "digest", "detail",
    "distance_m", "accuracy_m", "input_version", *RAW_INPUT_FIELDS,
)  # fmt: skip
RAW_ENVELOPE = ("event_id", "event_type", "occurred_at", "provider_id", "visit_id", "location")
"""Fields of an input event that ``detail`` leaves out: its columns, and the coordinates."""
VISIT_INPUT_TYPES: tuple[str, ...] = tuple(m.model_fields["event_type"].default
                                           for m in VISIT_INPUTS)
"""The ``event_type`` of each of ``VISIT_INPUTS``."""
ALERT_RAISED_COLUMNS = (
    "alert_id", "kind", "visit_id", "provider_id", "client_id", "lot_id", "due_at",
    "raised_at", "raised_event_id", "raised_learned_at",
)  # fmt: skip
ALERT_RESOLVED_COLUMNS = (
    "alert_id", "kind", "visit_id", "provider_id", "resolved_at", "resolution",
    "resolved_event_id", "resolved_learned_at",
)  # fmt: skip
EXCEPTION_COLUMNS = (
    "exception_id", "kind", "visit_id", "provider_id", "client_id", "carer_id", "detail",
    "detected_at", "event_id",
)  # fmt: skip


def stored_record_id(record_id: str | None, derived: str) -> str | None:
    """Return how ``visit_exceptions`` keeps a record id: ``''`` when it is ``derived``.

    Most record ids of an exception are derived from its id (``raise_id`` and the others
    below); such an id is stored as ``''`` (an id is never empty), any other as it is, so
    the stored form says exactly what was sent. ``ecm_exception_record``
    (``ecm/storage/functions``) reads it back; two records compare equal stored as sent.
    """
    if record_id is None:
        return None
    return "" if record_id == derived else record_id


def raise_id(exception_id: str) -> str:
    """The event id of an exception's raise, as ecm derives it (``event_id``)."""
    return exception_id


def resolution_id(exception_id: str) -> str:
    """The event id of an exception's resolution, as ecm derives it (``resolved_event_id``)."""
    return f"{exception_id}:resolved"


def settling_id(exception_id: str) -> str:
    """The event id of the move settling an exception, as ecm derives it (``status_event_id``)."""
    return f"exception:{exception_id}:settled"


def _value(value: Any) -> Any:
    return getattr(value, "value", value)  # enums are stored as their wire value


def payload(event: ContractEvent) -> Jsonb:
    """Return the event as stored in a ``payload`` column: its JSON wire form."""
    return Jsonb(event.model_dump(mode="json"))


def outcome_row(o: VisitOutcomeRecorded) -> Row:
    """Return the ``visit_outcomes`` row of an outcome, with its KPI measures.

    The ``kpi_*`` columns are ``ecm.domain.kpis.visit_measures`` of the outcome; the
    rollups sum them and the outcome's own flags, which are measures as they stand.
    """
    m = visit_measures(outcome_from_record(o))
    return (
        o.visit_id, o.local_date, o.iso_week, o.provider_id, o.lot_id, _value(o.service),
        _value(o.tier), o.client_id, o.scheduled, o.status.value, _value(o.cancelled_by),
        o.planned_start, o.planned_end, o.planned_minutes, o.carers_required, o.time_critical,
        o.first_check_in, _value(o.punctuality), o.lateness_minutes, list(o.carer_ids),
        o.delivered_seconds, o.payable_gbp, o.short, o.single_handed, o.manual_entry,
        o.electronic, o.max_distance_m, m.cancelled, m.missed, m.completed, m.checked_in,
        m.no_checkout, m.planned_seconds, m.lateness_seconds, *verification(o), o.event_id,
        o.occurred_at, o.schema_version, outcome_extra(o), getattr(o, "trust_score", None),
        *rate_card_columns(o),
    )  # fmt: skip


def rate_card_columns(o: VisitOutcomeRecorded) -> tuple[str | None, date | None, str | None]:
    """Return (rate_card_id, rate_card_from, rate_card_event_id) of the card paying a visit."""
    card = getattr(o, "rate_card", None)
    if card is None:
        return None, None, None
    return card.id, card.effective_from, card.event_id


def outcome_extra(o: VisitOutcomeRecorded) -> Jsonb | None:
    """Return the outcome's fields that no column holds, as JSON (None when all are empty)."""
    extra = {
        name: value for name in OUTCOME_EXTRA_FIELDS
        if (value := getattr(o, name, None))
    }  # fmt: skip
    if not extra:
        return None
    if "corrections" in extra:
        extra["corrections"] = [c.model_dump(mode="json") for c in o.corrections]
    if "held_corrections" in extra:
        extra["held_corrections"] = list(extra["held_corrections"])
    for name in ("trust_deductions", "rules_applied"):  # version 3
        if name in extra:
            extra[name] = [v.model_dump(mode="json") for v in extra[name]]
    return Jsonb(extra)


def verification(o: VisitOutcomeRecorded) -> tuple[str, Decimal, Decimal]:
    """Return (verification, verified_gbp, disputed_gbp) of an outcome.

    A version 1 outcome means the visit is verified and all its payable money with it
    (docs/rules.md, "Closing the loop").
    """
    if isinstance(o, VisitOutcomeRecordedV2):
        return o.verification.value, o.verified_gbp, o.disputed_gbp
    return "verified", o.payable_gbp, Decimal(0)


def call_measures(
    event: ContractEvent, reference: ReferenceData | None
) -> tuple[int | None, int | None]:
    """A located call's distance from its client's registered location and its accuracy.

    Measured as the visit engine measures them (``ecm.visits.translate.visit_event``);
    ``(None, None)`` for anything else, a distance of ``None`` while the client's
    registration is unknown.
    """
    if not isinstance(event, CarerCheckedIn | CarerCheckedOut) or event.location is None:
        return None, None
    call = visit_event(event, reference)
    assert isinstance(call, CarerCall)
    return call.distance_m, call.accuracy_m


def raw_event_row(event: ContractEvent, reference: ReferenceData | None = None) -> Row:
    """Return the ``raw_events`` row of an input event (``received_at`` is the insert time).

    Who sent what and when, and the SHA-256 digest of the event as stored (its compact
    JSON without the location). ``detail`` is a visit input's own fields that no column
    holds (``VISIT_INPUTS``, nulls left out); reference events and workflow acts have
    none here, their own tables keeping them. A call's coordinates stay
    on the input topic: the row keeps its distance from the client's registered location
    (known from ``reference``) and the phone's accuracy, measured as the visit engine
    measures them (``ecm.visits.translate.visit_event``).
    """
    distance, accuracy = call_measures(event, reference)
    stored = without_location(event)
    wire = dump_event(stored)
    own = _own_fields(stored, wire)
    version = own.pop("schema_version", 1)
    columns = tuple(_as_column(name, own.pop(name, None)) for name in RAW_INPUT_FIELDS)
    return (
        event.event_id,
        getattr(event, "event_type", type(event).__name__),
        getattr(event, "provider_id", None),
        getattr(event, "visit_id", None),
        event.occurred_at,
        hashlib.sha256(wire).digest(),
        Jsonb(own) if own else None,
        distance,
        accuracy,
        None if version == 1 else version,
        *columns,
    )


def _as_column(name: str, value: Any) -> Any:
    """A field read from an input's JSON as its ``raw_events`` column's type (binary COPY)."""
    if value is not None and name in _INSTANT_FIELDS:
        return datetime.fromisoformat(value)
    return value


_INSTANT_FIELDS = frozenset({"planned_start", "planned_end"})
"""The ``RAW_INPUT_FIELDS`` that are instants (``timestamptz`` columns); the others' JSON
values (numbers, booleans, text, lists of text) are their columns' types already."""


def _own_fields(event: ContractEvent, wire: bytes) -> dict[str, Any]:
    """A visit input's fields but those of ``RAW_ENVELOPE`` and nulls, from its JSON ``wire``.

    Empty for any other input (reference events and acts: their own tables keep them).
    """
    if not isinstance(event, VISIT_INPUTS):
        return {}
    fields = json.loads(wire)
    return {k: v for k, v in fields.items() if v is not None and k not in RAW_ENVELOPE}


def stored_input_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A visit input's own fields from its ``raw_events`` row (``detail`` and the columns).

    The inverse of ``raw_event_row`` for what ``RAW_ENVELOPE`` leaves out; rows stored
    before storage migration 0026 have them all in ``detail``.
    """
    fields = dict(row["detail"] or {})
    fields.update({name: row[name] for name in RAW_INPUT_FIELDS if row[name] is not None})
    if row["input_version"] is not None:
        fields["schema_version"] = row["input_version"]
    return fields


def alert_event_id(alert_id: str, step: str, event_id: str) -> str | None:
    """Return the event id stored for an alert's raise or resolution (``step``).

    None when it is the one ecm gives it, ``{alert_id}:{step}``
    (``ecm.visits.translate.alert_record_id``): readers derive it (storage migration 0023).
    """
    return None if event_id == f"{alert_id}:{step}" else event_id


def alert_raised_row(a: AlertRaised, learned_at: datetime | None = None) -> Row:
    """Return the ``alerts`` columns an ``AlertRaised`` sets (``learned_at``: see history)."""
    return (
        a.alert_id, a.kind.value, a.visit_id, a.provider_id, a.client_id, a.lot_id, a.due_at,
        a.occurred_at, alert_event_id(a.alert_id, "raised", a.event_id), learned_at,
    )  # fmt: skip


def alert_resolved_row(a: AlertResolved, learned_at: datetime | None = None) -> Row:
    """Return the ``alerts`` columns an ``AlertResolved`` sets (``learned_at``: see history)."""
    return (
        a.alert_id, a.kind.value, a.visit_id, a.provider_id, a.occurred_at, a.resolution,
        alert_event_id(a.alert_id, "resolved", a.event_id), learned_at,
    )  # fmt: skip


def exception_row(e: VisitExceptionRaised) -> Row:
    """Return the ``visit_exceptions`` row of an exception."""
    return (
        e.exception_id, e.kind.value, e.visit_id, e.provider_id, e.client_id, e.carer_id,
        e.detail, e.occurred_at, stored_record_id(e.event_id, raise_id(e.exception_id)),
    )  # fmt: skip


def exception_resolved_row(e: VisitExceptionResolved) -> Row:
    """Return the parameters of ``RESOLVE_EXCEPTION``: when, by which record, which one."""
    return (e.occurred_at, stored_record_id(e.event_id, resolution_id(e.exception_id)),
            e.exception_id)  # fmt: skip


@dataclass(frozen=True)
class ReferenceTable:
    """Where one kind of reference event is stored: table, key and typed columns."""

    table: str
    key: str
    columns: tuple[str, ...]
    values: Callable[[Any], Row]

    def row(self, event: Any) -> Row:
        """Return the full row: key, effective dates, typed columns, event id, time, payload."""
        return (
            getattr(event, self.key),
            event.effective_from,
            getattr(event, "effective_to", None),
            *self.values(event),
            event.event_id,
            event.occurred_at,
            payload(event),
        )

    def all_columns(self) -> tuple[str, ...]:
        """Column names in the order of ``row``."""
        return (self.key, "effective_from", "effective_to", *self.columns,
                "event_id", "recorded_at", "payload")  # fmt: skip


_RULES = ReferenceTable(
    "contract_rules", "rules_id", ("lot_id", "service", "rules"),
    lambda e: (e.lot_id, _value(e.service), Jsonb(e.rules.model_dump(mode="json"))),
)

REFERENCE_TABLES: dict[type[ContractEvent], ReferenceTable] = {
    LotDefined: ReferenceTable(
        "lots", "lot_id", ("name", "msoa_codes"), lambda e: (e.name, list(e.msoa_codes))
    ),
    ProviderRegistered: ReferenceTable(
        "providers", "provider_id", ("name", "kind", "lot_ids"),
        lambda e: (e.name, e.kind.value, list(e.lot_ids)),
    ),
    ClientRegistered: ReferenceTable(
        "clients", "client_id", ("lot_id", "rurality"), lambda e: (e.lot_id, e.rurality.value)
    ),
    CarerRegistered: ReferenceTable(
        "carers", "carer_id", ("provider_id",), lambda e: (e.provider_id,)
    ),
    CarePackageAgreed: ReferenceTable(
        "care_packages", "package_id",
        ("client_id", "provider_id", "lot_id", "service", "tier", "weekly_hours"),
        lambda e: (e.client_id, e.provider_id, e.lot_id, e.service.value, e.tier.value,
                   e.weekly_hours),
    ),
    RateCardPublished: ReferenceTable(
        "rate_cards", "rate_card_id",
        ("provider_id", "lot_id", "service", "tier", "hourly_rate"),
        lambda e: (e.provider_id, e.lot_id, e.service.value, e.tier.value, e.hourly_rate),
    ),
    ContractRulesSet: _RULES,
    ContractRulesSetV2: _RULES,
    ReasonCodesPublished: ReferenceTable(
        "reason_code_lists", "code_list_id", ("codes",),
        lambda e: (Jsonb([c.model_dump(mode="json") for c in e.codes]),),
    ),
}  # fmt: skip
"""Reference event type → its table. ``contract_rules`` has no ``effective_to`` column."""


WORKFLOW_ACT_COLUMNS = (
    "event_id", "event_type", "visit_id", "provider_id", "exception_id", "alert_id",
    "correction_event_id", "code", "decision", "by_user", "by_role", "note", "occurred_at",
    "payload",
)  # fmt: skip
EXCEPTION_STATUS_COLUMNS = (
    "exception_id", "kind", "visit_id", "provider_id", "detected_at", "event_id", "status",
    "status_code", "status_by", "status_at", "status_note", "status_event_id",
    "status_learned_at",
)  # fmt: skip
ALERT_HISTORY_COLUMNS = (
    "event_id", "alert_id", "action", "tier", "by_user", "by_role", "code", "note",
    "caused_by", "occurred_at", "learned_at",
)  # fmt: skip
ALERT_HANDLED_COLUMNS = (
    "alert_id", "kind", "visit_id", "provider_id", "client_id", "action", "tier", "by_user",
    "code", "note", "caused_by", "occurred_at", "event_id",
)  # fmt: skip
MONITORING_COLUMNS = (
    "monitoring_id", "client_id", "service", "starts", "until", "set_by", "reason",
    "event_id", "recorded_at", "payload",
)  # fmt: skip


def workflow_act_row(act: WorkflowAct) -> Row:
    """Return the ``workflow_acts`` row of an act people sent (stored as sent)."""
    code = (getattr(act, "reason_code", None) or getattr(act, "resolution_code", None)
            or getattr(act, "outcome_code", None))
    return (
        act.event_id, act.event_type, act.visit_id, act.provider_id,
        getattr(act, "exception_id", None), getattr(act, "alert_id", None),
        getattr(act, "correction_event_id", None), code, _value(getattr(act, "decision", None)),
        act.by, act.by_role.value, act.note, act.occurred_at, payload(act),
    )  # fmt: skip


def exception_status_row(e: ExceptionStatusChanged) -> Row:
    """Return the ``visit_exceptions`` columns an ``ExceptionStatusChanged`` sets.

    ``detected_at`` and ``event_id`` only fill a row whose raise is not stored yet; the
    raise, when it comes, sets them.
    """
    return (
        e.exception_id, e.kind.value, e.visit_id, e.provider_id, e.occurred_at,
        stored_record_id(e.event_id, raise_id(e.exception_id)), e.status.value, e.code, e.by,
        e.occurred_at, e.note, stored_record_id(e.event_id, settling_id(e.exception_id)),
        e.learned_at,
    )  # fmt: skip


def handled_event_id(a: AlertHandled) -> str | None:
    """Return the event id ``alert_history`` stores for an ``AlertHandled``.

    None when it is the id ecm gives an escalation on timeout,
    ``alert:{alert_id}:escalated:{tier}`` (docs/rules.md, "Records"): readers derive it
    (storage migration 0023).
    """
    derived = f"alert:{a.alert_id}:escalated:{a.tier.value}"
    return None if a.action.value == "escalated" and a.event_id == derived else a.event_id


def alert_handled_row(a: AlertHandled) -> Row:
    """Return the ``alerts`` columns an ``AlertHandled`` may set (by its action).

    ``event_id`` is as ``alert_history`` stores it (``handled_event_id``).
    """
    return (
        a.alert_id, a.kind.value, a.visit_id, a.provider_id, a.client_id, a.action.value,
        a.tier.value, a.by, a.code, a.note, a.caused_by, a.occurred_at, handled_event_id(a),
    )  # fmt: skip


def alert_history_row(
    event: AlertRaised | AlertResolved | AlertHandled, learned_at: datetime | None
) -> Row:
    """Return the ``alert_history`` row of a raise, an ``AlertHandled`` or a resolution.

    ``learned_at`` is when ecm learned the fact: an ``AlertHandled`` says so itself; for a
    raise or a resolution it is the Kafka timestamp of the record ecm published. The sink
    stores the row of a raise or resolution only when the ``alerts`` row will not hold it
    as first told (storage migration 0023); readers put the others together from there.
    """
    if isinstance(event, AlertHandled):
        return (
            handled_event_id(event), event.alert_id, event.action.value, event.tier.value, event.by,
            event.by_role.value, event.code, event.note, event.caused_by, event.occurred_at,
            event.learned_at,
        )  # fmt: skip
    if isinstance(event, AlertRaised):
        return (event.event_id, event.alert_id, "raised", "provider_on_call", "ecm", "system",
                None, None, None, event.occurred_at, learned_at)  # fmt: skip
    return (event.event_id, event.alert_id, "resolved", None, "ecm", "system",
            event.resolution, None, None, event.occurred_at, learned_at)  # fmt: skip


def monitoring_row(m: AlertMonitoringSet) -> Row:
    """Return the ``alert_monitoring`` row of a monitor-only period."""
    return (
        m.monitoring_id, m.client_id, _value(m.service), m.starts, m.until, m.set_by,
        m.reason, m.event_id, m.occurred_at, payload(m),
    )  # fmt: skip
