"""The `crswatch` group: global options, logging, and one line `crswatch: error: …` with a
documented exit code for every expected failure (see `errors`).  The commands live in one module
per group (`draws`, `history`, `crs`, `subscribers`, `ops`) and are added in `crswatch.cli`.

Commands import what they need when they run (Scrapy and apprise are slow to import; `draws`
and `subscribers` need neither).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from crswatch.notifier.mask import Secrets
from crswatch.notifier.outgoing import tune_for_sending
from crswatch.store.errors import StoreBusy, StoreError, StoreURLError
from crswatch.subscribers.validate import Invalid

from .. import errors
from ..app import App
from ..config import ConfigError


class CrswatchGroup(click.Group):
    """Turns expected failures into one line on stderr and a documented exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        """click's own usage errors too: one line `crswatch: error: …`, exit 2; a closed pipe
        (`crswatch draws | head -1`) ends quietly with exit 0."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            try:
                sys.stdout.flush()  # here, not at exit, where a closed pipe would be reported
            except BrokenPipeError:
                _quiet_pipe()
            return result
        except click.UsageError as exc:
            words = exc.ctx.command_path.split()[1:] if exc.ctx else []
            message = exc.format_message().replace("\n", " ")
            hint = (
                f" (see: {' '.join(['crswatch', *words, '--help'])})" if exc.ctx and "(see: " not in message else ""
            )  # one hint
            _fail(message + hint, errors.USAGE)
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
        except StoreBusy as exc:
            _fail(str(exc), errors.BUSY)
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
            if os.environ.get("CRSWATCH_DEBUG"):
                traceback.print_exc()  # where it landed, on request
            _fail("interrupted", 130)
        except Exception as exc:  # a bug: say so in one line, full traceback on request
            if os.environ.get("CRSWATCH_DEBUG"):
                raise
            # one line, cut short: a bug's message may quote the data it was handling (rows, names, hashes)
            summary = (str(exc).strip().splitlines() or [""])[0][:200]
            _fail(
                f"internal error: {type(exc).__name__}: {summary} (set CRSWATCH_DEBUG=1 for details)", errors.INTERNAL
            )


def _quiet_pipe() -> None:
    """The reader went away (`| head`): stop writing, say nothing, succeed."""
    silence_stdout()
    sys.exit(0)


def silence_stdout() -> None:
    """Whatever is still buffered or written goes nowhere (the reader of the pipe is gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _fail(message: str, code: int) -> None:
    from crswatch.draws.text import printable
    from crswatch.notifier.mask import mask_text

    context = click.get_current_context(silent=True)
    app = context.find_object(App) if context is not None else None
    click.echo(f"crswatch: error: {printable(mask_text(message, app.secrets if app else None))}", err=True)
    sys.exit(code)


class _PrintableFilter(logging.Filter):
    """Control characters and escape sequences out of every log line (feed text lands in
    warnings; a terminal must not act on it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from crswatch.draws.text import printable

        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        clean = printable(message, lines=True)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _setup_logging(verbose: int, secrets: Secrets) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    from crswatch.notifier.mask import SecretFilter

    # force: each invocation logs to the stderr it runs with (the same thing in a process of its own;
    # in-process callers such as the tests invoke the command many times with a new stderr each)
    logging.basicConfig(level=level, format="crswatch: %(levelname)s: %(message)s", stream=sys.stderr, force=True)
    for handler in logging.getLogger().handlers:  # every record, third-party ones included, is masked
        handler.addFilter(SecretFilter(secrets))  # (the app's configuration secrets)
        handler.addFilter(_PrintableFilter())  # and quotes feed text without its escape sequences
    if verbose < 2:
        for noisy in ("scrapy", "twisted", "py.warnings", "filelock", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL if not verbose else logging.WARNING)
        # apprise's own log lines are captured per delivery and reported once, by crswatch
        logging.getLogger("apprise").propagate = False
    logging.captureWarnings(True)


@click.group(cls=CrswatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH",
    envvar="CRSWATCH_DB",
    help="Database file [env CRSWATCH_DB; default ~/.local/share/crswatch/crswatch.json].",
)
@click.option(
    "--store",
    metavar="URL",
    envvar="CRSWATCH_STORE",
    help="SQL store for subscribers and deliveries [env CRSWATCH_STORE; default a SQLite file beside --db].",
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="TOML configuration file [env CRSWATCH_CONFIG; default ~/.config/crswatch/config.toml].",
)
@click.option(
    "--new-store",
    is_flag=True,
    help="Confirm that a new, empty store starts beside a draws file that has history (its draws are recorded as announced; nobody is alerted about them).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debugging).")
@click.version_option(package_name="crswatch")
@click.pass_context
def main(
    ctx: click.Context, db: str | None, store: str | None, config_path: str | None, new_store: bool, verbose: int
) -> None:
    """Watch IRCC's Express Entry rounds and alert subscribers when a draw reaches their CRS score.

    \b
    Quick start:
      crswatch check                 # fetch the feed, store new draws, send alerts
      crswatch draws --limit 5       # the newest stored draws
    """
    secrets = Secrets()
    _setup_logging(verbose, secrets)
    tune_for_sending()  # a setting of the whole process (see notifier.outgoing.SWITCH_INTERVAL)
    ctx.obj = App(db, config_path, verbose, store, new_store, secrets)
