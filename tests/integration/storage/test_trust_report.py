"""The pack's trust sections over the real database equal the replay's own outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
import pytest

from ecm import contracts as c
from ecm.kpi import Period
from ecm.replay import parse_line, run
from ecm.report import build_pack, render
from ecm.report.audit import AUDIT_LIMIT
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

FIXTURE = Path(__file__).parents[2] / "fixtures" / "week_2026_w47.jsonl"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def outcomes(conn: psycopg.Connection) -> list[c.VisitOutcomeRecordedV3]:
    lines = FIXTURE.read_bytes().splitlines()
    events = []
    for raw in lines:
        try:
            events.append(parse_line(raw))
        except c.ContractError:
            continue
    result = run(lines, until=NOW)
    OutcomeSink(conn).write([*events, *result.outcomes])
    found = [o for o in result.outcomes if isinstance(o, c.VisitOutcomeRecordedV3)]
    assert len(found) == len(result.outcomes)
    return found


def test_the_pack_shows_each_providers_mean_trust_score_as_the_kpi_gives_it(
        conn: psycopg.Connection, outcomes: list[c.VisitOutcomeRecordedV3]) -> None:
    pack = build_pack(conn, Period.iso_week("2026-W47"), now=NOW)
    # Hand-computed (tests/fixtures/README.md): P1 (95 + 70 + 80 + 100 + 100)/5,
    # P2 (95 + 90 + 90 + 90)/4; P1's V2 (70) is not under 70.
    assert pack.trust == [
        {"provider_id": "P1", "visits_assessed": 5, "mean_trust_score": Decimal("89.00"),
         "visits_below_70": 0},
        {"provider_id": "P2", "visits_assessed": 4, "mean_trust_score": Decimal("91.25"),
         "visits_below_70": 0},
    ]
    assert {r["provider_id"]: r["mean_trust_score"] for r in pack.league} == {
        "P1": Decimal("89.00"), "P2": Decimal("91.25")}
    assert {r["iso_week"]: r["mean_trust_score"] for r in pack.trend if r["mean_trust_score"]} \
        == {"2026-W47": Decimal("90.00")}  # every provider: (445 + 365) / 9
    for provider in {o.provider_id for o in outcomes}:  # the replay's own scores agree
        scores = [o.trust_score for o in outcomes if o.provider_id == provider]
        mean = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert next(r for r in pack.trust if r["provider_id"] == provider)["mean_trust_score"] \
            == mean


def test_the_pack_counts_the_visits_under_70_of_the_weeks_the_kpis_cover(
        conn: psycopg.Connection, outcomes: list[c.VisitOutcomeRecordedV3]) -> None:
    conn.execute("UPDATE visit_outcomes SET trust_score = 65 WHERE visit_id IN ('V2', 'V6')")
    conn.execute("UPDATE visit_outcomes SET local_date = '2026-11-23', iso_week = '2026-W48'"
                 " WHERE visit_id = 'V6'")  # the next week: outside 2026-W47
    pack = build_pack(conn, Period.iso_week("2026-W47"), now=NOW)
    assert {r["provider_id"]: r["visits_below_70"] for r in pack.trust} == {"P1": 1, "P2": 0}


def test_the_visits_most_worth_auditing_are_the_least_trusted_with_their_reasons(
        conn: psycopg.Connection, outcomes: list[c.VisitOutcomeRecordedV3]) -> None:
    pack = build_pack(conn, Period.iso_week("2026-W47"), now=NOW)
    doubted = sorted((o for o in outcomes if o.trust_score < 100),
                     key=lambda o: (o.trust_score, -o.payable_gbp, o.visit_id))[:AUDIT_LIMIT]
    assert doubted, "the fixture week has manual calls and uncorroborated check-ins"
    assert [r["visit_id"] for r in pack.audit] == [o.visit_id for o in doubted]
    first, row = doubted[0], pack.audit[0]
    assert row["trust_score"] == first.trust_score
    assert row["reasons"].split(", ")[0].startswith(first.trust_deductions[0].reason)
    assert "visits_to_audit" in render(pack, "csv")
