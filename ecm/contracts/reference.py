"""Reference data: lots, providers, clients, carers, care packages, rate cards, rules.

Reference data is versioned in time: each record applies from a local date, and a
later record for the same id supersedes it from its own date without rewriting the past.
"""

from __future__ import annotations

from datetime import date as date_type
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecm.contracts.common import (
    ContractEvent,
    Effective,
    Factor,
    Identifier,
    Location,
    Money,
    ProviderKind,
    Rurality,
    Service,
    Tier,
)


class LotDefined(ContractEvent, Effective):
    """A lot ("cluster") of the county, built from ONS MSOAs."""

    event_type: Literal["lot_defined"] = "lot_defined"
    lot_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    msoa_codes: tuple[str, ...] = ()


class ProviderRegistered(ContractEvent, Effective):
    """A homecare provider, on the framework or spot-purchased, and the lots it holds."""

    event_type: Literal["provider_registered"] = "provider_registered"
    provider_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    kind: ProviderKind
    lot_ids: tuple[Identifier, ...] = ()


class ClientRegistered(ContractEvent, Effective):
    """A person receiving care, known only by a pseudonymous id.

    The registered location is what app check-ins are measured against.
    """

    event_type: Literal["client_registered"] = "client_registered"
    client_id: Identifier
    lot_id: Identifier
    rurality: Rurality
    location: Location | None = None


class CarerRegistered(ContractEvent, Effective):
    """A care worker employed by a provider."""

    event_type: Literal["carer_registered"] = "carer_registered"
    provider_id: Identifier
    carer_id: Identifier


class CarePackageAgreed(ContractEvent, Effective):
    """Commissioned weekly hours for one client, by provider, lot and service."""

    event_type: Literal["care_package_agreed"] = "care_package_agreed"
    package_id: Identifier
    client_id: Identifier
    provider_id: Identifier
    lot_id: Identifier
    service: Service
    tier: Tier = Tier.STANDARD
    weekly_hours: Decimal = Field(ge=0, le=168, max_digits=7, decimal_places=2)


class CallLengthFactor(BaseModel):
    """Calls of at most ``up_to_minutes`` paid minutes are paid ``factor`` × the hourly rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to_minutes: int = Field(gt=0, le=24 * 60)
    factor: Factor


DEFAULT_CALL_LENGTH_FACTORS = (
    CallLengthFactor(up_to_minutes=30, factor=Decimal("0.60")),
    CallLengthFactor(up_to_minutes=45, factor=Decimal("0.80")),
)


class RateCardPublished(ContractEvent, Effective):
    """An hourly rate for a lot, service and tier.

    Without ``provider_id`` it is the framework rate for the lot; with it, an
    off-framework provider's individually negotiated rate, which takes precedence.
    """

    event_type: Literal["rate_card_published"] = "rate_card_published"
    rate_card_id: Identifier
    provider_id: Identifier | None = None
    lot_id: Identifier
    service: Service
    tier: Tier = Tier.STANDARD
    hourly_rate: Money
    rurality_weighting: dict[Rurality, Factor] = Field(
        default_factory=dict,
        description="Multiplier by the client's rurality class; a missing class weighs 1.",
    )
    call_length_factors: tuple[CallLengthFactor, ...] = DEFAULT_CALL_LENGTH_FACTORS

    @model_validator(mode="after")
    def _factors_ascending(self) -> RateCardPublished:
        limits = [f.up_to_minutes for f in self.call_length_factors]
        if limits != sorted(set(limits)):
            raise ValueError("call_length_factors: up_to_minutes must be strictly ascending")
        return self


class ContractRules(BaseModel):
    """Overrides of the default contract rules; a field left out keeps its default.

    Minutes are whole minutes; ratios are fractions of one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    punctuality_window_minutes: int | None = Field(default=None, ge=0, le=240)
    not_arrived_after_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    time_critical_not_arrived_after_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    missed_after_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    no_checkout_after_end_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    short_visit_ratio: Decimal | None = Field(default=None, ge=0, le=1)
    gps_distance_limit_m: int | None = Field(default=None, ge=1, le=100_000)
    implausible_duration_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class ContractRulesSet(ContractEvent):
    """Rules that apply from a date, for every lot and service or only one of each."""

    event_type: Literal["contract_rules_set"] = "contract_rules_set"
    rules_id: Identifier
    lot_id: Identifier | None = None
    service: Service | None = None
    effective_from: date_type = Field(description="First local day the rules apply.")
    rules: ContractRules


class ContractRulesV2(ContractRules):
    """Version 2 rules: version 1's, and the rules of closing the loop (docs/rules.md)."""

    late_correction_days: int | None = Field(default=None, ge=0, le=365)
    frustrated_pay_share: Decimal | None = Field(default=None, ge=0, le=1)
    escalate_to_council_after_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    escalate_to_manager_after_minutes: int | None = Field(default=None, ge=1, le=24 * 60)


class ContractRulesSetV2(ContractRulesSet):
    """Rules that apply from a date (schema version 2: the rules of closing the loop).

    Sent only when it sets a rule version 1 cannot say.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    rules: ContractRulesV2


class ContractRulesV3(ContractRulesV2):
    """Version 3 rules: version 2's, and the travel model of rota realism (docs/rules.md).

    Speeds are whole km/h by the rurality class of the clients at either end; the road
    factor is road distance over straight-line distance.
    """

    travel_road_factor: Decimal | None = Field(default=None, ge=1, le=5, max_digits=4,
                                               decimal_places=2)
    travel_speed_kmh_urban: int | None = Field(default=None, ge=1, le=130)
    travel_speed_kmh_rural_town_fringe: int | None = Field(default=None, ge=1, le=130)
    travel_speed_kmh_rural_village_dispersed: int | None = Field(default=None, ge=1, le=130)
    travel_overhead_minutes: int | None = Field(default=None, ge=0, le=120)


class ContractRulesSetV3(ContractRulesSet):
    """Rules that apply from a date (schema version 3: the travel model of rota realism).

    Sent only when it sets a rule versions 1 and 2 cannot say.
    """

    schema_version: Literal[3] = 3  # type: ignore[assignment]
    rules: ContractRulesV3
