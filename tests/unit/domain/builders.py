"""Small builders of domain events for the unit tests (times are UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ecm.domain import events as d
from ecm.domain.geo import distance_m
from ecm.domain.reference import (
    CarerRecord,
    ClientRecord,
    PackageRecord,
    PublishedCodes,
    RateCard,
    ReferenceData,
    Validity,
)
from ecm.domain.workflow import Code, CodeList

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday of 2026-W47
VALID = Validity(date(2026, 1, 1), event_id="v")


def at(minutes: float, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes)


def planned(visit="V1", start=T0, minutes=60, carers=1, critical=False, client="C1",
            provider="P1", eid=None, occurred=None) -> d.VisitPlanned:
    return d.VisitPlanned(eid or f"plan-{visit}", occurred or start - timedelta(days=7), visit,
                          provider, client, "home_care", "standard", start,
                          start + timedelta(minutes=minutes), carers, critical)


def check_in(minute: float, carer="K1", visit="V1", method="app_gps", eid=None, lat=None,
             lon=None, client="C1", base=T0, reason=None, accuracy=None) -> d.CarerCall:
    when = at(minute, base)
    # What the translator does with a fix: the distance from C1's location (51.2, 1.0).
    distance = None if lat is None else distance_m(lat, lon, 51.2, 1.0)
    return d.CarerCall(eid or f"in-{visit}-{carer}-{minute}", when, visit, "P1", client, carer,
                       True, method, distance, accuracy,
                       reason or ("R" if method == "manual" else None))


def check_out(minute: float, carer="K1", visit="V1", method="app_gps", eid=None, client="C1",
              base=T0) -> d.CarerCall:
    when = at(minute, base)
    return d.CarerCall(eid or f"out-{visit}-{carer}-{minute}", when, visit, "P1", client, carer,
                       False, method, None, None, "R" if method == "manual" else None)


def cancelled(by: str, minute: float, visit="V1", base=T0) -> d.VisitCancelled:
    return d.VisitCancelled(f"cancel-{visit}-{by}-{minute}", at(minute, base), visit, "P1", by)


def corrected(check_in_: bool, to_minute: float, made_minute: float, carer="K1",
              visit="V1") -> d.CallTimeCorrected:
    return d.CallTimeCorrected(f"fix-{visit}-{carer}-{check_in_}-{made_minute}", at(made_minute),
                               visit, "P1", carer, check_in_, at(to_minute), "FORGOT", "OFFICE1")


def reference(rate="21.00", weighting=None, rurality="urban", lat=51.2, lon=1.0) -> ReferenceData:
    ref = ReferenceData()
    ref.add(ClientRecord(VALID, "C1", "L1", rurality, lat, lon))
    ref.add(ClientRecord(Validity(date(2026, 1, 1), event_id="v2"), "C2", "L1", "urban"))
    for carer in ("K1", "K2", "K3"):
        ref.add(CarerRecord(Validity(date(2026, 1, 1), event_id=f"v-{carer}"), carer, "P1"))
    ref.add(RateCard(VALID, "RC1", None, "L1", "home_care", "standard", Decimal(rate),
                     {k: Decimal(v) for k, v in (weighting or {}).items()}))
    ref.add(PackageRecord(Validity(date(2026, 1, 1), event_id="pk"), "PK1", "C1", "P1", "L1",
                          "home_care", "standard", Decimal("7")))
    return ref


CODES = CodeList("kent-1", date(2026, 1, 1), None, (
    Code("phone_battery_dead", "explanation", settles=frozenset({"manual_entry",
                                                                  "gps_distance"})),
    Code("traffic", "explanation"),
    Code("other", "explanation", note_required=True),
    Code("evidence_accepted", "resolution"),
    Code("not_credible", "resolution"),
    Code("carer_sent", "alert_outcome"),
    Code("no_answer", "frustration"),
))


def with_codes(ref: ReferenceData, codes: CodeList = CODES) -> ReferenceData:
    """The reference data with the council's code list published."""
    ref.add(PublishedCodes(Validity(codes.effective_from, codes.effective_to,
                                    event_id=f"codes-{codes.list_id}"), codes))
    return ref


def explained(exception_id: str, minute: float, code="traffic", role="provider",
              provider="P1", note=None, visit="V1") -> d.ExceptionExplained:
    return d.ExceptionExplained(f"explain-{exception_id}-{minute}", at(minute), visit,
                                provider, "office-1", role, exception_id, code, note)


def decided(exception_id: str, minute: float, accepted=True, code="evidence_accepted",
            role="contract_manager", visit="V1") -> d.ExceptionDecided:
    return d.ExceptionDecided(f"decide-{exception_id}-{minute}", at(minute), visit, "P1",
                              "cm-1", role, exception_id, accepted, code)


def correction_decided(correction: str, minute: float, accepted=True,
                       role="contract_manager") -> d.CorrectionDecided:
    return d.CorrectionDecided(f"decide-{correction}-{minute}", at(minute), "V1", "P1", "cm-1",
                               role, correction, accepted)


def frustrated(minute: float, code="no_answer", role="provider", eid=None,
               visit="V1") -> d.VisitFrustrated:
    return d.VisitFrustrated(eid or f"frustrated-{visit}-{minute}", at(minute), visit, "P1",
                             "K1", role, "C1", "K1", code)


def acknowledged(minute: float, kind="not_arrived", role="provider", by="oncall-1",
                 visit="V1") -> d.AlertAcknowledged:
    return d.AlertAcknowledged(f"ack-{visit}-{kind}-{minute}", at(minute), visit, "P1", by,
                               role, f"{visit}:{kind}", "phoned the carer")


def escalated(minute: float, tier: str, kind="not_arrived", role="duty_officer",
              visit="V1") -> d.AlertEscalated:
    return d.AlertEscalated(f"escalate-{visit}-{kind}-{minute}", at(minute), visit, "P1",
                            "duty-1", role, f"{visit}:{kind}", tier)


def closed(minute: float, code="carer_sent", kind="not_arrived", role="duty_officer",
           visit="V1") -> d.AlertClosed:
    return d.AlertClosed(f"close-{visit}-{kind}-{minute}", at(minute), visit, "P1", "duty-1",
                         role, f"{visit}:{kind}", code)
