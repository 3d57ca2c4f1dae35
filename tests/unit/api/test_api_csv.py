from __future__ import annotations

import asyncio
import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest
from api_fakes import Api, check_in

from ecm.api.csvfeed import CsvFormatError, csv_rows
from ecm.api.csvlayouts import VISITS, RowContext, parse_time
from ecm.api.keys import Role
from ecm.contracts import ContractError, VisitPlanned, VisitPlannedV2

VISITS_HEADER = "Visit ID,Client ID,Service,Planned Start,Planned End,Carers Required\n"
ACTUALS_HEADER = ("visit_id,client_id,carer_id,check_in_time,check_in_method,check_out_time,"
                  "check_out_method,reason_code,check_in_lat,check_in_lon\n")


def _rows(data: bytes, size: int) -> list[tuple[int, list[str]]]:
    async def chunks():
        for i in range(0, len(data), size):
            yield data[i:i + size]

    async def collect():
        return [row async for batch in csv_rows(chunks()) for row in batch]

    return asyncio.run(collect())


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
def test_rows_are_the_same_however_the_stream_is_chunked(size: int) -> None:
    data = '\ufeffa,b\r\n1,"multi\nline"\r\n\r\n"é, quoted","say ""hi"""\n3,4'.encode()
    assert _rows(data, size) == [
        (1, ["a", "b"]), (2, ["1", "multi\nline"]), (4, ["é, quoted", 'say "hi"']), (5, ["3", "4"])]


@pytest.mark.parametrize("data", [b'a,b\n1,"open\n', b"a,b\n\xff\xfe,1\n"])
def test_unreadable_csv_is_a_format_error(data: bytes) -> None:
    with pytest.raises(CsvFormatError):
        _rows(data, 3)


def test_local_times_are_europe_london_and_a_nonexistent_time_is_rejected() -> None:
    tz = ZoneInfo("Europe/London")
    assert parse_time("05/07/2026 09:00", tz).utcoffset().total_seconds() == 3600
    assert parse_time("2026-01-05T09:00:00+00:00", tz).hour == 9
    with pytest.raises(ValueError, match="does not exist"):
        parse_time("2026-03-29 01:30", tz)


LONDON = RowContext("P1", ZoneInfo("Europe/London"))


def _plan_row(carers: str | None, required: str = "2") -> dict[str, str]:
    row = {"visit_id": "V1", "client_id": "C1", "service": "home_care",
           "planned_start": "2026-01-05 09:00", "planned_end": "2026-01-05 09:30",
           "carers_required": required}
    return row if carers is None else {**row, "planned_carer_ids": carers}


@pytest.mark.parametrize("cell", ["K1 K2", "K1;K2", " K1 ; K2 ", "K1;;K2;"])
def test_a_plan_row_naming_carers_is_a_version_2_plan_of_those_carers(cell: str) -> None:
    [event] = VISITS.to_events(_plan_row(cell), LONDON)
    assert isinstance(event, VisitPlannedV2) and event.schema_version == 2
    assert event.planned_carer_ids == ("K1", "K2")


def test_a_blank_planned_carers_cell_names_none_and_sends_the_version_1_plan_as_before() -> None:
    [blank] = VISITS.to_events(_plan_row("  "), LONDON)
    [absent] = VISITS.to_events(_plan_row(None), LONDON)
    assert type(blank) is VisitPlanned and blank.schema_version == 1
    assert blank == absent  # same event, same content-derived id: re-uploads dedup


def test_the_carers_named_are_part_of_the_plans_event_id() -> None:
    [one] = VISITS.to_events(_plan_row("K1"), LONDON)
    [other] = VISITS.to_events(_plan_row("K2"), LONDON)
    [again] = VISITS.to_events(_plan_row("K1"), LONDON)
    assert one.event_id == again.event_id != other.event_id


@pytest.mark.parametrize(("cell", "required", "errors"), [
    ("K1,K2", "2", [("planned_carer_ids.0", "String should match pattern")]),
    ("K1 K/2", "2", [("planned_carer_ids.1", "String should match pattern")]),
    ("K1 K1", "2", [("planned_carer_ids", "names a carer more than once")]),
    ("K1 K2", "1", [("planned_carer_ids", "names 2 carers for a visit that needs 1")]),
])
def test_a_bad_planned_carers_cell_rejects_the_row_naming_the_field_as_the_api_does(
        cell: str, required: str, errors: list[tuple[str, str]]) -> None:
    with pytest.raises(ContractError) as caught:
        VISITS.to_events(_plan_row(cell, required), LONDON)
    assert [(e.field, e.reason[:len(r)]) for e, (_, r) in zip(
        caught.value.errors, errors, strict=True)] == errors


def _upload(api: Api, layout: str, body: str, provider: str = "P1"):
    return api.client.post(f"/v1/uploads/{layout}", content=body.encode(), headers={
        **api.headers(provider), "content-type": "text/csv"})


def test_planned_visits_upload_publishes_valid_rows_and_reports_the_rest(api: Api) -> None:
    body = VISITS_HEADER + (
        "V1,C1,Home Care,2026-01-05 09:00,2026-01-05 09:30,1\n"
        "V2,C1,gardening,2026-01-05 10:00,2026-01-05 09:30,x\n"
        "V3,C2,home_care,2026-01-05 11:00,2026-01-05 11:45,2\n"
        "V4,C2\n")
    response = _upload(api, "visits", body)
    assert response.status_code == 200
    summary = response.json()
    assert (summary["rows_total"], summary["rows_accepted"], summary["rows_rejected"]) == (4, 2, 2)
    assert summary["status"] == "completed" and summary["events_published"] == 2
    events = [json.loads(r.value) for r in api.publisher.records]
    assert [e["visit_id"] for e in events] == ["V1", "V3"]
    assert events[0]["planned_start"] == "2026-01-05T09:00:00Z"
    report = api.client.get(summary["errors_url"], headers=api.headers())
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["row", "field", "reason"]
    assert {(r[0], r[1]) for r in rows[1:]} == {
        ("3", "service"), ("3", "carers_required"), ("5", "(row)")}


def test_uploading_the_same_file_twice_sends_the_same_event_ids(api: Api) -> None:
    body = VISITS_HEADER + "V1,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,1\n"
    _upload(api, "visits", body)
    _upload(api, "visits", body)
    first, second = api.publisher.records
    assert first.value == second.value and first.key == second.key == b"V1"


def test_missing_required_columns_fail_the_upload_with_422(api: Api) -> None:
    response = _upload(api, "visits", "visit_id,client_id\nV1,C1\n")
    assert response.status_code == 422
    assert "planned_start" in response.json()["message"]
    assert response.json()["upload"]["status"] == "failed"


def test_actuals_rows_become_check_ins_and_check_outs(api: Api) -> None:
    body = ACTUALS_HEADER + (
        "V1,C1,K1,2026-01-05 09:02,app_gps,2026-01-05 09:31,,,51.3,1.08\n"
        "V2,C1,K1,2026-01-05 10:02,manual,,,,,\n"
        "V3,C1,K1,,,,,,,\n")
    summary = _upload(api, "actuals", body).json()
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (1, 2)
    kinds = [json.loads(r.value)["event_type"] for r in api.publisher.records]
    assert kinds == ["carer_checked_in", "carer_checked_out"]
    check_in_event = json.loads(api.publisher.records[0].value)
    assert check_in_event["location"] == {"lat": 51.3, "lon": 1.08, "accuracy_m": None}
    assert json.loads(api.publisher.records[1].value)["method"] == "app_gps"
    errors = api.client.get(summary["errors_url"], headers=api.headers()).text
    assert "reason_code" in errors and "check_in_time or check_out_time required" in errors


def test_a_row_naming_another_provider_is_rejected(api: Api) -> None:
    row = "P2,V1,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,1\n"
    body = "provider_id," + VISITS_HEADER + row
    summary = _upload(api, "visits", body).json()
    assert summary["rows_rejected"] == 1 and api.publisher.records == []


def test_rows_for_another_providers_known_visit_are_rejected(api: Api) -> None:
    api.reads.visits_rows.append({"visit_id": "V1", "provider_id": "P2", "status": "planned",
                                  "local_date": None, "payload": {}})
    body = VISITS_HEADER + "V1,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,1\n"
    summary = _upload(api, "visits", body).json()
    assert summary["rows_rejected"] == 1 and api.publisher.records == []


def _register(api: Api, provider_id: str, carer_id: str) -> None:
    event = {"event_type": "carer_registered", "event_id": f"r-{provider_id}-{carer_id}",
             "occurred_at": "2026-01-01T00:00:00+00:00", "provider_id": provider_id,
             "carer_id": carer_id, "effective_from": "2026-01-01"}
    admin = api.headers("COUNCIL", Role.ADMIN)
    assert api.client.post("/v1/events", json=event, headers=admin).status_code == 202


def test_rows_planning_another_providers_carer_are_rejected_as_the_api_refuses_them(
        api: Api) -> None:
    _register(api, "P1", "K1")
    _register(api, "P2", "K2")
    published = len(api.publisher.records)
    body = VISITS_HEADER.replace("\n", ",Planned Carer IDs\n") + (
        "V1,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,2,K1;K2\n"
        "V2,C1,home_care,2026-01-05 10:00,2026-01-05 10:30,2,K1 K7\n"
        "V3,C1,home_care,2026-01-05 11:00,2026-01-05 11:30,1,\n")
    summary = _upload(api, "visits", body).json()
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (2, 1)
    assert summary["ignored_columns"] == []
    events = [json.loads(r.value) for r in api.publisher.records[published:]]
    assert [(e["visit_id"], e["schema_version"], e.get("planned_carer_ids")) for e in events] == [
        ("V2", 2, ["K1", "K7"]), ("V3", 1, None)]  # K7 is registered nowhere yet: not refused
    report = api.client.get(summary["errors_url"], headers=api.headers()).text
    assert list(csv.reader(io.StringIO(report)))[1:] == [
        ["2", "planned_carer_ids[1]", "carer is registered to another provider"]]


def test_another_providers_upload_and_report_are_not_found(api: Api) -> None:
    summary = _upload(api, "visits", VISITS_HEADER).json()
    other = api.headers("P2")
    assert api.client.get(f"/v1/uploads/{summary['upload_id']}", headers=other).status_code == 404
    assert api.client.get(summary["errors_url"], headers=other).status_code == 404
    mine = api.client.get(f"/v1/uploads/{summary['upload_id']}", headers=api.headers())
    assert mine.status_code == 200


def test_upload_stops_with_503_when_kafka_fails(api: Api) -> None:
    from ecm.producer import PublishError

    api.publisher.fail = PublishError("down")
    body = VISITS_HEADER + "V1,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,1\n"
    response = _upload(api, "visits", body)
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert response.json()["upload"]["rows_accepted"] == 0
    assert check_in()["visit_id"] == "V1"
