"""Derive a visit's outcome and exceptions at a watermark: the one call that judges a visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ecm.domain.context import visit_context
from ecm.domain.exceptions import VisitException, orphan_exceptions, visit_exceptions
from ecm.domain.outcome import VisitOutcome, derive_outcome
from ecm.domain.reference import ReferenceData
from ecm.domain.visit import VisitState


@dataclass(frozen=True, slots=True)
class VisitResult:
    """A visit's outcome (``None`` when it was neither planned nor visited) and exceptions."""

    outcome: VisitOutcome | None
    exceptions: tuple[VisitException, ...]


def derive(
    state: VisitState, reference: ReferenceData, watermark: datetime, inclusive: bool = False
) -> VisitResult:
    """Judge one visit: a pure function of its events, the reference data and the watermark.

    Reference data is resolved now, by the visit's local day, so the order it arrived in
    does not matter.
    """
    facts = state.facts()
    context = visit_context(facts, reference)
    if context is None:
        return VisitResult(None, tuple(orphan_exceptions(facts)))
    outcome = derive_outcome(facts, context, reference, watermark, inclusive)
    found = visit_exceptions(facts, context, outcome, reference)
    return VisitResult(outcome, tuple(found))
