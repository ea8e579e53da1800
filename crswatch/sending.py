"""The shell's part in sending: the retry policy and the links in alerts from the configuration,
the outbox dispatched in a worker thread (the event loop stays free), the operator's notices, and
what the store no longer needs.  `check`, `run`, `serve` and `test-alert` share them."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crswatch.draws.record import Draw
from crswatch.notifier.outbox import Delivery, DispatchReport
from crswatch.notifier.policy import Policy
from crswatch.notifier.services import Services
from crswatch.store.sql import Store

from .config import Config

log = logging.getLogger("crswatch")


def policy_of(config: Config) -> Policy:
    return Policy(
        config.alerts.retry_base,
        config.alerts.retry_cap,
        config.alerts.max_attempts,
        config.alerts.lease,
        config.alerts.store_retry,
    )


async def deliver(config: Config, store: Store, services: Services, kinds: tuple[str, ...] = ()) -> DispatchReport:
    """Send every due delivery (in a worker thread: the event loop stays free)."""
    from crswatch.notifier.outbox import any_due

    with store.read() as conn:
        if not any_due(conn, datetime.now(UTC)):
            return DispatchReport()  # nothing to send: skip loading the notifier
    from crswatch.notifier.dispatch import dispatch

    report = await asyncio.to_thread(
        dispatch, store, policy_of(config), concurrency=config.alerts.concurrency, links=links_of(config, store), kinds=kinds,
        contact=config.alerts.contact, services=services,
    )  # fmt: skip
    if report.sent:  # a sent confirmation's link was erased: out of the SQLite write-ahead log too
        await asyncio.to_thread(store.checkpoint)
    return report


def links_of(config: Config, store: Store) -> Any:
    """The subscriber pages for the foot of each alert, when `crswatch serve` is public."""
    if not config.alerts.public_url:
        return None
    from crswatch.store.kv import secret
    from crswatch.subscribers.links import Links

    return Links(config.alerts.public_url, secret(store, "links"))


def tidy(config: Config, store: Store, now: datetime) -> None:
    """What the store no longer needs: finished deliveries past their keeping time, and rate-limit
    hits older than the longest window any limit looks at."""
    from limits import parse as parse_limit

    from crswatch.notifier.outbox import prune
    from crswatch.store import limits

    web = config.web
    longest = max(parse_limit(limit).get_expiry() for limit in (web.client_limit, web.destination_limit))
    with store.write() as conn:
        prune(conn, now)
        limits.prune(conn, older_than=longest, now=now.timestamp())


def notify_operator(
    config: Config,
    services: Services,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    new_draws: Sequence[Draw] = (),
    dead: Sequence[Delivery] = (),
    dry_run: bool = False,
) -> None:
    if dry_run or not config.alerts.operator:
        return
    from crswatch.notifier.operator import notices

    found = notices(
        before,
        after,
        failures_threshold=config.alerts.operator_after_failures,
        new_draws=list(new_draws),
        dead=list(dead),
    )
    if found:
        send_operator(config, [(n.title, n.text) for n in found], services)


def send_operator(config: Config, messages: list[tuple[str, str]], services: Services) -> None:
    """Best effort: an operator channel that fails is logged (masked), never fatal."""
    from crswatch.notifier.mask import mask_text
    from crswatch.notifier.send import send

    for title, raw in messages:
        text = mask_text(raw, services.secrets)  # (a dead delivery's error may quote what a service said)
        body = html.escape(text).replace("\n", "<br>")  # names and reasons come from the feed
        for url in config.alerts.operator:
            result = send(url, title, {"text": text, "html": f"<p>{body}</p>"}, services)
            if not result.ok:
                from crswatch.notifier.channels import mask_url

                log.warning("operator channel %s failed: %s", mask_url(url), result.error)
