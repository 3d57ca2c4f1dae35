"""Stored visit state is versioned: every format ever written is still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ecm.visits.state import FORMAT, StoredVisit

# A visit as a worker of the previous release stored it (format 1: no "fmt" key, an
# alert digest per record, exception kinds only).
FORMAT_1 = {
    "p": 3,
    "v": {
        "visit_id": "V1",
        "events": [{"type": "visit_planned", "event_id": "V1.plan", "visit_id": "V1",
                    "occurred_at": "2026-11-16T20:00:00+00:00", "provider_id": "P1",
                    "client_id": "C1", "service": "home_care", "tier": "standard",
                    "planned_start": "2026-11-17T08:00:00+00:00",
                    "planned_end": "2026-11-17T08:30:00+00:00", "carers_required": 1,
                    "time_critical": False, "package_id": None}],
        "raised": {"not_arrived": "2026-11-17T08:30:00+00:00"},
        "resolved": {},
    },
    "x": {"V1:no_check_in": "no_check_in"},
    "a": {"V1:not_arrived:raised": "0123456789abcdef"},
    "s": {"V1:gps_distance:K1": ["gps_distance", "2026-11-17T08:05:00+00:00"]},
    "o": "V1:outcome:abc",
    "j": ["2026-11-17T08:35:00+00:00", False],
    "n": ["ecm.visit-events", 41],
}


def test_a_visit_stored_in_format_1_is_read_with_its_alerts_and_position() -> None:
    visit = StoredVisit.decode(json.dumps(FORMAT_1).encode())

    assert visit.partition == 3 and list(visit.state.events) == ["V1.plan"]
    assert visit.state.alerts.raised == {"not_arrived": datetime(2026, 11, 17, 8, 30,
                                                                 tzinfo=UTC)}
    assert (visit.source, visit.offset, visit.published.outcome) == (
        "ecm.visit-events", 41, "V1:outcome:abc")
    assert visit.published.alerts == {}  # digests cannot be compared: published again
    assert visit.published.exceptions["V1:no_check_in"].startswith("no_check_in|")
    assert visit.published.settled["V1:gps_distance:K1"][0] == "gps_distance"


def test_format_1_written_before_the_later_keys_existed_is_read_too() -> None:
    oldest = {k: v for k, v in FORMAT_1.items() if k in ("p", "v", "x", "a")}

    visit = StoredVisit.decode(json.dumps(oldest).encode())

    assert visit.judged is None and visit.offset == -1 and visit.published.settled == {}


def test_what_is_stored_now_reads_back_equal_and_names_its_format() -> None:
    visit = StoredVisit.decode(json.dumps(FORMAT_1).encode())
    raw = visit.encode()

    again = StoredVisit.decode(raw)

    assert json.loads(raw)["fmt"] == FORMAT
    assert (again.state.events, again.state.alerts, again.published, again.judged) == (
        visit.state.events, visit.state.alerts, visit.published, visit.judged)


def test_a_format_newer_than_this_release_is_refused_with_its_number() -> None:
    with pytest.raises(ValueError, match="format 99"):
        StoredVisit.decode(json.dumps({**FORMAT_1, "fmt": 99}).encode())


# The same visit as a worker of the release before closing the loop stored it (format 2:
# every key required, no workflow records).
FORMAT_2 = {**FORMAT_1, "fmt": 2, "a": {"V1:not_arrived:raised": "2026-11-17T08:30:00+00:00||L1"},
            "x": {"V1:no_check_in": "no_check_in|2026-11-17T10:00:00+00:00|missed"}}


def test_a_visit_stored_in_format_2_is_read_with_no_workflow_record_published() -> None:
    visit = StoredVisit.decode(json.dumps(FORMAT_2).encode())

    assert visit.published.alerts == FORMAT_2["a"] and visit.published.exceptions == FORMAT_2["x"]
    assert visit.published.workflow == {}
    assert (visit.source, visit.offset) == ("ecm.visit-events", 41)
    assert json.loads(visit.encode())["fmt"] == FORMAT == 4


def test_a_visit_with_acts_and_workflow_records_round_trips() -> None:
    from ecm.domain import events as d

    visit = StoredVisit.decode(json.dumps(FORMAT_2).encode())
    when = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    for act in (
        d.ExceptionExplained("e1", when, "V1", "P1", "office-1", "provider", "V1:no_check_in",
                             "traffic", None),
        d.ExceptionDecided("e2", when, "V1", "P1", "cm-1", "contract_manager",
                           "V1:no_check_in", True, "evidence_accepted", "seen"),
        d.CorrectionDecided("e3", when, "V1", "P1", "cm-1", "contract_manager", "fix-1", False),
        d.VisitFrustrated("e4", when, "V1", "P1", "K1", "provider", "C1", "K1", "no_answer"),
        d.AlertAcknowledged("e5", when, "V1", "P1", "oncall", "provider", "V1:not_arrived",
                            "phoned"),
        d.AlertEscalated("e6", when, "V1", "P1", "duty", "duty_officer", "V1:not_arrived",
                         "manager"),
        d.AlertClosed("e7", when, "V1", "P1", "duty", "duty_officer", "V1:not_arrived",
                      "carer_sent", None),
    ):
        visit.state.apply(act)
    visit.published.workflow["e1:status"] = when.isoformat()

    again = StoredVisit.decode(visit.encode())

    assert again.state.events == visit.state.events and again.published == visit.published


# The same visit as a worker of the release before planned carers stored it (format 3:
# its schedule events have no planned_carer_ids).
FORMAT_3 = {**FORMAT_2, "fmt": 3, "w": {"e1:status": "2026-11-17T09:00:00+00:00"}}


def test_a_visit_stored_in_format_3_is_read_as_naming_no_planned_carers() -> None:
    visit = StoredVisit.decode(json.dumps(FORMAT_3).encode())

    plan = visit.state.facts().plan
    assert plan is not None and plan.planned_carer_ids == ()
    assert visit.published.workflow == FORMAT_3["w"]
    assert json.loads(visit.encode())["fmt"] == FORMAT == 4


def test_planned_carers_and_a_change_that_keeps_them_round_trip_in_format_4() -> None:
    from ecm.domain import events as d

    visit = StoredVisit.decode(json.dumps(FORMAT_3).encode())
    at = datetime(2026, 11, 16, 21, 0, tzinfo=UTC)
    start, end = datetime(2026, 11, 17, 9, 0, tzinfo=UTC), datetime(2026, 11, 17, 9, 30,
                                                                    tzinfo=UTC)
    visit.state.apply(d.VisitChanged("V1.ch1", at, "V1", "P1", start, end, 2, False,
                                     ("K1", "K2")))
    visit.state.apply(d.VisitChanged("V1.ch2", at.replace(hour=22), "V1", "P1", start, end, 2,
                                     False, None))

    again = StoredVisit.decode(visit.encode())

    assert again.state.events == visit.state.events
    plan = again.state.facts().plan
    assert plan is not None and plan.planned_carer_ids == ("K1", "K2")
