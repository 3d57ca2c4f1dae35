"""Stored rows back as the contract events they were written from.

``visit_outcomes`` keeps an outcome's typed columns (the rate card paying it among them)
and, in ``extra``, only the fields no column holds (``ecm.storage.rows.outcome_row``);
``outcome_event`` puts the event together again, so what the API and the portal show of a
visit is what the engine sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, LiteralString

from ecm.contracts import VisitOutcomeRecorded, VisitOutcomeRecordedV2, VisitOutcomeRecordedV3

OUTCOME_EVENT_COLUMNS: LiteralString = (
    "visit_id, provider_id, client_id, lot_id, service, tier, iso_week, local_date,"
    " scheduled, status, cancelled_by, planned_start, planned_end, planned_minutes,"
    " carers_required, time_critical, first_check_in, punctuality, lateness_minutes,"
    " carer_ids, delivered_seconds, payable_gbp, short, single_handed, manual_entry,"
    " electronic, max_distance_m, verification, verified_gbp, disputed_gbp, event_id,"
    " recorded_at, schema_version, extra, trust_score, rate_card_id, rate_card_from,"
    " rate_card_event_id"
)
"""The ``visit_outcomes`` columns ``outcome_event`` needs, for a SELECT list."""

_FIELDS = tuple(name.strip() for name in OUTCOME_EVENT_COLUMNS.split(","))
_NOT_FIELDS = ("recorded_at", "extra", "verification", "verified_gbp", "disputed_gbp",
               "trust_score", "rate_card_id", "rate_card_from", "rate_card_event_id")
_V2_FIELDS = ("verification", "verified_gbp", "disputed_gbp")


def outcome_event(row: Mapping[str, Any]) -> VisitOutcomeRecorded:
    """Return the outcome event a ``visit_outcomes`` row was written from.

    Args:
        row: the row's ``OUTCOME_EVENT_COLUMNS`` by name.

    Raises:
        pydantic.ValidationError: the row does not make a valid outcome (naming the field).

    """
    fields = {k: row[k] for k in _FIELDS if k not in _NOT_FIELDS}
    fields["occurred_at"] = row["recorded_at"]
    fields.update(row["extra"] or {})  # before storage migration 0025, the rate card too
    if row["rate_card_id"] is not None:
        fields["rate_card"] = {"id": row["rate_card_id"], "effective_from": row["rate_card_from"],
                               "event_id": row["rate_card_event_id"]}
    if row["schema_version"] == 3:  # version 2's fields and the trust score (in extra: the rest)
        fields.update({k: row[k] for k in _V2_FIELDS}, trust_score=row["trust_score"])
        return VisitOutcomeRecordedV3.model_validate(fields)
    if row["schema_version"] == 2:
        fields.update({k: row[k] for k in _V2_FIELDS})
        return VisitOutcomeRecordedV2.model_validate(fields)
    return VisitOutcomeRecorded.model_validate(fields)


def outcome_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the outcome event of a ``visit_outcomes`` row in its JSON wire form."""
    return outcome_event(row).model_dump(mode="json")
