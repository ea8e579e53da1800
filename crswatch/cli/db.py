"""`crswatch db`: the store's schema, changed only on command.

A SQLite store still upgrades itself on first use (one host); a PostgreSQL store is shared, so a
new version of crswatch refuses it until someone runs `crswatch db upgrade` once, and an older
version refuses a store upgraded under it (see store.sql)."""

from __future__ import annotations

import json

import click

from ..app import App


@click.group("db")
def db() -> None:
    """The store's schema: which revision it is at, and upgrading it (before starting a new version).

    \b
    Examples:
      crswatch db current
      crswatch db upgrade
    """


@db.command("current")
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format."
)
@click.pass_obj
def current(app: App, fmt: str) -> None:
    """Say which schema revision the store is at, and which this crswatch needs.

    \b
    Example:
      crswatch db current
    """
    from crswatch.store.sql import Store, current_revision, head_revision, revisions

    store = Store(app.config.store_url)
    at, head = current_revision(store), head_revision()
    state = (
        "up to date"
        if at == head
        else "newer than this crswatch"
        if at and at not in revisions()
        else "needs: crswatch db upgrade"
    )
    if fmt == "json":
        click.echo(json.dumps({"store": store.where.shown, "revision": at, "code": head, "state": state}))
        return
    click.echo(f"store:    {store.where.shown}\nrevision: {at or 'none'} ({state})\ncode:     {head}")


@db.command("upgrade")
@click.pass_obj
def upgrade(app: App) -> None:
    """Migrate the store's schema to this crswatch's revision (safe to repeat; never downgrades).

    Run it once, from one host, after installing a new version and before starting it; a store
    newer than this crswatch is refused (exit 5) and left as it is.

    \b
    Example:
      crswatch db upgrade
    """
    from crswatch.store.sql import Store

    store = Store(app.config.store_url)
    before, after = store.upgrade()
    if before == after:
        click.echo(f"crswatch: the store {store.where.shown} is already at {after}")
    else:
        click.echo(f"crswatch: upgraded the store {store.where.shown} from {before or 'nothing'} to {after}")


COMMANDS = (db,)
