"""A carer's coordinates live on the input topic and nowhere else (docs/data-protection.md).

A simulated week (app check-ins with GPS fixes) runs through a real worker and its
database sink; then every table of the database, every topic of the pipeline but the
input ones (and the dead-letter topic, which keeps rejected input's bytes as long as the
input does), and the worker's log are searched for the coordinates of every fix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer
from pipeline import Pipeline

from ecm.kafka.admin import connect_admin
from ecm.kafka.connection import client_options
from ecm.topics import DEAD_LETTER, REFERENCE, VISIT_EVENTS

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def fixes(week: Path) -> set[str]:
    """Every coordinate of a call's fix, as written in the input, that is not a client's."""
    found: set[str] = set()
    registered: set[str] = set()
    for line in week.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        location = event.get("location") if isinstance(event, dict) else None
        if not isinstance(location, dict):
            continue
        values = {json.dumps(location.get(k)) for k in ("lat", "lon")} - {"null"}
        (registered if event.get("event_type") == "client_registered" else found).update(values)
    return {v for v in found - registered if len(v) >= 6}  # long enough not to occur by chance


def hits_in(needles: set[str], text: str) -> list[str]:
    """The coordinates that occur in ``text`` as whole numbers (not inside a longer one)."""
    numbers = set(re.findall(r"-?\d+\.\d+", text))
    return sorted(needles & numbers)


def topic_text(pipe: Pipeline, topic: str) -> str:
    consumer = KafkaConsumer(topic, **client_options(pipe.kafka), group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    try:
        return "\n".join((r.key or b"").decode(errors="replace") + " "
                         + (r.value or b"").decode(errors="replace")
                         + " ".join(f"{k}={v!r}" for k, v in r.headers) for r in consumer)
    finally:
        consumer.close()


def database_text(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")]
        return {table: "\n".join(str(row[0]) for row in conn.execute(
            f"SELECT t::text FROM {table} t")) for table in tables}  # noqa: S608


def test_coordinates_of_check_ins_are_only_on_the_input_topic(
    pipeline: Pipeline, simulated_week: Path
) -> None:
    needles = fixes(simulated_week)
    assert len(needles) > 100  # the week has app check-ins with fixes
    pipeline.start_worker()
    pipeline.publish(simulated_week)
    pipeline.wait_until_idle()

    inputs = {pipeline.kafka.topic(t) for t in (VISIT_EVENTS, REFERENCE, DEAD_LETTER)}
    admin = connect_admin(pipeline.kafka)
    try:
        topics = sorted(t for t in admin.list_topics() if t.startswith(pipeline.prefix))
    finally:
        admin.close()
    assert any(t.endswith("changelog") for t in topics)  # the worker's state is scanned too
    found = {}
    for topic in topics:
        text = topic_text(pipeline, topic)
        hits = hits_in(needles, text)
        if topic == pipeline.kafka.topic(VISIT_EVENTS):
            assert hits, "the scan finds the coordinates where they are"
        elif topic not in inputs and hits:
            found[f"topic {topic}"] = hits[:3]
    for table, text in database_text(pipeline.dsn).items():
        hits = hits_in(needles, text)
        if hits:
            found[f"table {table}"] = hits[:3]
    log_hits = hits_in(needles, pipeline.log("1"))
    if log_hits:
        found["the worker's log"] = log_hits[:3]
    assert not found, f"coordinates stored where they must not be: {found}"
    with psycopg.connect(pipeline.dsn) as conn:
        measured, app_calls = conn.execute(
            "SELECT count(distance_m), count(*) FROM raw_events"
            " WHERE event_type IN ('carer_checked_in', 'carer_checked_out')"
            " AND method = 'app_gps'").fetchone()
    # What is kept instead: each app call's distance from the registered location (the
    # visit page shows it), measured as the engine measures it.
    assert app_calls > 100 and measured >= 0.9 * app_calls, (measured, app_calls)
