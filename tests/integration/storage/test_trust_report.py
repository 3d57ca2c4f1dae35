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


def test_the_mean_trust_score_per_provider_is_the_mean_of_its_visits(
        conn: psycopg.Connection, outcomes: list[c.VisitOutcomeRecordedV3]) -> None:
    pack = build_pack(conn, Period.iso_week("2026-W47"), now=NOW)
    got = {r["provider_id"]: (r["visits_assessed"], r["mean_trust_score"]) for r in pack.trust}
    expected = {}
    for provider in {o.provider_id for o in outcomes}:
        scores = [o.trust_score for o in outcomes if o.provider_id == provider]
        mean = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        expected[provider] = (len(scores), mean)
    assert got == expected


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
