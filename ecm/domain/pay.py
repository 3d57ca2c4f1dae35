"""Pay on actuals: what one visit earns a provider, in pounds and pence.

Paid minutes are the lesser of planned and verified actual time. Calls of up to 30
minutes pay 0.60 × the hourly rate, up to 45 minutes 0.80 ×; longer calls pay the
hourly rate × the time rounded up to the next quarter hour. The client's rurality
weighting multiplies the result. Each carer of a double-handed visit is paid separately;
the total is rounded half-up to the penny once per visit.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from ecm.domain.reference import RateCard

PENNY = Decimal("0.01")
QUARTER_HOUR_SECONDS = 15 * 60


def round_to_penny(amount: Decimal) -> Decimal:
    """Round an amount of pounds half-up to the penny."""
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def paid_seconds(planned_seconds: int, verified_seconds: int) -> int:
    """Return the time that is paid: the lesser of planned and verified actual."""
    return max(0, min(planned_seconds, verified_seconds))


def call_pay(seconds: int, card: RateCard, rurality: str | None) -> Decimal:
    """Return one carer's unrounded pay for ``seconds`` of paid time on a rate card.

    Zero seconds pay nothing; a band of ``call_length_factors`` applies up to and
    including its limit; beyond the last band, quarter hours are rounded up.
    """
    if seconds <= 0:
        return Decimal(0)
    weighting = card.rurality_weighting.get(rurality, Decimal(1)) if rurality else Decimal(1)
    for up_to_minutes, factor in card.call_length_factors:
        if seconds <= up_to_minutes * 60:
            return card.hourly_rate * factor * weighting
    quarters = -(-seconds // QUARTER_HOUR_SECONDS)
    return card.hourly_rate * quarters / 4 * weighting


def visit_pay(
    planned_seconds: int, verified: Iterable[int], card: RateCard, rurality: str | None
) -> Decimal:
    """Return a visit's pay: each carer's verified time paid separately, rounded once."""
    total = sum(
        (call_pay(paid_seconds(planned_seconds, s), card, rurality) for s in verified),
        Decimal(0),
    )
    return round_to_penny(total)


def frustrated_pay(
    planned_seconds: int, carers: int, card: RateCard, rurality: str | None, share: Decimal
) -> Decimal:
    """Return a frustrated visit's pay: ``share`` of what the planned call would pay.

    The planned call is each of the ``carers`` it needs paid for the planned time; the
    share applies before the one rounding to the penny.
    """
    if share <= 0:
        return round_to_penny(Decimal(0))
    whole = sum((call_pay(planned_seconds, card, rurality) for _ in range(carers)), Decimal(0))
    return round_to_penny(whole * share)
