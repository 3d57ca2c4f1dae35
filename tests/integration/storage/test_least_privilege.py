"""Each component's database role can do what it needs and is refused everything else.

Statements that touch no row (``WHERE false``) still have their privileges checked, so
each row of the table below shows one privilege granted or refused without changing
data. Then the sink writes the hand-computed week and the API serves it, each as its
own role, to show the grants are enough for the real work.
"""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from ecm import contracts as c
from ecm.api import create_app
from ecm.kpi import KPI_COLUMNS, Period, weekly_kpis
from ecm.replay import parse_line, run
from ecm.report.pack import cell
from ecm.settings import DatabaseSettings, KafkaSettings, Settings
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parents[2] / "fixtures"

NO_ROWS = {
    "read outcomes": "SELECT count(*) FROM visit_outcomes",
    "write outcomes": "INSERT INTO visit_outcomes SELECT * FROM visit_outcomes WHERE false",
    "change alerts": "UPDATE alerts SET resolution = resolution WHERE false",
    "delete reference": "DELETE FROM clients WHERE false",
    "write KPIs": "DELETE FROM kpi_weekly WHERE false",
    "issue API keys": "INSERT INTO api_keys SELECT * FROM api_keys WHERE false",
    "keep the webhook outbox": "UPDATE webhook_deliveries SET attempts = attempts WHERE false",
    "create partitions": "SELECT ecm_ensure_partitions('2031-01-01', 1)",
    "truncate a table": "TRUNCATE alerts",
    "alter a table": "ALTER TABLE alerts ADD COLUMN nope integer",
    "create a table": "CREATE TABLE public.nope (a integer)",
    "drop a table": "DROP TABLE alerts",
}

ALLOWED = {
    "ecm_api": {"read outcomes", "issue API keys"},
    "ecm_sink": {"read outcomes", "write outcomes", "change alerts", "delete reference",
                 "write KPIs", "create partitions"},
    "ecm_notify": {"read outcomes", "keep the webhook outbox"},
}


def as_role(dsn: str, role: str) -> str:
    params = conninfo_to_dict(dsn)
    params.update(user=role, password="ecm")
    return make_conninfo(**params)


@pytest.mark.parametrize("what", sorted(NO_ROWS))
@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_is_granted_what_it_needs_and_refused_the_rest(
    dsn: str, role: str, what: str
) -> None:
    with psycopg.connect(as_role(dsn, role)) as conn:
        try:
            conn.execute(NO_ROWS[what])
            allowed = True
        except psycopg.errors.InsufficientPrivilege:
            allowed = False
        finally:
            conn.rollback()
    assert allowed is (what in ALLOWED[role]), f"{role} may {what}: {allowed}"


def test_the_sink_stores_the_week_as_ecm_sink_and_the_api_serves_it_as_ecm_api(
    dsn: str, conn: psycopg.Connection
) -> None:
    week = FIXTURES / "week_2026_w47.jsonl"
    lines = week.read_bytes().splitlines()
    inputs = []
    for raw in lines:
        try:
            inputs.append(parse_line(raw))
        except c.ContractError:
            continue
    result = run(lines)
    with psycopg.connect(as_role(dsn, "ecm_sink"), autocommit=True) as sink_conn:
        OutcomeSink(sink_conn).write([*inputs, *result.outcomes, *result.alerts,
                                      *result.exceptions])
    rows = weekly_kpis(conn, Period.iso_week("2026-W47"))
    with (FIXTURES / "week_2026_w47_kpis.csv").open() as handle:
        assert [list(KPI_COLUMNS)] + [[cell(r[k]) for k in KPI_COLUMNS] for r in rows] == \
            list(csv.reader(handle))

    settings = Settings(kafka=KafkaSettings(), db=DatabaseSettings(
        dsn=SecretStr(dsn), api_dsn=SecretStr(as_role(dsn, "ecm_api"))))
    app = create_app(settings)
    with TestClient(app) as client:
        issued = client.post("/v1/admin/keys", json={"provider_id": "P2"},
                             headers={"X-API-Key": _admin_key(dsn)})
        assert issued.status_code == 201, issued.text
        token = issued.json()["api_key"]
        visits = client.get("/v1/visits", params={"from": "2026-11-16", "to": "2026-11-22"},
                            headers={"X-API-Key": token})
        assert visits.status_code == 200, visits.text
        assert {v["visit_id"] for v in visits.json()} == {"V6", "V7", "V8", "U1"}


def _admin_key(dsn: str) -> str:
    from api_stack import issue

    from ecm.api.keys import Role

    return issue(dsn, "COUNCIL", Role.ADMIN)
