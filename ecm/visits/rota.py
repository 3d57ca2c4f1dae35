"""The rota ledger: rota realism, keyed by carer, for ``ecm replay`` and the worker.

A carer's planned day spans visits of other partitions, so each schedule event is
re-keyed to every carer planned on its visit before or after it (``rota_messages``):
the worker sends them on the carer-calls topic, ``ecm replay`` hands them over
in-process. This ledger keeps each carer's schedule events by visit
(``ecm.domain.rota.CarerRota``) and publishes, for every planned visit of the carer,
its gap record (``travel_gap_judged``) and, when the gap is shorter than the travel,
an ``insufficient_travel_time`` exception, resolved when a later change settles it.

The store holds one entry per carer and visit (``carer/visit``): that visit's schedule
events and what was last published about its gap. A change writes only the entries it
changed. A redelivered event publishes the current picture of its visit's day again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ecm import contracts as c
from ecm.domain.atrisk import next_visit_event, next_visits_of_day, word_of
from ecm.domain.events import NextVisitPlanned, VisitEvent
from ecm.domain.exceptions import ExceptionKind, exception_id
from ecm.domain.reference import ReferenceData
from ecm.domain.rota import CarerRota, ScheduleEvent, TravelGap, travel_exception
from ecm.domain.serial import compact_json, event_from_dict, event_to_dict
from ecm.domain.visit import VisitState, fold_visit
from ecm.visits.ledger import VisitLedger, VisitStore
from ecm.visits.translate import (
    exception_record,
    exception_resolved_record,
    schedule_record,
    travel_gap_record,
)

FORMAT = 1
"""The format of a stored entry: ``{"fmt": 1, "events", "g", "x", "p", "r"}``: the visit's
schedule events, the id of the gap record last published, what the open exception said
(``""``: none), the provider it was raised for and when it was last settled (``""``)."""

KIND = ExceptionKind.INSUFFICIENT_TRAVEL_TIME


def rota_messages(state: VisitState, event: ScheduleEvent) -> list[tuple[str, ScheduleEvent]]:
    """The schedule events each carer's rota needs after ``event``, by carer.

    A carer planned on the visit before and after it, or only before it, gets ``event``;
    a carer newly planned gets every schedule event of the visit (what came before put
    it on the rota). Deterministic in the visit's events, so a redelivery sends the same.
    """
    schedule = [e for e in state.facts().events if isinstance(e, ScheduleEvent)]
    before = fold_visit(state.visit_id, [e for e in schedule if e.event_id != event.event_id])
    after = state.facts().plan
    was = set(before.plan.planned_carer_ids) if before.plan else set()
    now = set(after.planned_carer_ids) if after else set()
    messages = [(carer, event) for carer in sorted(was)]
    messages += [(carer, e) for carer in sorted(now - was) for e in schedule]
    return messages


@dataclass(slots=True)
class _Said:
    """What was last published about one visit's gap for one carer."""

    gap: str = ""  # event id of the gap record ("" when none was published)
    exception: str = ""  # what the open exception says ("" when none is open)
    provider_id: str = ""
    resolved_at: datetime | None = None  # when the exception last raised was settled
    next_seq: int = 0  # how many words about the carer's next visit were sent (at risk)
    next_word: str = ""  # what the last of them said (``ecm.domain.atrisk.word_of``)


class RotaLedger:
    """Carers' planned days, and the gap records and exceptions already published."""

    def __init__(self, reference: ReferenceData, store: VisitStore) -> None:
        self.reference = reference
        self.store = store
        self._rotas: dict[str, CarerRota] = {}
        self._said: dict[str, dict[str, _Said]] = defaultdict(dict)  # carer, visit
        self._loaded = False
        self._whereabouts: list[NextVisitPlanned] = []

    def release(self) -> None:
        """Forget what is held in memory: the store is read again at the next event."""
        self._rotas, self._said, self._loaded = {}, defaultdict(dict), False
        self._whereabouts = []

    def take_whereabouts(self) -> list[NextVisitPlanned]:
        """Where each carer goes after their visits, told since the last call (at risk).

        Each goes to its visit (``Emission.whereabouts``; docs/rules.md, "At risk"): the
        visit keeps the word with the highest ``seq``.
        """
        taken, self._whereabouts = self._whereabouts, []
        return taken

    def on_schedule(
        self, carer_id: str, event: ScheduleEvent, said_at: datetime | None = None
    ) -> list[c.ContractEvent]:
        """Add a schedule event to a carer's rota; return the records that changed.

        Returns the gap records and exceptions of the carer's days the event touched
        (the day its visit was on and the day it is on); a redelivered event re-emits
        the current picture of those days. ``said_at``: the watermark when the event's
        visit received it (``None``: before any), from which the words it changes about
        where the carer goes next are in force (``take_whereabouts``).
        """
        if not self._loaded:
            self._load()
        rota = self._rotas.get(carer_id)
        if rota is None:
            rota = self._rotas[carer_id] = CarerRota(carer_id)
        try:
            return self._apply(rota, event, said_at)
        except Exception:
            self.release()  # changed in memory, maybe not in the store: read it again
            raise

    def _apply(
        self, rota: CarerRota, event: ScheduleEvent, said_at: datetime | None
    ) -> list[c.ContractEvent]:
        # Only three gaps can change: the visit's own, and those of the visits after it
        # before and after the event (the rest of the day keeps its neighbours).
        touched = {event.visit_id, rota.successor(event.visit_id)}
        days = rota.apply(event)
        touched.add(rota.successor(event.visit_id))
        if days is None:
            return self._republish(rota, event.visit_id, said_at)
        said = self._said[rota.carer_id]
        for visit_id in rota.forget_before():
            said.pop(visit_id, None)
            self.store.delete(_key(rota.carer_id, visit_id))
        records: list[c.ContractEvent] = []
        changed = {event.visit_id}
        for gap in self._gaps(rota, touched, event.visit_id):
            found = self._settle(rota.carer_id, gap, event.occurred_at)
            if found:
                records += found
                changed.add(gap.visit_id)
        changed |= self._tell_next(rota, days, event.occurred_at, said_at)
        for visit_id in sorted(changed & set(rota.events)):
            self._write(rota, visit_id)
        return records

    def _gaps(self, rota: CarerRota, touched: set[str | None], visit_id: str
              ) -> list[TravelGap]:
        """The gaps before the ``touched`` visits on the rota, and ``visit_id``'s withdrawal."""
        found = (rota.gap_of(v, self.reference) for v in sorted(v for v in touched if v))
        gaps = [gap for gap in found if gap is not None]
        gone = rota.withdrawn(visit_id, self.reference)
        if gone is not None and self._said[rota.carer_id].get(visit_id, _Said()).gap:
            gaps.append(gone)
        return gaps

    def _settle(self, carer_id: str, gap: TravelGap, now: datetime) -> list[c.ContractEvent]:
        """Compare a gap with what was published; return the records to send.

        An exception that no longer holds is settled at ``now`` (the schedule event that
        settled it), or at its raise if that is later.
        """
        said = self._said[carer_id].setdefault(gap.visit_id, _Said())
        records: list[c.ContractEvent] = []
        record = travel_gap_record(gap)
        if record.event_id != said.gap:
            records.append(record)
            said.gap = record.event_id
        exception = travel_exception(gap)
        text = "" if exception is None else f"{exception.at.isoformat()}|{exception.detail}"
        if text != said.exception:
            if exception is not None:
                records.append(exception_record(exception))
                said.provider_id, said.resolved_at = exception.provider_id, None
            else:
                raised = datetime.fromisoformat(said.exception.partition("|")[0])
                said.resolved_at = max(now, raised)
                records.append(_resolved(carer_id, gap.visit_id, said.provider_id,
                                         said.resolved_at))
            said.exception = text
        return records

    def _tell_next(self, rota: CarerRota, days: set[date], at: datetime,
                   said_at: datetime | None, again: bool = False) -> set[str]:
        """Tell each visit of ``days`` where the carer goes next, if that changed.

        With ``again`` (a redelivery), the current word is told again, unchanged.
        Returns the visits told something new.
        """
        told: set[str] = set()
        for day in sorted(days):
            for visit_id, provider_id, stop in next_visits_of_day(rota, day, self.reference):
                said = self._said[rota.carer_id].setdefault(visit_id, _Said())
                word = word_of(stop)
                if word != said.next_word:
                    said.next_seq, said.next_word = said.next_seq + 1, word
                    told.add(visit_id)
                elif not again:
                    continue
                self._whereabouts.append(next_visit_event(
                    rota.carer_id, visit_id, provider_id, stop, at, said.next_seq, said_at))
        return told

    def _republish(
        self, rota: CarerRota, visit_id: str, said_at: datetime | None
    ) -> list[c.ContractEvent]:
        """The current picture of a visit's day (or its withdrawal), sent again."""
        day = rota.day_of(visit_id)
        gaps = rota.gaps(day, self.reference) if day is not None else []
        gone = rota.withdrawn(visit_id, self.reference)
        if gone is not None and self._said[rota.carer_id].get(visit_id, _Said()).gap:
            gaps.append(gone)
        if day is not None:
            latest = max(e.occurred_at for e in rota.events[visit_id].values())
            self._tell_next(rota, {day}, latest, said_at, again=True)
        records: list[c.ContractEvent] = []
        for gap in gaps:
            said = self._said[rota.carer_id].get(gap.visit_id, _Said())
            if said.gap:
                records.append(travel_gap_record(gap))
            exception = travel_exception(gap)
            if exception is not None:
                records.append(exception_record(exception))
            elif said.resolved_at is not None:  # raised once and since settled
                records.append(_resolved(rota.carer_id, gap.visit_id, said.provider_id,
                                         said.resolved_at))
        return records

    def _write(self, rota: CarerRota, visit_id: str) -> None:
        said = self._said[rota.carer_id].get(visit_id) or _Said()
        events = rota.events[visit_id]
        entry = {"fmt": FORMAT, "events": [event_to_dict(events[i]) for i in sorted(events)],
                 "g": said.gap, "x": said.exception, "p": said.provider_id,
                 "r": said.resolved_at.isoformat() if said.resolved_at else "",
                 "n": [said.next_seq, said.next_word]}
        self.store.put(_key(rota.carer_id, visit_id), compact_json(entry))

    def _load(self) -> None:
        for key, raw in self.store.items():
            carer_id, _, visit_id = key.partition("/")
            entry = _decode(raw)
            rota = self._rotas.get(carer_id)
            if rota is None:
                rota = self._rotas[carer_id] = CarerRota(carer_id)
            events = [event_from_dict(item) for item in entry["events"]]
            rota.load(visit_id, (e for e in events if isinstance(e, ScheduleEvent)))
            resolved = datetime.fromisoformat(entry["r"]) if entry["r"] else None
            seq, word = entry.get("n", (0, ""))  # absent: stored before "at risk"
            self._said[carer_id][visit_id] = _Said(entry["g"], entry["x"], entry["p"], resolved,
                                                   seq, word)
        self._loaded = True


def _decode(raw: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(raw)
    if entry.get("fmt") != FORMAT:
        raise ValueError(f"stored rota entry format {entry.get('fmt')!r} is unknown")
    return entry


def _key(carer_id: str, visit_id: str) -> str:
    return f"{carer_id}/{visit_id}"


def _resolved(
    carer_id: str, visit_id: str, provider_id: str, at: datetime
) -> c.VisitExceptionResolved:
    return exception_resolved_record(exception_id(visit_id, KIND, carer_id), KIND.value,
                                     visit_id, provider_id, at)


def rota_routes(ledger: VisitLedger, event: VisitEvent) -> list[tuple[bytes, bytes]]:
    """What the visit agent sends on the carer-calls topic after a schedule event.

    ``rota_messages`` of the event's visit as held by ``ledger``, each as (carer id,
    contract event) bytes, keyed by carer; nothing for any other event. The carer agent
    reads each back with ``visit_event`` into the same domain event ``ecm replay`` hands
    to ``RotaLedger.on_schedule``.
    """
    if not isinstance(event, ScheduleEvent):
        return []
    state = ledger.state(event.visit_id)
    if state is None:
        return []
    return [(carer.encode(), c.dump_event(schedule_record(message)))
            for carer, message in rota_messages(state, event)]
