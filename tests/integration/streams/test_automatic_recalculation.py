"""A rate card published for the past, through the broker: the sink records the difference.

The live path, not the command line: a week is judged and stored by a real worker, then a
backdated rate card arrives on the reference topic. The worker's database sink stores it,
notes it due and, once caught up, records a recalculation by itself (docs/rules.md,
"Recalculation"), which nobody has applied: the stored figures stay as they were.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from pipeline import Pipeline

from ecm import contracts as c
from ecm.recalc import store

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

FIXTURE = Path(__file__).parents[2] / "fixtures" / "week_2026_w47.jsonl"
BACKDATED = {"event_type": "rate_card_published", "event_id": "r-rc1-v2",
             "occurred_at": "2026-12-01T09:00:00Z", "rate_card_id": "RC-L1", "lot_id": "L1",
             "service": "home_care", "hourly_rate": "22.00",
             "rurality_weighting": {"rural_village_dispersed": "1.10"},
             "effective_from": "2026-11-01"}


def test_a_backdated_rate_card_is_recalculated_by_the_sink_and_not_applied(
        pipeline: Pipeline) -> None:
    pipeline.environment |= {"ECM_RECALC__SETTLE_SECONDS": "2",
                             "ECM_RECALC__CHECK_SECONDS": "1"}
    pipeline.publish(FIXTURE)
    pipeline.start_worker("1")
    pipeline.wait_until_idle()
    with psycopg.connect(pipeline.dsn, autocommit=True) as conn:
        assert store.due(conn) == [] and store.recalculations(conn) == []
        payable = conn.execute("SELECT sum(payable_gbp) FROM visit_outcomes").fetchone()
        pipeline.send([c.parse_event(BACKDATED)])
        deadline = time.monotonic() + 120
        while not (found := store.recalculations(conn)) and time.monotonic() < deadline:
            time.sleep(1)
        assert found, f"no recalculation recorded: {pipeline.tail('1')}"
        [recorded] = found
        assert recorded.created_by == "ecm sink" and recorded.applied_at is None
        assert recorded.reason.startswith("automatic: rate_card RC-L1 effective 2026-11-01")
        assert recorded.visits_changed > 0 and recorded.payable_after > recorded.payable_before
        assert [d.event_id for d in store.due(conn)] == []
        _, diff = store.load(conn, recorded.recalculation_id)
        assert {v.provider_id for v in diff.visits} <= set(diff.providers)
        assert sum((p.payable_after - p.payable_before for p in diff.providers.values()),
                   Decimal(0)) == recorded.payable_after - recorded.payable_before
        # recorded, not applied: the stored figures have not moved
        assert conn.execute("SELECT sum(payable_gbp) FROM visit_outcomes").fetchone() == payable
