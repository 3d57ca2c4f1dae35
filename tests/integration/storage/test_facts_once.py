"""Each fact stored once (storage migration 0017): outcomes and inputs read back whole,
and rollups kept by difference equal to a recomputation. How many revisions are updated
in place, and the dead rows left, are measured by benchmarks/bench_storage.py."""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from builders import at, check_in, outcome, package
from psycopg.rows import dict_row

from ecm.contracts import (
    CorrectionAudit,
    Location,
    PublishedVersion,
    Verification,
    VisitOutcomeRecordedV2,
    VisitOutcomeRecordedV3,
    VisitStatus,
    dump_event,
    parse_event,
)
from ecm.contracts.examples import examples
from ecm.storage.records import OUTCOME_EVENT_COLUMNS, outcome_event
from ecm.storage.rows import RAW_INPUT_FIELDS, VISIT_INPUT_TYPES, VISIT_INPUTS, stored_input_fields
from ecm.storage.sink import OutcomeSink
from ecm.visits.translate import without_location

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)
ROLLUPS = ("kpi_daily", "kpi_client_week", "kpi_weekly", "kpi_continuity_weekly")


def _rollups(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall() for t in ROLLUPS
    }


def _recomputed(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    with conn.transaction(force_rollback=True):
        conn.execute("; ".join(f"DELETE FROM {t}" for t in ROLLUPS))
        conn.execute(
            "SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date),"
            " array_agg(client_id)) FROM visit_outcomes"
        )
        return _rollups(conn)


def _stored_outcome(conn: psycopg.Connection, visit_id: str) -> object:
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT " + OUTCOME_EVENT_COLUMNS + " FROM visit_outcomes WHERE visit_id = %s",
        (visit_id,)).fetchone()
    assert row is not None
    return outcome_event(row)


def test_an_outcome_is_read_back_as_the_event_written_with_no_payload_column(
    conn: psycopg.Connection,
) -> None:
    plain = outcome("V1", MON)
    disputed = VisitOutcomeRecordedV2(**{
        **outcome("V2", MON).model_dump(), "schema_version": 2,
        "verification": Verification.IN_DISPUTE, "verified_gbp": Decimal("0.00"),
        "disputed_gbp": Decimal("24.00"), "held_corrections": ("corr-1",),
        "corrections": (CorrectionAudit(
            event_id="corr-0", carer_id="K1", corrects="check_in", original_time=None,
            corrected_time=at(MON, 9, 5), corrected_by="office", corrected_at=at(MON, 12),
            reason_code="forgot"),),
    })  # fmt: skip
    OutcomeSink(conn).write([plain, disputed])

    assert _stored_outcome(conn, "V1") == plain
    assert _stored_outcome(conn, "V2") == disputed
    columns = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'visit_outcomes'")}
    assert "payload" not in columns
    extra = conn.execute("SELECT visit_id, extra IS NULL FROM visit_outcomes ORDER BY 1").fetchall()
    assert extra == [("V1", True), ("V2", False)]  # only fields with no column, when any


def test_the_rate_card_paying_a_visit_is_three_columns_and_a_row_from_before_reads_the_same(
    conn: psycopg.Connection,
) -> None:
    card = PublishedVersion(id="RC-L1-HC", effective_from=date(2024, 4, 1), event_id="rc-ev-7")
    judged = VisitOutcomeRecordedV3(**{
        **outcome("V1", MON).model_dump(), "schema_version": 3, "verification": "verified",
        "verified_gbp": Decimal("24.00"), "disputed_gbp": Decimal("0.00"), "trust_score": 100,
        "rate_card": card,
        "rules_applied": (PublishedVersion(id="R1", effective_from=MON, event_id="r-1"),),
    })  # fmt: skip
    OutcomeSink(conn).write([judged])

    assert _stored_outcome(conn, "V1") == judged
    stored = conn.execute("SELECT rate_card_id, rate_card_from, rate_card_event_id,"
                          " extra ? 'rate_card' FROM visit_outcomes").fetchone()
    assert stored == ("RC-L1-HC", date(2024, 4, 1), "rc-ev-7", False)
    # as storage migrations before 0025 wrote it: the card in extra, the columns empty
    conn.execute("UPDATE visit_outcomes SET extra = extra || jsonb_build_object('rate_card',"
                 " jsonb_build_object('id', rate_card_id, 'effective_from', rate_card_from,"
                 " 'event_id', rate_card_event_id)), rate_card_id = NULL, rate_card_from = NULL,"
                 " rate_card_event_id = NULL")
    assert _stored_outcome(conn, "V1") == judged


def test_an_input_keeps_who_sent_what_when_its_digest_and_its_own_fields_never_coordinates(
    conn: psycopg.Connection,
) -> None:
    call = check_in("in-1", "V1", at(MON, 9)).model_copy(
        update={"location": Location(lat=51.2, lon=1.1, accuracy_m=9.0)})
    OutcomeSink(conn).write([package("PK1", "7", date(2024, 1, 1)), call])

    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT *, ecm_input_event(r) AS shown FROM raw_events r ORDER BY event_type").fetchall()
    stored_call = next(r for r in rows if r["event_type"] == "carer_checked_in")
    assert stored_call["digest"] == hashlib.sha256(dump_event(without_location(call))).digest()
    assert (stored_call["client_id"], stored_call["carer_id"], stored_call["method"]) == (
        call.client_id, call.carer_id, call.method.value)  # typed columns (migration 0026)
    assert stored_call["detail"] is None  # nothing of a call is left for it
    assert stored_call["shown"]["carer_id"] == call.carer_id
    assert stored_call["shown"]["accuracy_m"] == 9
    assert "51.2" not in str(rows) and "lat" not in str(rows)
    assert next(r for r in rows if r["event_type"] == "care_package_agreed")["detail"] is None


def test_every_visit_input_is_read_back_whole_from_its_columns_and_from_a_row_from_before(
    conn: psycopg.Connection,
) -> None:
    inputs = [e for e in examples() if isinstance(e, VISIT_INPUTS)]
    assert {e.event_type for e in inputs} == set(VISIT_INPUT_TYPES)
    OutcomeSink(conn).write(inputs)
    sent = {e.event_id: without_location(e) for e in inputs}

    def read_back() -> tuple[dict[str, object], dict[str, object]]:
        rows = conn.cursor(row_factory=dict_row).execute(
            "SELECT *, ecm_input_event(r) AS shown FROM raw_events r").fetchall()
        envelope = ("event_id", "event_type", "provider_id", "visit_id", "occurred_at")
        fields = {r["event_id"]: parse_event({**stored_input_fields(r),
                                              **{k: r[k] for k in envelope}}) for r in rows}
        shown = {r["event_id"]: parse_event({k: v for k, v in r["shown"].items()
                                             if k not in ("distance_m", "accuracy_m")})
                 for r in rows}
        return fields, shown

    assert read_back() == (sent, sent)
    # as storage migrations before 0026 wrote them: every own field in detail
    columns = ", ".join(f"'{c}', {c}" for c in RAW_INPUT_FIELDS)
    conn.execute(
        f"UPDATE raw_events SET detail = coalesce(detail, '{{}}') || jsonb_strip_nulls("  # noqa: S608
        f"jsonb_build_object({columns}, 'schema_version', input_version)), input_version = NULL, "
        + ", ".join(f"{c} = NULL" for c in RAW_INPUT_FIELDS))
    assert read_back() == (sent, sent)


def test_rollups_kept_by_difference_equal_a_recomputation_after_random_revisions(
    conn: psycopg.Connection,
) -> None:
    rng, sink = random.Random(18), OutcomeSink(conn)
    statuses = (VisitStatus.COMPLETED, VisitStatus.MISSED, VisitStatus.CANCELLED)
    for batch in range(6):
        events = []
        for n in rng.sample(range(40), 25):
            day = MON + timedelta(days=rng.randrange(10))
            status = rng.choice(statuses)
            done = status is VisitStatus.COMPLETED
            events.append(outcome(
                f"V{n}", day, version=batch, occurred_at=at(MON, 8) + timedelta(hours=batch),
                provider_id=rng.choice(("P1", "P2")), client_id=rng.choice(("C1", "C2", "C3")),
                service=rng.choice(("home_care", "supporting_independence")), status=status,
                carer_ids=tuple(rng.sample(("K1", "K2", "K3"), rng.randrange(1, 3))) if done
                else (), first_check_in=at(day, 9) if done else None,
                punctuality=rng.choice(("on_time", "late")) if done else None,
                lateness_minutes=rng.randrange(30) if done else None,
                delivered_seconds=3600 if done else 0,
                payable_gbp=Decimal(rng.randrange(10, 40)) if done else Decimal(0),
                electronic=done))  # fmt: skip
        sink.write(events)

        assert _rollups(conn) == _recomputed(conn), f"after batch {batch}"
