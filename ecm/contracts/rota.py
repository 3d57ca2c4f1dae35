"""What ecm says of a provider's rota: the time it leaves a carer to travel between visits."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import Field

from ecm.contracts.common import ContractEvent, Identifier, Service


class GapStatus(StrEnum):
    """What can be said of the time a carer's rota leaves before one visit."""

    JUDGED = "judged"
    FIRST_OF_DAY = "first_of_day"
    TRAVEL_UNKNOWN = "travel_unknown"
    WITHDRAWN = "withdrawn"


class TravelGapJudged(ContractEvent):
    """The time a carer's rota leaves before one visit, and the travel it needs.

    One record per carer and planned visit (``gap_id`` is ``visit_id:carer_id``); a later
    record for the same ``gap_id`` supersedes an earlier one (the rota changed).
    ``gap_seconds`` runs from the end of the carer's previous visit that day to this one's
    planned start (negative: the plan overlaps it); ``travel_seconds`` is the contract's
    travel estimate between the two clients' homes (docs/rules.md, "Rota realism").
    ``short`` gaps raise ``insufficient_travel_time``; ``withdrawn`` means the visit is no
    longer on this carer's rota.
    """

    event_type: Literal["travel_gap_judged"] = "travel_gap_judged"
    gap_id: str = Field(min_length=1, max_length=140)
    carer_id: Identifier
    visit_id: Identifier
    provider_id: Identifier
    client_id: Identifier
    lot_id: Identifier | None
    service: Service | None
    iso_week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="ISO week, Europe/London.")
    local_date: date = Field(description="Day of the visit's planned start.")
    status: GapStatus
    previous_visit_id: Identifier | None = None
    previous_client_id: Identifier | None = None
    gap_seconds: int | None = None
    travel_seconds: int | None = Field(default=None, ge=0)
    straight_m: int | None = Field(default=None, ge=0)
    short: bool = False
    shortfall_seconds: int = Field(default=0, ge=0,
                                   description="Travel time the rota did not allow.")
