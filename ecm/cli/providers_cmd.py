"""``ecm providers``: manage the API keys providers (and council staff) use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from psycopg_pool import AsyncConnectionPool

from ecm.api.keys import IssuedKey, Role
from ecm.api.keystore import PgKeyStore, issue_key, rotate_key
from ecm.settings import get_settings

T = TypeVar("T")
providers_app = typer.Typer(help="Provider API keys.", no_args_is_help=True)
DsnOption = typer.Option(None, help="Database URL; default: ECM_DB__DSN.")


def _with_store(dsn: str | None, action: Callable[[PgKeyStore], Awaitable[T]]) -> T:
    target = dsn or get_settings().db.dsn.get_secret_value()

    async def run() -> T:
        async with AsyncConnectionPool(target, min_size=1, max_size=1, open=False,
                                       kwargs={"autocommit": True}) as pool:
            return await action(PgKeyStore(pool))

    return asyncio.run(run())


def _print_issued(issued: IssuedKey) -> None:
    key = issued.stored
    typer.echo(f"key_id:      {key.key_id}\nprovider_id: {key.provider_id}\nrole:        "
               f"{key.role.value}\napi_key:     {issued.token}")
    typer.echo("Store the api_key now: it is shown only once and cannot be recovered.", err=True)


@providers_app.command("add-key")
def add_key(
    provider_id: str = typer.Argument(..., help="The provider (or organisation) the key is for."),
    role: Annotated[Role, typer.Option(help="provider, contract_manager, admin.")] = Role.PROVIDER,
    label: str | None = typer.Option(None, help="A note, e.g. who holds the key."),
    dsn: str | None = DsnOption,
) -> None:
    """Issue a new API key and print it once."""
    _print_issued(_with_store(dsn, lambda s: issue_key(s, provider_id, role, label)))


@providers_app.command("list-keys")
def list_keys(
    provider_id: str | None = typer.Argument(None, help="Only this provider's keys."),
    dsn: str | None = DsnOption,
) -> None:
    """List keys (ids, roles, state; never secrets)."""
    now = datetime.now(UTC)
    for key in _with_store(dsn, lambda s: s.list(provider_id)):
        state = "active" if key.active_at(now) else "revoked"
        if key.revoked_at and key.active_at(now):
            state = f"active until {key.revoked_at.isoformat()}"
        typer.echo(f"{key.key_id}  {key.provider_id:<16} {key.role.value:<16} "
                   f"{key.created_at.isoformat()}  {state}  {key.label or ''}".rstrip())


@providers_app.command("revoke-key")
def revoke_key(key_id: str, dsn: str | None = DsnOption) -> None:
    """Revoke a key now (running APIs stop accepting it within a few seconds)."""
    if not _with_store(dsn, lambda s: s.revoke(key_id, datetime.now(UTC))):
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@providers_app.command("rotate-key")
def rotate(
    key_id: str,
    grace_seconds: int = typer.Option(0, min=0, help="How long the old key keeps working."),
    dsn: str | None = DsnOption,
) -> None:
    """Issue a replacement key (printed once) and revoke the old one after the grace period."""
    issued = _with_store(dsn, lambda s: rotate_key(s, key_id, grace_seconds))
    if issued is None:
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    _print_issued(issued)


def register(app: typer.Typer) -> None:
    """Add ``ecm providers`` to the main app."""
    app.add_typer(providers_app, name="providers")
