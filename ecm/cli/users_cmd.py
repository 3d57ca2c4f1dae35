"""``ecm users``: the people who sign in to the web portal."""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Annotated

import typer
from psycopg_pool import AsyncConnectionPool

from ecm.api.keys import Role
from ecm.portal.accounts import AccountError, new_user
from ecm.portal.store import PgAccountStore
from ecm.settings import get_settings

users_app = typer.Typer(help="Portal user accounts.", no_args_is_help=True)


@users_app.command("add")
def add(
    user_id: Annotated[str, typer.Argument(help="The sign-in name, e.g. duty-akhan.")],
    name: Annotated[str, typer.Option(help="The person's name as shown in the portal.")],
    role: Annotated[Role, typer.Option(
        help="provider, contract_manager, duty_officer or admin.")],
    provider_id: Annotated[str | None, typer.Option(
        help="The provider a provider-staff account is bound to.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        help="Read the password from standard input (one line).")] = False,
    replace: Annotated[bool, typer.Option(
        help="Reset an existing account (new password, unlocked, signed out everywhere).")
    ] = False,
    dsn: Annotated[str | None, typer.Option(help="Database URL; default: ECM_DB__DSN.")] = None,
) -> None:
    """Create an account; without --password-stdin a strong password is generated and shown once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(15)
    try:
        user = new_user(user_id, name, role, provider_id, password)
    except AccountError as exc:
        typer.echo(f"error: {exc.field}: {exc.reason}", err=True)
        raise typer.Exit(2) from None
    target = dsn or get_settings().db.dsn.get_secret_value()

    async def run() -> None:
        async with AsyncConnectionPool(target, min_size=1, max_size=1, open=False,
                                       kwargs={"autocommit": True}) as pool:
            store = PgAccountStore(pool)
            await (store.replace_user(user) if replace else store.add_user(user))

    try:
        asyncio.run(run())
    except Exception as exc:  # a duplicate id or an unreachable database: say which
        typer.echo(f"error: could not create {user_id}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"user_id:  {user.user_id}\nrole:     {user.role.value}"
               + (f"\nprovider: {user.provider_id}" if user.provider_id else ""))
    if not password_stdin:
        typer.echo(f"password: {password}")
        typer.echo("Give the password to its owner now: it is shown only once.", err=True)


def register(app: typer.Typer) -> None:
    """Add ``ecm users`` to the main app."""
    app.add_typer(users_app, name="users")
