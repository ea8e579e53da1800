"""The `crswatch` command line.  Every command has an example in its --help.

Commands import what they need when they run (Scrapy and apprise are slow to import; `draws`
and `subscribers` need neither).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from . import errors
from .app import App
from .config import ConfigError
from .output import emit, format_option
from store.errors import StoreError, StoreURLError
from subscribers.validate import Invalid

DRAW_COLUMNS = ("number", "date", "stream", "program", "invitations", "crs", "tie_break")
DRAW_KEYS = ("number", "date", "drawn_at", "program", "stream", "invitations", "crs", "tie_break",
             "url", "eligible_programs", "pool_as_of")  # fmt: skip


class CrswatchGroup(click.Group):
    """Turns expected failures into one line on stderr and a documented exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """click's own usage errors too: one line `crswatch: error: …`, exit 2; a closed pipe
        (`crswatch draws | head -1`) ends quietly with exit 0."""
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
            try:
                sys.stdout.flush()  # here, not at exit, where a closed pipe would be reported
            except BrokenPipeError:
                _quiet_pipe()
            return result
        except click.UsageError as exc:
            words = exc.ctx.command_path.split()[1:] if exc.ctx else []
            hint = f" (see: {' '.join(['crswatch', *words, '--help'])})" if exc.ctx else ""
            _fail(exc.format_message().replace("\n", " ") + hint, errors.USAGE)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("interrupted", 130)
        except BrokenPipeError:
            _quiet_pipe()
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with whole one-line descriptions (click cuts them at 45 characters)."""
        rows = [(name, command.get_short_help_str(limit=300)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]  # fmt: skip
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.CrswatchError as exc:
            _fail(str(exc), exc.exit_code)
        except ConfigError as exc:
            _fail(str(exc), errors.USAGE)
        except StoreURLError as exc:
            _fail(str(exc), errors.USAGE)
        except StoreError as exc:
            _fail(str(exc), errors.DATABASE)
        except Invalid as exc:
            for problem in exc.problems:
                click.echo(f"crswatch: error: {problem}", err=True)
            sys.exit(errors.USAGE)
        except BrokenPipeError:
            _quiet_pipe()
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:  # a bug: say so in one line, full traceback on request
            if os.environ.get("CRSWATCH_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set CRSWATCH_DEBUG=1 for details)", errors.INTERNAL)


def _quiet_pipe() -> None:
    """The reader went away (`| head`): stop writing, say nothing, succeed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _fail(message: str, code: int) -> None:
    from notifier.mask import mask_text

    click.echo(f"crswatch: error: {mask_text(message)}", err=True)
    sys.exit(code)


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    from notifier.mask import SecretFilter

    logging.basicConfig(level=level, format="crswatch: %(levelname)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:  # every record, third-party ones included, is masked
        handler.addFilter(SecretFilter())
    if verbose < 2:
        for noisy in ("scrapy", "twisted", "py.warnings", "filelock", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL if not verbose else logging.WARNING)
        # apprise's own log lines are captured per delivery and reported once, by crswatch
        logging.getLogger("apprise").propagate = False
    logging.captureWarnings(True)


@click.group(cls=CrswatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="PATH", envvar="CRSWATCH_DB", help="Database file [env CRSWATCH_DB; default ~/.local/share/crswatch/crswatch.json].")
@click.option("--store", metavar="URL", envvar="CRSWATCH_STORE", help="SQL store for subscribers and deliveries [env CRSWATCH_STORE; default a SQLite file beside --db].")
@click.option("--config", "config_path", metavar="PATH", help="TOML configuration file [env CRSWATCH_CONFIG; default ~/.config/crswatch/config.toml].")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debugging).")
@click.version_option(package_name="crswatch")
@click.pass_context
def main(ctx: click.Context, db: str | None, store: str | None, config_path: str | None, verbose: int) -> None:
    """Watch IRCC's Express Entry rounds and alert subscribers when a draw reaches their CRS score.

    \b
    Quick start:
      crswatch check                 # fetch the feed, store new draws, send alerts
      crswatch draws --limit 5       # the newest stored draws
    """
    _setup_logging(verbose)
    ctx.obj = App(db, config_path, verbose, store)


# ------------------------------------------------------------------------------------- check


@main.command()
@click.option("--source", metavar="URL", envvar="CRSWATCH_SOURCE", help="Feed URL (http, https or file) [env CRSWATCH_SOURCE].")
@click.option("--dry-run", is_flag=True, help="Fetch and match, print what would happen; store and send nothing.")
@click.option("--wait", type=click.FloatRange(min=0), default=10.0, show_default=True, metavar="SECONDS", help="How long to wait for another running check before giving up (exit 6).")
@click.option("--accept-edit", "accept", multiple=True, metavar="NUMBER", help="Store IRCC's edit of this draw although it moves its date or stream (held otherwise; repeatable).")
@click.pass_obj
def check(app: App, source: str | None, dry_run: bool, wait: float, accept: tuple[str, ...]) -> None:
    """Run one cycle: fetch the feed, store new and changed draws, alert subscribers.

    Exit 0 when the cycle ran; 3 when the feed could not be fetched, 4 when it was rejected,
    6 when another check is running, 9 when the rest was stored but some rounds are held
    (unreadable or implausible: listed on stderr, in `status` and to the operator).
    Made for cron.

    \b
    Example:
      crswatch check
      crswatch check --source file:///tmp/ee_rounds_123_en.json --dry-run
    """
    from .cycle import run_check
    from notifier.mask import scrub
    from scraper.crawl import run_reactor

    if source and "://" not in source:
        raise errors.UsageError(f"--source {source!r} is not a URL; for a file use file://{Path(source).expanduser().resolve()}")
    config = app.with_config(source=source)
    database = app.database
    with database.cycle_lock(timeout=wait):
        report = run_reactor(lambda: run_check(config, database, app.store, dry_run=dry_run, accept=tuple(a.lstrip("#") for a in accept)))
    for draw in report.new_draws[-20:] if not report.first_run else []:
        click.echo(f"new draw #{draw.number} {draw.date} {draw.program}: {draw.invitations:,} invitations, CRS {draw.crs}")
    if dry_run:
        for delivery in report.planned:
            verdict = (delivery.verdict or "range withdrawn").replace("_", " ")
            click.echo(f"would alert {delivery.subscriber} via {scrub(delivery.masked)}: #{delivery.draw} {delivery.kind}: {verdict}")
    click.echo(report.summary())
    for held in report.held:
        click.echo(f"crswatch: error: round #{held.number or '?'} held, not stored: {held.reason}", err=True)
    if report.held:
        sys.exit(errors.HELD)


# ------------------------------------------------------------------------------------- draws


def _order(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise errors.UsageError(f"--since {since} is after --until {until}")


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _known_streams(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Stream codes are the built-in ones plus those `[streams]` in the configuration adds."""
    labels = ctx.find_object(App).config.streams.labels
    for value in values:
        if value not in labels:
            raise click.BadParameter(f"{value!r} is not a stream code; valid: {', '.join(labels)} (see: crswatch streams)")
    return values


def stream_option(help_text: str = "Only this stream (repeatable; codes: crswatch streams).") -> Any:
    return click.option("--stream", "streams", multiple=True, metavar="CODE", callback=_known_streams, help=help_text)


@main.group(invoke_without_command=True)
@stream_option()
@click.option("--since", callback=parse_day, metavar="DATE", help="Draws on or after this date (YYYY-MM-DD).")
@click.option("--until", callback=parse_day, metavar="DATE", help="Draws on or before this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many draws.")
@format_option
@click.pass_context
def draws(ctx: click.Context, streams: tuple[str, ...], since: date | None, until: date | None, limit: int | None, fmt: str) -> None:
    """List stored draws, newest first.

    \b
    Examples:
      crswatch draws --limit 5
      crswatch draws --stream cec --since 2025-01-01 --format csv
      crswatch draws show 392
    """
    if ctx.invoked_subcommand is not None:
        return
    from scraper.store import query_draws

    app: App = ctx.obj
    _order(since, until)
    with app.database.reader() as view:
        rows = query_draws(view, streams, since, until, limit)
        if not rows and not query_draws(view, limit=1) and fmt == "table":
            click.echo("no draws are stored yet: run `crswatch check` first", err=True)
    if fmt == "table":
        emit(rows, DRAW_COLUMNS, fmt)
    else:
        emit(({k: row.get(k) for k in DRAW_KEYS} for row in rows), DRAW_KEYS, fmt)


@draws.command("show")
@click.argument("number")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format.")
@click.pass_obj
def draws_show(app: App, number: str, fmt: str) -> None:
    """Show one draw with everything stored about it, pool distribution included.

    \b
    Example:
      crswatch draws show 392
      crswatch draws show 91a --format json
    """
    import json

    from scraper.store import find_draw, revisions_of

    with app.database.reader() as view:
        record = find_draw(view, number)
        revisions = revisions_of(view, record["number"]) if record else []
    if record is None:
        raise errors.UsageError(f"no draw numbered {number!r} is stored (try: crswatch draws --limit 5)")
    if fmt == "json":
        click.echo(json.dumps(dict(record) | {"revisions": revisions}, indent=2, ensure_ascii=False))
        return
    fields = [
        ("Draw", f"#{record['number']}"),
        ("Date", record["date"]),
        ("Drawn at", record.get("drawn_at") or "-"),
        ("Program", record["program"]),
        ("Stream", record["stream"]),
        ("Invitations", f"{record['invitations']:,}"),
        ("CRS cut-off", record["crs"]),
        ("Tie-break", record.get("tie_break") or "-"),
        ("Eligible", ", ".join(record.get("eligible_programs") or []) or "-"),
        ("Link", record.get("url") or "-"),
        ("First seen", record.get("first_seen") or "-"),
        ("Revisions", len(revisions)),
    ]
    for label, value in fields:
        click.echo(f"{label + ':':<13}{value}")
    pool = record.get("pool")
    if pool:
        click.echo(f"\nPool distribution as of {record.get('pool_as_of') or '?'}:")
        for band, count in pool.items():
            indent = "    " if band in SUB_BANDS else "  "
            click.echo(f"{indent}{band:<10}{count:>10,}")
    else:
        click.echo("\nPool distribution: not published with this draw")


@main.command("streams")
@format_option
@click.pass_obj
def streams_command(app: App, fmt: str) -> None:
    """List the stream codes: their labels, the draw names seen for each (with counts and the last
    date), and the names waiting in `other` with their draw numbers.

    A name in `other` is one crswatch does not know.  Teach it in the configuration file
    (`[streams]`, see the README); the next check re-classifies its draws and sends late alerts.

    \b
    Examples:
      crswatch streams
      crswatch streams --format json
    """
    from scraper.store import names_seen

    known = app.config.streams
    with app.database.reader() as view:
        seen = names_seen(view)
    rows = []
    for code, label in known.labels.items():
        names = [n for n in seen if n["stream"] == code]
        rows.append({
            "code": code,
            "label": label,
            "draws": sum(n["draws"] for n in names),
            "last": max((n["last"] for n in names), default=None),
            "names": [{k: n[k] for k in ("name", "draws", "last")} | ({"numbers": n["numbers"]} if code == "other" else {}) for n in names],
        })  # fmt: skip
    for code in sorted({n["stream"] for n in seen} - set(known.labels)):  # a code that left the configuration
        names = [n for n in seen if n["stream"] == code]
        rows.append({"code": code, "label": "(no longer configured)", "draws": sum(n["draws"] for n in names),
                     "last": max(n["last"] for n in names), "names": [{k: n[k] for k in ("name", "draws", "last")} for n in names]})  # fmt: skip
    if fmt == "json":
        emit(rows, ("code", "label", "draws", "last", "names"), fmt)
        return
    flat = [
        {"code": row["code"], "label": row["label"], "name": name["name"], "draws": name["draws"], "last": name["last"],
         "numbers": " ".join(name.get("numbers", []))}
        for row in rows for name in row["names"] or [{"name": "", "draws": 0, "last": None}]
    ]  # fmt: skip
    columns = ("code", "label", "name", "draws", "last", "numbers")
    emit(flat, columns if fmt == "csv" or any(r["numbers"] for r in flat) else columns[:-1], fmt)


SUB_BANDS = {"491-500", "481-490", "471-480", "461-470", "451-460", "441-450", "431-440", "421-430", "411-420", "401-410"}


from .cli_history import HISTORY_COMMANDS  # noqa: E402
from .cli_ops import OPS_COMMANDS  # noqa: E402
from .cli_subscribers import register as _register_subscribers  # noqa: E402

_register_subscribers(main)
for _command in HISTORY_COMMANDS + OPS_COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
