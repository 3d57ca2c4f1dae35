"""Bulk CSV uploads of planned visits or actuals, streamed, and their error reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from ecm.api.auth import Principal, current_principal, refuse, require_role
from ecm.api.csvfeed import CsvFormatError
from ecm.api.csvlayouts import LAYOUTS, RowContext
from ecm.api.errors import NotFound, Unavailable, ValidationFailed
from ecm.api.keys import Role
from ecm.api.models import ErrorOut, UploadOut
from ecm.api.ownership import OwnershipUnavailable
from ecm.api.uploads import UploadRun, UploadStore, UploadSummary, finish
from ecm.producer import PublishError

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorOut} for c in (401, 403, 404, 413, 422, 429, 503)
}
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}, "example": (
            "visit_id,client_id,service,planned_start,planned_end,carers_required,"
            "planned_carer_ids\n"
            "V-1,C-8f3a,home_care,2026-01-05 09:00,2026-01-05 09:30,2,K-0042;K-0043\n")}},
    }
}


class LayoutName(StrEnum):
    """The CSV layouts (see ecm/api/csvlayouts.py and the README)."""

    VISITS = "visits"
    ACTUALS = "actuals"


def _out(summary: UploadSummary | dict[str, Any]) -> dict[str, Any]:
    data = summary if isinstance(summary, dict) else vars(summary)
    return {**data, "errors_url": f"/v1/uploads/{data['upload_id']}/errors.csv"}


@router.post("/{layout}", response_model=UploadOut, responses=ERRORS, openapi_extra=CSV_BODY,
             summary="Upload a CSV of planned visits or actuals")
async def upload_csv(
    layout: LayoutName,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
) -> Any:
    """Stream the body (``Content-Type: text/csv``), validate each row, publish valid rows.

    Answered once every accepted row is acknowledged by Kafka. On a broker failure the
    answer is 503 with what was done so far; uploading the same file again is safe
    (event ids are derived from the rows' content).
    """
    require_role(principal, request, Role.PROVIDER)
    state = request.app.state
    store: UploadStore = state.uploads
    summary = store.new(layout.value, principal.provider_id)
    ctx = RowContext(principal.provider_id, ZoneInfo(state.settings.timezone))
    run = UploadRun(LAYOUTS[layout.value], ctx, state.publisher, state.ownership,
                    state.settings.api.upload_batch_size)
    try:
        with store.errors_path(summary.upload_id).open("w", newline="") as report:
            await run.run(request.stream(), summary, report)
    except CsvFormatError as exc:
        raise _failed(store, summary, ValidationFailed(str(exc)), str(exc)) from None
    except PublishError:
        retry = Unavailable("Kafka did not acknowledge; upload the same file again later",
                            state.settings.api.retry_after_seconds)
        raise _failed(store, summary, retry, "Kafka unavailable") from None
    except OwnershipUnavailable:
        retry = Unavailable("ownership could not be checked; upload the same file again later",
                            state.settings.api.retry_after_seconds)
        raise _failed(store, summary, retry, "ownership unavailable") from None
    out = _out(finish(summary, "completed"))
    store.save(summary)
    state.metrics.events_accepted("csv", summary.events_published)
    return out


def _failed(store: UploadStore, summary: UploadSummary, error: Any, why: str) -> Any:
    error.extra["upload"] = _out(finish(summary, "failed", why))
    store.save(summary)
    return error


def _owned(request: Request, principal: Principal, upload_id: str) -> UploadSummary:
    summary = request.app.state.uploads.load(upload_id)
    if summary is None:
        raise NotFound("no such upload")
    if not principal.may_read(summary.provider_id):
        refuse(principal, request, "upload of another provider", upload_id=upload_id)
        raise NotFound("no such upload")
    return summary  # type: ignore[no-any-return]


@router.get("/{upload_id}", response_model=UploadOut, responses=ERRORS,
            summary="The summary of an upload")
async def get_upload(
    upload_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Any:
    """Return the summary of one of the caller's uploads (404 for another provider's)."""
    return _out(_owned(request, principal, upload_id))


@router.get("/{upload_id}/errors.csv", responses={200: {"content": {"text/csv": {}}}, **ERRORS},
            response_class=FileResponse, summary="The error report of an upload")
async def get_upload_errors(
    upload_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> FileResponse:
    """Return the rejected rows as CSV: ``row, field, reason`` (row 1 is the header)."""
    summary = _owned(request, principal, upload_id)
    path = request.app.state.uploads.errors_path(summary.upload_id)
    if not path.is_file():
        raise NotFound("no error report for this upload")
    return FileResponse(path, media_type="text/csv", filename=f"{upload_id}.errors.csv")
