"""What `crswatch status` reports; and the per-host feed validators kept beside the draws (TinyDB).

The check's status, the scheduler's heartbeat and the operator-notice state are shared by every
host and live in the SQL store (`store.kv`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tinydb import Query

from crswatch.draws.table import Tables

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from .config import Config

META = "meta"


def get_meta(db: Tables, key: str) -> dict[str, Any]:
    doc = db.table(META).get(Query().key == key)
    return dict(doc) if doc else {}


def put_meta(db: Tables, key: str, values: dict[str, Any]) -> None:
    db.table(META).upsert({"key": key, **values}, Query().key == key)


def report(view: Tables, conn: Connection, config: Config, now: datetime, store: str = "") -> dict[str, Any]:
    """Everything `crswatch status` shows, and whether it is healthy."""
    from crswatch.draws.table import query_draws
    from crswatch.notifier.outbox import counts
    from crswatch.store import kv
    from crswatch.subscribers.optin import pending_count

    status, run = kv.get(conn, "status"), kv.get(conn, "run")
    newest = query_draws(view, limit=1)
    outbox = counts(conn)
    schedule = run.get("schedule") if _alive(run, now) else None
    problems = check_problems(status, run, config, now)
    last_success = status.get("last_success_at")
    failures = status.get("consecutive_failures", 0)
    held = status.get("held") or []
    for round_ in held:
        problems.append(f"round #{round_.get('number') or '?'} held, not stored: {round_.get('reason')}")
    if outbox.get("dead"):
        problems.append(f"{outbox['dead']} dead deliveries (see: crswatch deliveries --status dead)")
    return {
        "healthy": not problems,
        "problems": problems,
        "warnings": operator_warnings(conn, config),
        "last_check_at": status.get("last_check_at"),
        "last_outcome": status.get("outcome"),
        "last_message": status.get("message"),
        "last_new_draws": status.get("new", []),
        "held": held,
        "last_success_at": last_success,
        "consecutive_failures": failures,
        "newest_draw": {k: newest[0][k] for k in ("number", "date", "program", "stream", "invitations", "crs")}
        if newest
        else None,
        "deliveries": {k: outbox.get(k, 0) for k in ("queued", "failed", "dead", "sent")},
        "pending_sign_ups": pending_count(conn),
        "store": store,
        "scheduler": {
            "running": True,
            "host": run.get("host"),
            "pid": run.get("pid"),
            "next_run": run.get("next_run"),
            "heartbeat": run.get("heartbeat"),
        }
        if schedule
        else {"running": False},
    }


def check_problems(status: dict[str, Any], run: dict[str, Any], config: Config, now: datetime) -> list[str]:
    """Whether checks succeed on schedule (the running scheduler's, else `[schedule]`'s): what
    `status` and the health endpoint (`/healthz`) both say."""
    from .schedule import Plan, Window, expected_interval, parse_duration, plan_of

    schedule = run.get("schedule") if _alive(run, now) else None
    plan: Plan = plan_of(config.schedule)
    cron = config.schedule.cron
    if schedule:
        plan = Plan(
            parse_duration(schedule["every"]),
            parse_duration(schedule["outside_every"]),
            Window.parse(schedule["window"]),
        )
        cron = schedule.get("cron") or ""
    problems: list[str] = []
    last_success = status.get("last_success_at")
    if not status:
        problems.append("no check has run yet")
    elif not last_success:
        problems.append("no check has ever succeeded")
    else:
        since = datetime.fromisoformat(last_success)
        expected = expected_interval(plan, cron, since)
        age = (now - since).total_seconds()
        if age > 1.5 * expected:
            problems.append(f"missed run: no successful check for {_human(age)} (expected every {_human(expected)})")
    failures = status.get("consecutive_failures", 0)
    if failures >= config.alerts.operator_after_failures:
        problems.append(f"the feed failed {failures} checks in a row: {status.get('message', '')}")
    if status.get("outcome") == "unwritable":  # stored nothing, whatever the feed said: never healthy
        problems.append(f"the last check could not store the draws: {status.get('message', '')}")
    return problems


def _alive(run: dict[str, Any], now: datetime) -> bool:
    """A `crswatch run` whose last heartbeat is recent and that did not say it stopped."""
    if not run or run.get("stopped") or not run.get("heartbeat"):
        return False
    from crswatch.store.host import alive_here, host_name

    if run.get("host") == host_name():  # this host's process: ask the system (CRSWATCH_HOST, as the claims do)
        return isinstance(run.get("pid"), int) and alive_here(run["pid"])
    return (now - datetime.fromisoformat(run["heartbeat"])).total_seconds() < 24 * 3600


def _human(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d"


WEB_SIGN_UPS = "web_sign_ups"  # the meta key `crswatch serve` sets when a web sign-up is confirmed


def operator_warnings(conn: Connection, config: Config) -> list[str]:
    """What the operator should fix although nothing failed (`status`, `check` and `serve` say it)."""
    from crswatch.store import kv
    from crswatch.subscribers.optin import pending_count

    from .config import way_out_problems

    if not way_out_problems(config.alerts):
        return []
    web = kv.get(conn, WEB_SIGN_UPS).get("confirmed") or pending_count(conn) > 0
    return way_out_problems(config.alerts) if web else []
