"""Accounts: `users create|create-admin` and `tokens create`."""

from __future__ import annotations

import sys

import click

from cli.common import checked_settings


@click.group()
def users() -> None:
    """Accounts for the web UI and the API."""


def _create_user(username: str, password: str, role: str) -> None:
    from shared.db.session import session_scope
    from web.auth.users import AccountError, create_user

    checked_settings()
    try:
        with session_scope() as session:
            user = create_user(session, username, password, role)
            click.echo(f"created {user.role.value} {user.username!r}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create-admin")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def users_create_admin(username: str, password_stdin: bool) -> None:
    """Create an admin (asks for the password twice)."""
    _create_user(username, _read_password(password_stdin), "admin")


@users.command("create")
@click.argument("username")
@click.option("--role", default="reviewer", show_default=True,
              type=click.Choice(["reviewer", "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def users_create(username: str, role: str, password_stdin: bool) -> None:
    """Create a user (asks for the password twice)."""
    _create_user(username, _read_password(password_stdin), role)


@click.group()
def tokens() -> None:
    """API tokens (`Authorization: Bearer <token>`)."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. nightly-import")
def tokens_create(username: str, name: str) -> None:
    """Create an API token for USERNAME and print it (only this once: it is stored hashed)."""
    from shared.db.session import session_scope
    from web.auth.tokens import create_token
    from web.auth.users import find

    checked_settings()
    with session_scope() as session:
        user = find(session, username)
        if user is None or not user.active:
            raise click.ClickException(f"no active user {username!r}")
        try:
            _row, token = create_token(session, user, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(token)
