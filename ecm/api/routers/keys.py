"""Key management for admins: list, issue, revoke and rotate API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ecm.api.auth import Principal, current_principal, require_role
from ecm.api.errors import NotFound
from ecm.api.keys import IssuedKey, Role, StoredKey
from ecm.api.keystore import issue_key, rotate_key
from ecm.api.models import ErrorOut, IssuedKeyOut, KeyIn, KeyOut

router = APIRouter(prefix="/v1/admin/keys", tags=["admin"])
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut} for c in (401, 403, 404, 429)}


def key_out(key: StoredKey) -> KeyOut:
    """Return a key as listed: never the secret nor its hash."""
    return KeyOut(key_id=key.key_id, provider_id=key.provider_id, role=key.role.value,
                  label=key.label, created_at=key.created_at.isoformat(),
                  revoked_at=key.revoked_at.isoformat() if key.revoked_at else None)


def issued_out(issued: IssuedKey) -> IssuedKeyOut:
    """Return a new key with its token, shown this once."""
    return IssuedKeyOut(**key_out(issued.stored).model_dump(), api_key=issued.token)


def _admin(request: Request, principal: Principal) -> Any:
    require_role(principal, request, Role.ADMIN)
    return request.app.state.keystore


@router.get("", response_model=list[KeyOut], responses=ERRORS, summary="List keys")
async def list_keys(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    provider_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[KeyOut]:
    """Every key (of one provider), newest first."""
    keys = await _admin(request, principal).list(provider_id)
    return [key_out(k) for k in keys]


@router.post("", status_code=201, response_model=IssuedKeyOut, responses=ERRORS,
             summary="Issue a key")
async def add_key(
    body: KeyIn, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> IssuedKeyOut:
    """Issue a key; the response is the only place its secret ever appears."""
    store = _admin(request, principal)
    return issued_out(await issue_key(store, body.provider_id, Role(body.role), body.label))


@router.post("/{key_id}/revoke", status_code=204, responses=ERRORS, summary="Revoke a key")
async def revoke_key(
    key_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> None:
    """Revoke now (effective within the auth cache time, a few seconds)."""
    if not await _admin(request, principal).revoke(key_id, datetime.now(UTC)):
        raise NotFound("no such key")


@router.post("/{key_id}/rotate", response_model=IssuedKeyOut, responses=ERRORS,
             summary="Rotate a key")
async def rotate(
    key_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    grace_seconds: Annotated[int, Query(ge=0, le=7 * 24 * 3600)] = 0,
) -> IssuedKeyOut:
    """Issue a replacement; the old key stops working after ``grace_seconds``."""
    issued = await rotate_key(_admin(request, principal), key_id, grace_seconds)
    if issued is None:
        raise NotFound("no such active key")
    return issued_out(issued)
