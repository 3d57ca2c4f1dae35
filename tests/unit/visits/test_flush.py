"""The flush at the end of an extract judges what time can still change, not settled visits.

A rate published for the past must not rewrite an outcome already recorded: the worker
notes it as due for ``ecm recalc`` (docs/rules.md, "Recalculation"). Seen with a worker
in replay mode: a week published, then a backdated rate card, and the second extract's
flush rewrote every visit's pay.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from domain.builders import T0, check_in, check_out, planned, reference

from ecm import contracts as c
from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.events import VisitEvent
from ecm.domain.reference import RateCard, ReferenceData, Validity
from ecm.visits.ledger import DictStore, Emission, Position, VisitLedger

UPLIFT = RateCard(Validity(date(2026, 11, 1), event_id="rc1-uplift"), "RC1", None, "L1",
                  "home_care", "standard", Decimal("30.00"))
"""Published after the week, effective from before it: £21 an hour becomes £30."""


class Worker:
    """A ledger fed as a replay-mode worker is: events, a tick after each, a flush."""

    def __init__(self, ref: ReferenceData) -> None:
        self.ledger = VisitLedger(ref, DictStore())
        self.offset = 0

    def position(self) -> Position:
        """The next message on the partition."""
        self.offset += 1
        return Position(0, "visit-events", self.offset)

    def extract(self, events: list[VisitEvent], flush: bool = True) -> Emission:
        """One ``ecm publish``: each event, the tick it moves the watermark to, the flush."""
        emission = Emission()
        for event in events:
            emission += self.ledger.on_event(self.position(), event, self.ledger.watermark(0))
            emission += self.ledger.on_watermark(self.position(), event.occurred_at)
        if flush:
            emission += self.ledger.on_watermark(self.position(), END_OF_TIME, flush=True)
        return emission


def _outcomes(emission: Emission) -> dict[str, c.VisitOutcomeRecordedV3]:
    return {r.visit_id: r for r in emission.records if isinstance(r, c.VisitOutcomeRecordedV3)}


def _card(outcome: c.VisitOutcomeRecordedV3) -> str | None:
    return None if outcome.rate_card is None else outcome.rate_card.event_id


def test_a_rate_published_for_the_past_leaves_settled_visits_to_a_recalculation() -> None:
    ref = reference(rate="21.00")
    worker = Worker(ref)
    tuesday = T0 + timedelta(days=1)
    week = _outcomes(worker.extract([
        planned("V1"), check_in(0, visit="V1"), check_out(60, visit="V1"),
        planned("V2", start=tuesday), check_in(0, visit="V2", base=tuesday),
    ]))
    assert week["V1"].payable_gbp == Decimal("21.00") and _card(week["V1"]) == "v"

    ref.add(UPLIFT)  # the next extract: the rate card, a check-out sent late, the flush
    later = _outcomes(worker.extract([check_out(60, visit="V2", base=tuesday)]))

    assert "V1" not in later  # its recorded outcome stays as it is
    assert later["V2"].payable_gbp == Decimal("30.00") and _card(later["V2"]) == "rc1-uplift"
    recalculated = _outcomes(worker.ledger.judge_every_visit(worker.position(), END_OF_TIME))
    assert recalculated["V1"].payable_gbp == Decimal("30.00")  # what ecm recalc would apply


def test_a_deadline_falling_due_at_the_flush_is_judged_under_the_rate_known_then() -> None:
    ref = reference(rate="21.00")
    worker = Worker(ref)
    friday = T0 + timedelta(days=4)
    first = _outcomes(worker.extract([
        planned("V1"), check_in(0, visit="V1"), check_out(60, visit="V1"),
        planned("V3", start=friday),
    ], flush=False))  # a part: more of the extract follows
    assert _card(first["V3"]) == "v" and first["V3"].status == "planned"

    ref.add(UPLIFT)
    flushed = _outcomes(worker.extract([]))

    assert set(flushed) == {"V3"}  # its missed deadline fell due at the flush; V1 had none
    assert flushed["V3"].status == "missed" and _card(flushed["V3"]) == "rc1-uplift"
