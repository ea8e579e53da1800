"""`/metrics` and `/healthz`: what an operator's Prometheus and load balancer read.

The figures are read from the store when Prometheus scrapes, by a custom collector, not counted
in the process that serves them: several `serve` and `run` processes on several hosts share one
store, and each one's /metrics must say the same thing (a process-local counter would count only
what that process did, and restart at zero).  The few figures that count events rather than
describe the present (checks by outcome, feed 304s) are therefore kept as counters in the shared
status document, written by the check itself in the same transaction as its outcome
(`crswatch.storing.update_status`): they survive restarts and agree across hosts.  Deliveries are
gauges of the outbox as it is (sent ones are kept `KEEP_SENT` days, then tidied).

The draws are the one per-host figure: each host keeps its own draws file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from crswatch.store.draws import Database
    from crswatch.store.sql import Store

    from .config import Config

log = logging.getLogger("crswatch")
Clock = Callable[[], datetime]
OUTCOMES = ("updated", "unchanged", "failed", "rejected")


@dataclass
class Health:
    healthy: bool
    problems: list[str]


def health(config: Config, store: Store, now: datetime) -> Health:
    """Whether checks succeed on schedule (as `crswatch status` judges it; held rounds and dead
    deliveries are for the operator to read in `status`, not a reason to restart anything)."""
    from crswatch.store import kv

    from .status import check_problems

    with store.read() as conn:
        problems = check_problems(kv.get(conn, "status"), kv.get(conn, "run"), config, now)
    return Health(not problems, problems)


class StoreCollector:
    """A prometheus_client collector that reads the store (and this host's draws) at scrape time."""

    def __init__(self, config: Config, store: Store, database: Database, clock: Clock = lambda: datetime.now(UTC)):
        self.config, self.store, self.database, self.clock = config, store, database, clock

    def describe(self) -> Iterable[Metric]:
        return []  # nothing is read at registration: the store may not be up yet

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        from crswatch.store.errors import StoreError

        now = self.clock()
        try:
            with self.database.reader() as view, self.store.read() as conn:
                families = list(_families(view, conn, self.config, now))
        except StoreError as error:  # the scrape says so; the process serving it stays up
            log.warning("metrics: %s", error)
            families = []
        up = GaugeMetricFamily(
            "crswatch_store_up", "1 when the store (and this host's draws) could be read for this scrape"
        )
        up.add_metric([], 1.0 if families else 0.0)
        yield up
        yield from families


def _families(view: Any, conn: Connection, config: Config, now: datetime) -> Iterator[Metric]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    from crswatch.draws.table import query_draws
    from crswatch.store import kv

    from .status import check_problems

    status = kv.get(conn, "status")
    checks = CounterMetricFamily("crswatch_checks", "Checks of the feed by outcome, on every host", labels=["outcome"])
    for outcome in OUTCOMES:
        checks.add_metric([outcome], status.get("checks", {}).get(outcome, 0))
    yield checks
    yield CounterMetricFamily("crswatch_feed_not_modified", "Checks the feed answered 304 Not Modified (conditional GET)",
                              value=status.get("not_modified", 0))  # fmt: skip
    for name, key, text in (("crswatch_last_success_timestamp_seconds", "last_success_at", "When a check last succeeded"),
                            ("crswatch_last_check_timestamp_seconds", "last_check_at", "When the feed was last checked"),
                            ("crswatch_feed_last_changed_timestamp_seconds", "last_changed_at", "When the feed's body last changed")):  # fmt: skip
        if status.get(key):
            yield GaugeMetricFamily(name, text, value=datetime.fromisoformat(status[key]).timestamp())
    yield GaugeMetricFamily("crswatch_draws_stored", "Draws in this host's draws file", value=len(query_draws(view)))
    yield GaugeMetricFamily(
        "crswatch_held_rounds",
        "Rounds held, not stored (unreadable or implausible)",
        value=len(status.get("held") or []),
    )
    healthy = not check_problems(status, kv.get(conn, "run"), config, now)
    yield GaugeMetricFamily(
        "crswatch_healthy", "1 while checks succeed on schedule (as /healthz)", value=1.0 if healthy else 0.0
    )
    yield from _outbox(conn, now)
    yield from _people(conn, now)


def _outbox(conn: Connection, now: datetime) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    from crswatch.notifier.gauges import outbox_gauges

    found = outbox_gauges(conn, now)
    by = GaugeMetricFamily(
        "crswatch_deliveries", "Deliveries in the outbox by status and channel kind", labels=["status", "channel"]
    )
    for (status, channel), n in sorted(found.by_status_channel.items()):
        by.add_metric([status, channel], n)
    yield by
    yield GaugeMetricFamily(
        "crswatch_queue_depth", "Deliveries waiting to be sent (queued, or failed and to be retried)", value=found.depth
    )
    yield GaugeMetricFamily("crswatch_oldest_due_delivery_age_seconds", "How long the oldest delivery that is due now has waited (0: none)",
                            value=found.oldest_due_age)  # fmt: skip
    yield GaugeMetricFamily(
        "crswatch_claims_in_flight", "Deliveries a sender holds right now (claimed, lease running)", value=found.claims
    )


def _people(conn: Connection, now: datetime) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    from crswatch.subscribers.census import sign_ups_by_state, subscribers_by_status

    people = GaugeMetricFamily("crswatch_subscribers", "Subscribers by status", labels=["status"])
    for status, n in sorted(subscribers_by_status(conn).items()):
        people.add_metric([status], n)
    yield people
    sign_ups = GaugeMetricFamily(
        "crswatch_sign_ups", "Sign-ups from the web page by state (kept until tidied)", labels=["state"]
    )
    for state, n in sign_ups_by_state(conn, now).items():
        sign_ups.add_metric([state], n)
    yield sign_ups


def registry_for(collector: StoreCollector) -> Any:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render(registry: Any) -> tuple[bytes, str]:
    """The Prometheus text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST


def wsgi_app(
    config: Config, store: Store, database: Database, clock: Clock = lambda: datetime.now(UTC)
) -> Callable[..., Iterable[bytes]]:
    """/metrics and /healthz alone, for `run --metrics-port` (serve has them among its pages)."""
    registry = registry_for(StoreCollector(config, store, database, clock))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, content_type = render(registry)
            status = "200 OK"
        elif path == "/healthz":
            body, content_type, status = healthz_answer(config, store, clock())
        else:
            body, content_type, status = (
                b"not found: /metrics and /healthz are served here\n",
                "text/plain; charset=utf-8",
                "404 Not Found",
            )
        start_response(
            status, [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        )
        return [body]

    return app


def healthz_answer(config: Config, store: Store, now: datetime) -> tuple[bytes, str, str]:
    """200 "ok" while checks succeed on schedule; 503 with the reasons, one a line, otherwise."""
    from crswatch.store.errors import StoreError

    try:
        found = health(config, store, now)
    except StoreError as error:
        found = Health(False, [str(error)])
    body = ("ok\n" if found.healthy else "".join(f"{problem}\n" for problem in found.problems)).encode()
    return body, "text/plain; charset=utf-8", "200 OK" if found.healthy else "503 Service Unavailable"
