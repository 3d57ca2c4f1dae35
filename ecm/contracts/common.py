"""Building blocks shared by every contract-v1 event: the base model, ids and enums."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Literal[1] = 1

Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="An opaque identifier: letters, digits and . _ : - (at most 64 characters).",
    ),
]
"""Ids of visits, carers, providers, lots and events. Client ids are pseudonymous."""

Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=4, description="Pounds sterling."),
]
Factor = Annotated[Decimal, Field(gt=0, le=10, max_digits=6, decimal_places=4)]


class Service(StrEnum):
    """The commissioned services in scope (docs/rules.md, 'Services, lots and time')."""

    HOME_CARE = "home_care"
    SUPPORTING_INDEPENDENCE = "supporting_independence"
    EXTRA_CARE = "extra_care"
    PRISON_CARE = "prison_care"
    DISABLED_CHILDREN = "disabled_children"
    DISCHARGE_TO_ASSESS = "discharge_to_assess"


class Tier(StrEnum):
    """Standard or complex support, priced differently."""

    STANDARD = "standard"
    COMPLEX = "complex"


class Rurality(StrEnum):
    """ONS rural-urban class of the client's postcode (broad 2011 classes)."""

    URBAN = "urban"
    RURAL_TOWN_FRINGE = "rural_town_fringe"
    RURAL_VILLAGE_DISPERSED = "rural_village_dispersed"


class ProviderKind(StrEnum):
    """Framework (contracted) providers and off-framework (spot-purchased) ones."""

    FRAMEWORK = "framework"
    OFF_FRAMEWORK = "off_framework"


class CheckMethod(StrEnum):
    """How a check-in or check-out was captured."""

    APP_GPS = "app_gps"
    TELEPHONY = "telephony"
    NFC = "nfc"
    QR = "qr"
    MANUAL = "manual"


class CancelledBy(StrEnum):
    """Who cancelled a visit; a provider's cancellation counts as a missed visit."""

    CLIENT = "client"
    COUNCIL = "council"
    HOSPITAL_ADMISSION = "hospital_admission"
    PROVIDER = "provider"


class Location(BaseModel):
    """A point reported by a carer's phone, with the accuracy the phone claimed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90, description="WGS84 latitude in degrees.")
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude in degrees.")
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class ContractEvent(BaseModel):
    """Fields every contract-v1 event carries.

    Events are immutable facts: frozen, unknown fields rejected, one ``event_id`` each
    (sending the same event twice must change nothing downstream).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    event_id: Identifier
    event_type: str
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: AwareDatetime = Field(description="When it happened, with a UTC offset.")


class Effective(BaseModel):
    """A validity period in local (Europe/London) calendar days, both ends inclusive."""

    effective_from: date
    effective_to: date | None = Field(
        default=None, description="Last day it applies (inclusive); open-ended when absent."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to: must not be before effective_from")
        return self
