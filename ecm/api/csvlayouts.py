"""The two CSV layouts providers upload, and how one row becomes contract events.

Headers are matched case-insensitively, spaces and dashes read as ``_``; unknown
columns are ignored (and listed in the summary). Times are ISO 8601 with an offset
(``2026-01-05T09:00:00+00:00``) or local Europe/London wall-clock time, either
``2026-01-05 09:00`` or ``05/01/2026 09:00`` (day first); a local time that does not
exist (the spring clock change) is rejected, an ambiguous one takes the first.

**Planned visits** (one ``visit_planned`` per row): ``visit_id, client_id, service,
planned_start, planned_end`` required; ``carers_required`` (1), ``tier`` (standard),
``time_critical`` (false), ``package_id``, ``provider_id``, ``planned_at`` (when it
was put on the rota; the event's ``occurred_at``, default ``planned_start``) and
``planned_carer_ids`` optional. ``planned_carer_ids`` names the carers planned for the
visit, at most ``carers_required``, separated by spaces or ``;`` (``K1 K2``, ``K1;K2``:
spaces as ecm's own CSV lists, e.g. ``open_exception_ids`` of payments.csv). A row
naming carers becomes version 2 of ``visit_planned``, exactly as the JSON API would
take it: the same validation, each failing id named (``planned_carer_ids.1``), and the
same ownership check (a carer registered only with other providers rejects the row,
``planned_carer_ids[1]``, see ``ecm.api.ownership.foreign``). A blank cell (or no
column) names none: version 1, the event such a row always made, with the same id.
There is no layout of changes: a row uploaded again with other carers and a later
``planned_at`` is a new plan, and the latest plan of a visit counts.

**Actuals** (one row per carer per visit; a ``carer_checked_in`` and/or a
``carer_checked_out``): ``visit_id, client_id, carer_id`` required, then
``check_in_time, check_in_method, check_out_time, check_out_method`` (at least one
time; its method is required; ``check_out_method`` defaults to ``check_in_method``),
``reason_code`` (required for manual times), ``check_in_lat, check_in_lon,
check_in_accuracy_m`` (app check-ins only; forwarded on the input topic for the distance
check; the worker turns them into a distance and nothing stores them, see
docs/data-protection.md) and ``provider_id`` optional.

Event ids are derived from the event's content (UUID v5 over provider and event), so
uploading the same file again re-sends the same events, which consumers dedup.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ecm.contracts import (
    CarerCheckedIn,
    CarerCheckedOut,
    ContractError,
    FieldError,
    InputEvent,
    VisitPlanned,
    VisitPlannedV2,
    contract_error,
)

_NAMESPACE = uuid.UUID("6f1d3b0e-6a5e-4c57-9a43-2f3e5cbb0e51")
_UK_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0", ""}
_ID_SEPARATORS = re.compile(r"[\s;]+")


@dataclass(frozen=True)
class RowContext:
    """What a row needs besides its fields: whose upload it is and the local zone."""

    provider_id: str
    tz: ZoneInfo


@dataclass(frozen=True)
class Layout:
    """A CSV layout: its columns and the function turning a row into events."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    to_events: Callable[[dict[str, str], RowContext], list[InputEvent]]


def normalise_header(name: str) -> str:
    """``Check In Time`` → ``check_in_time``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_time(value: str, tz: ZoneInfo) -> datetime:
    """Return an aware datetime from ISO 8601 or local ``dd/mm/yyyy hh:mm``; ValueError if not."""
    text = value.strip()
    match = _UK_TIME.match(text)
    if match:
        d, m, y, hh, mm, ss = match.groups()
        naive = datetime(int(y), int(m), int(d), int(hh), int(mm), int(ss or 0))  # noqa: DTZ001
    else:
        naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        return naive
    local = naive.replace(tzinfo=tz)
    if local.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != naive:
        raise ValueError(f"{text} does not exist in {tz.key} (clock change)")
    return local


def parse_bool(value: str) -> bool:
    """Yes/no, true/false, y/n, 1/0 (blank is false)."""
    text = value.strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError("must be true or false")


def parse_ids(value: str) -> tuple[str, ...]:
    """``K1 K2`` or ``K1;K2`` → ``("K1", "K2")``; blank → ``()`` (the contract checks the ids)."""
    return tuple(i for i in _ID_SEPARATORS.split(value) if i)


def content_event_id(provider_id: str, fields: dict[str, Any]) -> str:
    """Return a UUID v5 over the provider and the event's fields: same content, same id."""
    canonical = "|".join(f"{k}={fields[k]}" for k in sorted(fields))
    return str(uuid.uuid5(_NAMESPACE, f"{provider_id}|{canonical}"))


class _Row:
    """Collects per-field errors while reading one row."""

    def __init__(self, row: dict[str, str], ctx: RowContext) -> None:
        self.row, self.ctx, self.errors = row, ctx, list[FieldError]()

    def text(self, name: str) -> str | None:
        value = self.row.get(name, "").strip()
        return value or None

    def convert(self, name: str, fn: Callable[[str], Any]) -> Any:
        value = self.text(name)
        if value is None:
            return None
        try:
            return fn(value)
        except ValueError as exc:
            self.errors.append(FieldError(name, str(exc).split("\n")[0] or "invalid"))
            return None

    def provider(self) -> str:
        given = self.text("provider_id")
        if given is not None and given != self.ctx.provider_id:
            self.errors.append(FieldError("provider_id", "not the provider of this API key"))
        return self.ctx.provider_id

    def build(
        self, model: type[Any], fields: dict[str, Any], rename: dict[str, str]
    ) -> InputEvent | None:
        body = {k: v for k, v in fields.items() if v is not None}
        body["event_id"] = content_event_id(self.ctx.provider_id, {"t": model.__name__, **body})
        try:
            return cast(InputEvent, model(**body))
        except ValidationError as exc:
            known = {e.field for e in self.errors}  # a failed conversion says it already
            for err in contract_error(exc).errors:
                name = rename.get(err.field, err.field)
                if name not in known:
                    self.errors.append(FieldError(name, err.reason))
            return None


def _visit_row(row: dict[str, str], ctx: RowContext) -> list[InputEvent]:
    r = _Row(row, ctx)
    fields = {
        "provider_id": r.provider(),
        "visit_id": r.text("visit_id"),
        "client_id": r.text("client_id"),
        "service": _lower(r.text("service")),
        "tier": _lower(r.text("tier")),
        "planned_start": r.convert("planned_start", lambda v: parse_time(v, ctx.tz)),
        "planned_end": r.convert("planned_end", lambda v: parse_time(v, ctx.tz)),
        "carers_required": r.convert("carers_required", int),
        "time_critical": r.convert("time_critical", parse_bool),
        "package_id": r.text("package_id"),
    }
    planned_at = r.convert("planned_at", lambda v: parse_time(v, ctx.tz))
    fields["occurred_at"] = planned_at or fields["planned_start"]
    carers = parse_ids(r.text("planned_carer_ids") or "")
    model = VisitPlannedV2 if carers else VisitPlanned  # version 2 only when it names carers
    if carers:
        fields["planned_carer_ids"] = carers
    event = r.build(model, fields, {"occurred_at": "planned_at"})
    if r.errors or event is None:
        raise ContractError(r.errors)
    return [event]


def _lower(value: str | None) -> str | None:
    return normalise_header(value) if value else None


def _call(r: _Row, kind: str, model: type[Any], method: str | None) -> InputEvent | None:
    at = r.convert(f"{kind}_time", lambda v: parse_time(v, r.ctx.tz))
    if at is None:
        return None
    fields: dict[str, Any] = {
        "provider_id": r.provider(), "visit_id": r.text("visit_id"),
        "client_id": r.text("client_id"), "carer_id": r.text("carer_id"),
        "occurred_at": at, "method": _lower(method), "reason_code": r.text("reason_code"),
    }
    if kind == "check_in" and r.text("check_in_lat") is not None:
        fields["location"] = {"lat": r.convert("check_in_lat", float),
                              "lon": r.convert("check_in_lon", float),
                              "accuracy_m": r.convert("check_in_accuracy_m", float)}
    rename = {"occurred_at": f"{kind}_time", "method": f"{kind}_method",
              "location.lat": "check_in_lat", "location.lon": "check_in_lon",
              "location.accuracy_m": "check_in_accuracy_m", "location": "check_in_lat"}
    return r.build(model, fields, rename)


def _actual_row(row: dict[str, str], ctx: RowContext) -> list[InputEvent]:
    r = _Row(row, ctx)
    if r.text("check_in_time") is None and r.text("check_out_time") is None:
        r.errors.append(FieldError("check_in_time", "check_in_time or check_out_time required"))
    in_method = r.text("check_in_method")
    out_method = r.text("check_out_method") or in_method
    events = [
        _call(r, "check_in", CarerCheckedIn, in_method),
        _call(r, "check_out", CarerCheckedOut, out_method),
    ]
    if r.errors:
        raise ContractError(_unique(r.errors))
    return [e for e in events if e is not None]


def _unique(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))


VISITS = Layout(
    "visits",
    ("visit_id", "client_id", "service", "planned_start", "planned_end"),
    ("carers_required", "tier", "time_critical", "package_id", "provider_id", "planned_at",
     "planned_carer_ids"),
    _visit_row,
)
ACTUALS = Layout(
    "actuals",
    ("visit_id", "client_id", "carer_id"),
    ("check_in_time", "check_in_method", "check_out_time", "check_out_method", "reason_code",
     "check_in_lat", "check_in_lon", "check_in_accuracy_m", "provider_id"),
    _actual_row,
)
LAYOUTS = {layout.name: layout for layout in (VISITS, ACTUALS)}
