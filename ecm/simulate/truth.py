"""The simulator's ground truth: what ecm should find, written next to the events.

Never on the wire: ``ecm simulate --out week.jsonl`` writes it to ``week.truth.jsonl``
(``truth_path``), one JSON object per line, for benchmarks to measure recall and
precision against. Two kinds of line:

* ``{"record": "visit", ...}``: a planned visit that was late (first check-in more than
  the default 15 minutes after its planned start) or missed, with ``cause`` (why the
  carer was late: ``previous_overran``, ``travel``, ``rota_gap_too_short``,
  ``carer_absent``, ``carer_late``, ``carer_slightly_late``, ``crew_started_late``, or
  why the visit was missed: ``carer_did_not_come``, ``provider_cancelled``) and
  ``root_cause`` (what started a delay passed along the run).
* ``{"record": "gap", ...}``: every pair of consecutive visits on a carer's planned day
  (after rota changes and cancellations), with the gap the rota left, the travel the
  simulated carer really needs (``ecm.simulate.geo.travel_minutes``), ``too_short``,
  ``deliberate`` (planned too short on purpose, ``ecm.simulate.rota``) and ``named``
  (the provider names planned carers on the wire, so ecm can see the gap).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ecm.contracts import CancelledBy, Rurality
from ecm.simulate.behaviour import MINUTE, VisitStory
from ecm.simulate.geo import travel_minutes

LATE_AFTER_SECONDS = 15 * 60
"""A visit is late when checked in more than this after its planned start (docs/rules.md)."""

Truth = dict[str, Any]


def names_planned_carers(provider_id: str) -> bool:
    """Whether a provider names planned carers on its rota (v2 events): nine in ten do."""
    return int(provider_id[1:]) % 10 != 0


def truth_path(events_path: str) -> Path:
    """Where the ground truth of an events file goes: ``x.jsonl`` -> ``x.truth.jsonl``."""
    path = Path(events_path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".truth.jsonl")


def day_truth(stories: list[VisitStory]) -> list[Truth]:
    """The ground truth of one day: its late or missed visits, then every carer's gaps."""
    records = [r for r in (visit_truth(s) for s in stories) if r is not None]
    return records + gap_truth(stories)


def visit_truth(story: VisitStory) -> Truth | None:
    """Why a planned visit was late or missed, if it was (else ``None``)."""
    if not story.scheduled:
        return None
    head = {"record": "visit", "visit_id": story.visit_id,
            "provider_id": story.package.provider_id, "planned_carer_ids": list(_carers(story)),
            "carer_ids": sorted({c.carer_id for c in story.checks})}
    if story.cancel is not None:
        if story.cancel[0] is not CancelledBy.PROVIDER:
            return None
        return head | {"outcome": "missed", "cause": "provider_cancelled",
                       "root_cause": "provider_cancelled", "lateness_minutes": None}
    check_ins = [c.at for c in story.checks if c.checked_in]
    if not check_ins:
        cause = story.cause or "carer_did_not_come"
        return head | {"outcome": "missed", "cause": cause,
                       "root_cause": story.root_cause or cause, "lateness_minutes": None}
    late = min(check_ins) - story.actual_start
    if late <= LATE_AFTER_SECONDS:
        return None
    return head | {"outcome": "late", "cause": story.cause or "carer_slightly_late",
                   "root_cause": story.root_cause or story.cause or "carer_slightly_late",
                   "lateness_minutes": late // MINUTE}


def gap_truth(stories: list[VisitStory]) -> list[Truth]:
    """Every consecutive pair of visits on each carer's planned day, by carer then time."""
    by_carer: dict[str, list[VisitStory]] = {}
    for story in stories:
        if story.scheduled and story.cancel is None:
            for carer in _carers(story):
                by_carer.setdefault(carer, []).append(story)
    records = []
    for carer, visits in sorted(by_carer.items()):
        visits.sort(key=lambda s: (s.actual_start, s.visit_id))
        for previous, story in zip(visits, visits[1:], strict=False):
            records.append(_gap(carer, previous, story))
    return records


def _gap(carer: str, previous: VisitStory, story: VisitStory) -> Truth:
    gap = story.actual_start - (previous.actual_start + previous.minutes * MINUTE)
    client = story.package.client
    same = previous.package.client.client_id == client.client_id
    travel = 0 if same else travel_minutes(previous.package.client.location, client.location,
                                           client.rurality is not Rurality.URBAN)
    return {"record": "gap", "carer_id": carer, "visit_id": story.visit_id,
            "previous_visit_id": previous.visit_id, "provider_id": story.package.provider_id,
            "gap_minutes": gap // MINUTE, "travel_minutes": travel,
            "too_short": gap < travel * MINUTE,
            "deliberate": story.squeezed_after == previous.visit_id,
            "named": names_planned_carers(story.package.provider_id)}


def _carers(story: VisitStory) -> tuple[str, ...]:
    """The carers finally planned for a visit (after a rota change naming others)."""
    return story.recrew[0] if story.recrew is not None else story.planned_carers


def write_truth(handle: Any, records: list[Truth]) -> None:
    """Append ground-truth records to an open binary file, one JSON object a line."""
    for record in records:
        handle.write(json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n")
