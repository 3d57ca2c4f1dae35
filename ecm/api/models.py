"""Request and response bodies of the HTTP API, with the examples shown in OpenAPI."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CHECK_IN_EXAMPLE: dict[str, Any] = {
    "event_type": "carer_checked_in",
    "event_id": "0b7c6f5e-2d1a-4c3b-9e8f-7a6b5c4d3e2f",
    "schema_version": 1,
    "occurred_at": "2026-01-05T09:02:00+00:00",
    "provider_id": "P001",
    "visit_id": "V-2026-000123",
    "client_id": "C-8f3a",
    "carer_id": "K-0042",
    "method": "app_gps",
    "location": {"lat": 51.2787, "lon": 1.0789, "accuracy_m": 12},
}
PLANNED_EXAMPLE: dict[str, Any] = {
    "event_type": "visit_planned",
    "event_id": "5a4d7e2c-0f6b-4e0e-8a7b-1c2d3e4f5a6b",
    "occurred_at": "2026-01-01T12:00:00+00:00",
    "provider_id": "P001",
    "visit_id": "V-2026-000123",
    "client_id": "C-8f3a",
    "service": "home_care",
    "planned_start": "2026-01-05T09:00:00+00:00",
    "planned_end": "2026-01-05T09:30:00+00:00",
}


class FieldErrorOut(BaseModel):
    """One failing field and why."""

    field: str = Field(examples=["occurred_at"])
    reason: str = Field(examples=["Input should have timezone info"])


class ErrorOut(BaseModel):
    """Every error response."""

    error: str = Field(examples=["validation_failed"])
    message: str
    request_id: str
    errors: list[FieldErrorOut] | None = None


class Accepted(BaseModel):
    """One event acknowledged by Kafka (all replicas)."""

    status: str = Field(default="accepted", examples=["accepted"])
    event_id: str


class BatchIn(BaseModel):
    """Up to ``max_batch`` (default 1,000) events of any input type."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [PLANNED_EXAMPLE]}]})

    events: list[dict[str, Any]] = Field(min_length=1)


class ItemOut(BaseModel):
    """The fate of one item of a batch, by its position."""

    index: int
    event_id: str | None
    status: str = Field(examples=["accepted", "rejected"])
    errors: list[FieldErrorOut] = []


class BatchOut(BaseModel):
    """Per-item results; the accepted items were acknowledged by Kafka."""

    accepted: int
    rejected: int
    items: list[ItemOut]


class UploadOut(BaseModel):
    """The summary of a CSV upload, with where to fetch its error report."""

    upload_id: str
    layout: str
    provider_id: str
    status: str = Field(examples=["completed"])
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    events_published: int
    ignored_columns: list[str]
    error: str | None
    started_at: str
    finished_at: str | None
    errors_url: str = Field(examples=["/v1/uploads/4f1c.../errors.csv"])


class VisitOut(BaseModel):
    """A visit's current outcome (the ``visit_outcome_recorded`` event as stored)."""

    visit_id: str
    provider_id: str
    status: str
    local_date: date | None
    outcome: dict[str, Any]


class KeyIn(BaseModel):
    """A key to issue."""

    provider_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    role: str = Field(default="provider",
                      pattern="^(provider|contract_manager|duty_officer|admin)$")
    label: str | None = Field(default=None, max_length=200)


class KeyOut(BaseModel):
    """A key as listed (never its secret)."""

    key_id: str
    provider_id: str
    role: str
    label: str | None
    created_at: str
    revoked_at: str | None


class IssuedKeyOut(KeyOut):
    """A newly issued key: ``api_key`` is shown this once only."""

    api_key: str
