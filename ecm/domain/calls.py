"""One carer's calls at one visit: check-in, check-out and audited corrections.

The original capture is never overwritten: a correction is kept beside it, the
corrected time counts, and the change goes into an audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ecm.domain.events import CallTimeCorrected, CarerCall


@dataclass(frozen=True, slots=True)
class CorrectionAudit:
    """Who changed which time, when, from what (``None``: nothing captured) to what."""

    carer_id: str
    corrects: str
    original: datetime | None
    corrected: datetime
    corrected_by: str
    corrected_at: datetime
    reason_code: str
    event_id: str


@dataclass(slots=True)
class CarerCalls:
    """The folded calls of one carer at one visit.

    ``check_in``/``check_out`` are the times that count (corrected when corrected);
    ``in_known_at``/``out_known_at`` are when the service first knew of them, which is
    what alerts are judged by.
    """

    carer_id: str
    check_in: datetime | None = None
    check_out: datetime | None = None
    in_known_at: datetime | None = None
    out_known_at: datetime | None = None
    first_in_call: CarerCall | None = None
    last_out_call: CarerCall | None = None
    manual: bool = False
    reason_codes: list[str] = field(default_factory=list)
    audit: list[CorrectionAudit] = field(default_factory=list)

    def apply_call(self, call: CarerCall) -> None:
        """Fold one check-in or check-out (events must come sorted by time, then id)."""
        if call.manual:
            self.manual = True
            if call.reason_code:
                self.reason_codes.append(call.reason_code)
        if call.check_in:
            if self.first_in_call is None:
                self.first_in_call = call
                self.in_known_at = _earliest(self.in_known_at, call.occurred_at)
                if not self._corrected(True):
                    self.check_in = call.occurred_at
        else:
            self.last_out_call = call
            self.out_known_at = _earliest(self.out_known_at, call.occurred_at)
            if not self._corrected(False):
                self.check_out = call.occurred_at

    def apply_correction(self, fix: CallTimeCorrected) -> None:
        """Fold one correction: the corrected time counts and the change is audited."""
        self.manual = True
        self.reason_codes.append(fix.reason_code)
        old = self.check_in if fix.check_in else self.check_out
        self.audit.append(
            CorrectionAudit(
                carer_id=fix.carer_id,
                corrects="check_in" if fix.check_in else "check_out",
                original=old,
                corrected=fix.corrected_time,
                corrected_by=fix.corrected_by,
                corrected_at=fix.occurred_at,
                reason_code=fix.reason_code,
                event_id=fix.event_id,
            )
        )
        if fix.check_in:
            self.check_in = fix.corrected_time
            self.in_known_at = _earliest(self.in_known_at, fix.occurred_at)
        else:
            self.check_out = fix.corrected_time
            self.out_known_at = _earliest(self.out_known_at, fix.occurred_at)

    def _corrected(self, check_in: bool) -> bool:
        kind = "check_in" if check_in else "check_out"
        return any(a.corrects == kind for a in self.audit)

    def duration_seconds(self) -> int | None:
        """Return check-out minus check-in in seconds, or ``None`` without both."""
        if self.check_in is None or self.check_out is None:
            return None
        return int((self.check_out - self.check_in).total_seconds())

    def verified_seconds(self, implausible_after_seconds: int) -> int | None:
        """Return the verified duration, or ``None`` if missing or implausible."""
        duration = self.duration_seconds()
        if duration is None or duration < 0 or duration > implausible_after_seconds:
            return None
        return duration


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def fold_carer(carer_id: str, events: Iterable[CarerCall | CallTimeCorrected]) -> CarerCalls:
    """Fold one carer's calls and corrections, already sorted by (occurred_at, event_id)."""
    calls = CarerCalls(carer_id)
    for event in events:
        if isinstance(event, CarerCall):
            calls.apply_call(event)
        else:
            calls.apply_correction(event)
    return calls
