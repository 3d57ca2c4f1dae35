"""Overlapping visits: one carer checked in at two clients at the same time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecm.domain.carers import CarerTimeline
from ecm.domain.exceptions import ExceptionKind

from .builders import at, check_in, check_out


def timeline(*stays: tuple[str, str, float, float]) -> CarerTimeline:
    """Build carer K1's timeline from (visit, client, in minute, out minute) stays."""
    line = CarerTimeline("K1")
    for visit, client, start, end in stays:
        line.apply(check_in(start, visit=visit, client=client))
        line.apply(check_out(end, visit=visit, client=client))
    return line


def test_carer_checked_in_at_two_clients_at_overlapping_times_raises_overlapping_visits():
    found = timeline(("V1", "C1", 0, 60), ("V2", "C2", 30, 90)).overlaps()

    assert [(e.kind, e.visit_id, e.client_id, e.carer_id, e.at) for e in found] == [
        (ExceptionKind.OVERLAPPING_VISITS, "V1", "C1", "K1", at(30)),
        (ExceptionKind.OVERLAPPING_VISITS, "V2", "C2", "K1", at(30)),
    ]
    assert [e.exception_id for e in found] == [
        "V1:overlapping_visits:K1", "V2:overlapping_visits:K1",
    ]
    assert "visit V2 (client C2)" in found[0].detail
    assert "visit V1 (client C1)" in found[1].detail


def test_stay_inside_another_at_a_different_client_flags_both_visits():
    found = timeline(("V1", "C1", 0, 120), ("V2", "C2", 30, 60)).overlaps()

    assert {e.visit_id for e in found} == {"V1", "V2"}


@pytest.mark.parametrize(
    "stays",
    [
        pytest.param((("V1", "C1", 0, 60), ("V2", "C2", 60, 120)), id="back_to_back"),
        pytest.param((("V1", "C1", 0, 60), ("V2", "C2", 75, 120)), id="apart"),
        pytest.param((("V1", "C1", 0, 60), ("V2", "C1", 30, 90)), id="same_client"),
    ],
)
def test_non_overlapping_or_same_client_stays_raise_nothing(stays):
    assert timeline(*stays).overlaps() == []


def test_stay_without_check_out_cannot_prove_an_overlap():
    line = timeline(("V1", "C1", 0, 60))
    line.apply(check_in(30, visit="V2", client="C2"))

    assert line.overlaps() == []


def test_redelivered_call_changes_nothing():
    line = timeline(("V1", "C1", 0, 60), ("V2", "C2", 30, 90))

    assert line.apply(check_in(30, visit="V2", client="C2")) is None
    assert len(line.overlaps()) == 2


def swept_overlaps(line):
    """The definition, by a sweep over every stay in start order (the reference answer)."""
    found, open_stays = {}, []
    for stay in sorted(line.stays.values(), key=lambda s: (s.start, s.visit_id)):
        open_stays = [s for s in open_stays if s.end > stay.start]
        for other in open_stays:
            if other.client_id != stay.client_id:
                found.setdefault(stay.visit_id, other.visit_id)
                found.setdefault(other.visit_id, stay.visit_id)
        open_stays.append(stay)
    return found


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 600), st.integers(1, 120)),
                min_size=1, max_size=25))
def test_the_indexed_timeline_names_the_partner_a_full_sweep_would(stays):
    line = timeline(*((f"V{n}", f"C{client}", start, start + length)
                      for n, (client, start, length) in enumerate(stays)))
    partners = {e.visit_id: e.detail.split()[5] for e in line.overlaps()}  # "at visit V.."
    assert partners == swept_overlaps(line)
