"""Run the rounds spider in-process and return its `Harvest`.

One asyncio-based Twisted reactor serves the whole process: `run_reactor(main)` starts it once,
awaits `main()`, and stops it.  `fetch()` may be awaited any number of times inside `main`
(that is how the long-lived `crswatch run` re-crawls every tick; a reactor cannot be restarted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .pipelines import Harvest

T = TypeVar("T")
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def crawler_settings(overrides: dict[str, Any] | None = None) -> Any:
    from scrapy.settings import Settings

    from . import settings as defaults

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    settings.update(overrides or {}, priority="cmdline")
    return settings


async def fetch(source: str, validators: dict[str, Any], overrides: dict[str, Any] | None = None) -> Harvest:
    """Fetch and parse the feed once (the reactor must be running: see `run_reactor`)."""
    from scrapy.crawler import AsyncCrawlerRunner

    from .spiders.rounds import RoundsSpider

    runner = AsyncCrawlerRunner(crawler_settings(overrides))
    crawler = runner.create_crawler(RoundsSpider)
    await runner.crawl(crawler, source=source, validators=validators)
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        # Scrapy answers a cancelled crawl by closing the spider and returning normally, with no
        # result: that is a stop, not a feed failure, so the cancellation goes on to the caller
        raise asyncio.CancelledError
    return getattr(crawler, "harvest", None) or Harvest()


def run_reactor(main: Callable[[], Awaitable[T]]) -> T:
    """Install the asyncio reactor, run `main()` to completion on it, return its result."""
    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.reactor import install_reactor

    install_reactor(ASYNCIO_REACTOR)
    from twisted.internet import reactor as installed

    reactor: Any = installed  # the module stands for the installed reactor (typed as an interface)

    outcome: dict[str, Any] = {}

    async def wrapper() -> None:
        try:
            outcome["value"] = await main()
        except BaseException as exc:  # re-raised below, outside the reactor
            outcome["error"] = exc
        finally:
            reactor.callLater(0, reactor.stop)

    reactor.callWhenRunning(lambda: deferred_from_coro(wrapper()))
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
