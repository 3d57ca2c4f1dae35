"""Electronic call monitoring events: carers checking in and out, and audited corrections."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from ecm.contracts.common import CheckMethod, ContractEvent, Identifier, Location


class _CarerCall(ContractEvent):
    provider_id: Identifier
    visit_id: Identifier = Field(
        description="The planned visit; an id not on the rota makes an unscheduled visit."
    )
    client_id: Identifier
    carer_id: Identifier
    method: CheckMethod
    location: Location | None = Field(
        default=None, description="Only for app check-ins; used for the distance check."
    )
    reason_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Why the time was not captured electronically; required for manual entries.",
    )

    @model_validator(mode="after")
    def _manual_needs_reason(self) -> _CarerCall:
        if self.method is CheckMethod.MANUAL and self.reason_code is None:
            raise ValueError("reason_code: required when method is manual")
        return self


class CarerCheckedIn(_CarerCall):
    """A carer arrived at the client's home; ``occurred_at`` is the check-in time."""

    event_type: Literal["carer_checked_in"] = "carer_checked_in"


class CarerCheckedOut(_CarerCall):
    """A carer left the client's home; ``occurred_at`` is the check-out time."""

    event_type: Literal["carer_checked_out"] = "carer_checked_out"


class CallTimeCorrected(ContractEvent):
    """An office coordinator's audited correction of a check-in or check-out time.

    The original capture is never overwritten: the correction is a new fact naming
    who made it and why; the corrected time counts as a manual (non-electronic) entry.
    """

    event_type: Literal["call_time_corrected"] = "call_time_corrected"
    provider_id: Identifier
    visit_id: Identifier
    carer_id: Identifier
    corrects: Literal["check_in", "check_out"]
    corrected_time: AwareDatetime
    reason_code: str = Field(min_length=1, max_length=40)
    corrected_by: Identifier = Field(description="The user who made the correction.")
