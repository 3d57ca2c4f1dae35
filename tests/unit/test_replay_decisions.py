"""`ecm replay` of a week with decisions: the verified and disputed money per provider
equals the hand computation below (docs/rules.md, "Closing the loop").

The week (tests/fixtures/week_with_decisions.py, ISO week 2026-W47, GMT so local = UTC):
lot L1 framework rate £20.00/h (<= 30 min pays 0.60 x rate, <= 45 min 0.80 x rate, longer
calls the rate x quarter hours rounded up); frustrated visits pay a share of 0.5 of the
planned call; late corrections are held after 7 days.

P1 (carer K1, client C1):
  A1 Mon 09:00-10:00, checked in ~300 m away -> gps_distance; explained (gps_drift) and
     accepted.                          60 min = 4 quarters x 20 / 4 = 20.00  verified
  A2 Tue 09:00-09:30, manual check-in 09:05, out 09:30 -> manual_entry; explained and
     rejected.                          25 min <= 30: 0.60 x 20      = 12.00  in dispute
  A3 Wed 09:00-10:00, in 09:00, no check-out; the check-out corrected to 10:00 on Fri 27th
     (9 days > 7: held), approved on the 28th, so completed and manual_entry, explained
     and accepted on the 29th.          60 min                       = 20.00  verified
  A4 Thu 09:00-09:30, frustrated at 09:10 (no_answer): 0.5 x (0.60 x 20 = 12.00)
                                                                      =  6.00  verified
  A5 Fri 09:00-10:00, in and out on time, no exception.              = 20.00  verified
  verified 20.00 + 20.00 + 6.00 + 20.00 = 66.00 (4 visits); disputed 12.00; frustrated 1.

P2 (carer K2, client C2):
  B1 Mon 14:00-15:00, checked in ~300 m away -> gps_distance; explained, not decided.
                                        60 min                       = 20.00  in dispute
  B2 Tue 14:00-14:45, in and out at the client. 45 min: 0.80 x 20    = 16.00  verified
  B3 Wed 14:00-15:00, nobody came -> missed, no_check_in; explained (carer_sick) and
     accepted.                          nothing delivered            =  0.00  verified
  verified 16.00 + 0.00 = 16.00 (2 visits); disputed 20.00.

Two acts are refused: P1's office explaining P2's exception (line 25) and P2 deciding its
own explanation (line 37).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ecm.replay import replay_file

WEEK = Path(__file__).resolve().parents[1] / "fixtures" / "week_with_decisions.jsonl"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    directory = tmp_path_factory.mktemp("decisions")
    return directory, replay_file(WEEK, directory)


def _kpis(directory: Path) -> dict[str, dict[str, str]]:
    return {row["provider_id"]: row for row in csv.DictReader((directory / "kpis.csv").open())}


@pytest.mark.parametrize(
    ("provider", "verified", "disputed", "visits_verified", "frustrated", "payable"),
    [
        ("P1", "66.00", "12.00", "4", "1", "78.00"),  # 20 + 20 + 6 + 20; A2's 12.00
        ("P2", "16.00", "20.00", "2", "0", "36.00"),  # B2's 16 + B3's 0; B1's 20.00
    ],
)
def test_verified_and_disputed_money_per_provider_is_the_hand_computation(
    out, provider, verified, disputed, visits_verified, frustrated, payable
) -> None:
    row = _kpis(out[0])[provider]
    assert (row["verified_gbp"], row["disputed_gbp"]) == (verified, disputed)
    assert (row["visits_verified"], row["visits_frustrated"]) == (visits_verified, frustrated)
    assert row["payable_gbp"] == payable  # verified + disputed


def test_each_visits_verification_is_the_hand_computation(out) -> None:
    outcomes = {o["visit_id"]: o for o in map(json.loads, (out[0] / "outcomes.jsonl").open())}
    got = {v: (o["schema_version"], o["status"], o.get("verification"), o["payable_gbp"])
           for v, o in outcomes.items()}
    assert got == {
        "A1": (3, "completed", "verified", "20.00"),  # every outcome is version 3
        "A2": (3, "completed", "in_dispute", "12.00"),
        "A3": (3, "completed", "verified", "20.00"),
        "A4": (3, "frustrated", "verified", "6.00"),
        "A5": (3, "completed", "verified", "20.00"),
        "B1": (3, "completed", "in_dispute", "20.00"),
        "B2": (3, "completed", "verified", "16.00"),
        "B3": (3, "missed", "verified", "0.00"),
    }
    assert outcomes["A4"]["frustrated_reason"] == "no_answer"
    assert outcomes["A3"]["corrections"][0]["event_id"] == "fix-a3"


def test_refused_acts_are_listed_with_their_line_and_reason(out) -> None:
    refused = [(r.line_no, r.event_id, r.field) for r in out[1].refused]
    assert refused == [(25, "x-b1-by-p1", "provider_id"), (37, "d-b3-by-p2", "by_role")]
    lines = [json.loads(line) for line in (out[0] / "refused.jsonl").open()]
    assert [line["event_id"] for line in lines] == ["x-b1-by-p1", "d-b3-by-p2"]


def test_the_story_holds_every_status_change_and_alert_handling(out) -> None:
    records = [json.loads(line) for line in (out[0] / "records.jsonl").open()]
    statuses = [(r["event_id"], r["status"]) for r in records
                if r["event_type"] == "exception_status_changed"]
    assert statuses == [
        ("x-a1:status", "explained"), ("x-b1:status", "explained"),
        ("d-a1:status", "accepted"), ("x-a2:status", "explained"),
        ("d-a2:status", "rejected"), ("x-b3:status", "explained"),
        ("d-b3:status", "accepted"), ("exception:A3:no_check_out:K1:settled", "settled"),
        ("x-a3:status", "explained"), ("d-a3:status", "accepted"),
    ]
    handled = [(r["event_id"], r["tier"], r["occurred_at"]) for r in records
               if r["event_type"] == "alert_handled"]
    # B3's not_arrived was acknowledged in time; its missed alert (16:00) and A3's
    # no_checkout (11:00) were not, and escalated 15 and 30 minutes after their raise.
    assert handled == [
        ("alert:A3:no_checkout:escalated:council_duty", "council_duty", "2026-11-18T11:15:00Z"),
        ("alert:A3:no_checkout:escalated:manager", "manager", "2026-11-18T11:30:00Z"),
        ("ack-b3:handled", "provider_on_call", "2026-11-18T14:40:00Z"),
        ("alert:B3:missed:escalated:council_duty", "council_duty", "2026-11-18T16:15:00Z"),
        ("alert:B3:missed:escalated:manager", "manager", "2026-11-18T16:30:00Z"),
    ]
    for record in records:
        if "learned_at" in record:
            assert record["learned_at"] >= record["occurred_at"]


def test_replaying_the_week_again_gives_the_same_bytes(out, tmp_path) -> None:
    replay_file(WEEK, tmp_path)
    for name in ("outcomes.jsonl", "kpis.csv", "records.jsonl", "refused.jsonl"):
        assert (tmp_path / name).read_bytes() == (out[0] / name).read_bytes()
