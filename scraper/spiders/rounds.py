"""The rounds spider: fetch the feed once, yield every raw round and one `FeedOutcome`.

It only fetches and splits: parsing rounds into `Draw`s happens in the pipelines.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from .. import DEFAULT_SOURCE
from ..items import FeedOutcome, RawRound
from ..parse import FeedError, parse_feed


class RoundsSpider(scrapy.Spider):
    name = "rounds"

    def __init__(self, source: str = DEFAULT_SOURCE, validators: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.source = source
        self.validators = validators or {}
        self.received: dict[int, int] = {}  # id(request) → body bytes so far
        self.oversized = False  # a body went past DOWNLOAD_MAXSIZE, whatever its framing

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> RoundsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.count_bytes, signal=signals.bytes_received)
        return spider

    def count_bytes(self, data: bytes, request: Any, spider: Any = None) -> None:
        """Scrapy cancels a body of unknown length (chunked, or ended by closing) once it passes
        the limit, and reports only a cancellation: counting here tells it from a network failure."""
        size = self.received[id(request)] = self.received.get(id(request), 0) + len(data)
        limit = self.settings.getint("DOWNLOAD_MAXSIZE")
        if limit and size > limit:
            self.oversized = True

    async def start(self) -> AsyncIterator[scrapy.Request | FeedOutcome]:
        if self.source.startswith("file:"):
            refusal = check_file(self.source, self.settings.getint("DOWNLOAD_MAXSIZE"))
            if refusal is not None:  # no request at all: nothing to retry, nothing read
                yield refusal
                return
        url, credentials = split_credentials(self.source)
        yield scrapy.Request(
            url,
            headers=conditional_headers(self.validators) | credentials,
            callback=self.parse,
            errback=self.failed,
            dont_filter=True,
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[RawRound | FeedOutcome]:
        etag = _header(response, b"ETag") or self.validators.get("etag")
        last_modified = _header(response, b"Last-Modified") or self.validators.get("last_modified")
        if response.status == 304:
            yield FeedOutcome("unchanged", "304 Not Modified", etag, last_modified, self.validators.get("sha256"))
            return
        limit = self.settings.getint("DOWNLOAD_MAXSIZE")
        if limit and len(response.body) > limit:  # file:// downloads are not capped by Scrapy
            yield FeedOutcome("rejected", f"the feed is larger than {limit:,} bytes")
            return
        digest = hashlib.sha256(response.body).hexdigest()
        if digest == self.validators.get("sha256"):
            yield FeedOutcome("unchanged", "same body as last time", etag, last_modified, digest)
            return
        try:
            rounds = parse_feed(response.body)
        except FeedError as exc:
            yield FeedOutcome("rejected", str(exc))
            return
        for position, raw in enumerate(rounds):
            yield RawRound(position, raw)
        yield FeedOutcome("fetched", "", etag, last_modified, digest, len(rounds))

    def failed(self, failure: Failure) -> Iterator[FeedOutcome]:
        if self.oversized or "max size" in str(failure.value):  # Scrapy cancelled a body over DOWNLOAD_MAXSIZE
            limit = self.settings.getint("DOWNLOAD_MAXSIZE")
            yield FeedOutcome("rejected", f"the feed is larger than {limit:,} bytes")
            return
        yield FeedOutcome("failed", describe_failure(failure))


def check_file(source: str, limit: int) -> FeedOutcome | None:
    """A file:// source is checked before it is read: it exists, is a file, and is not too big."""
    from w3lib.url import file_uri_to_path

    path = Path(file_uri_to_path(source))
    try:
        info = path.stat()
    except OSError as exc:
        return FeedOutcome("failed", f"cannot read {path}: {exc.strerror}")
    if not stat.S_ISREG(info.st_mode):
        return FeedOutcome("failed", f"{path} is not a file")
    if limit and info.st_size > limit:
        return FeedOutcome("rejected", f"the feed is larger than {limit:,} bytes")
    return None


def split_credentials(source: str) -> tuple[str, dict[str, str]]:
    """A source with `user:password@` → the URL without them, and a Basic Authorization header
    (Scrapy cannot fetch a URL with credentials in it, and a URL gets logged)."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    from w3lib.http import basic_auth_header

    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return source, {}
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    header = basic_auth_header(unquote(user), unquote(password)).decode("ascii")
    return urlunsplit(parts._replace(netloc=host)), {"Authorization": header}


def conditional_headers(validators: dict[str, Any]) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers


def describe_failure(failure: Failure) -> str:
    """One line saying why the fetch failed (an HTTP status, a timeout, a refused connection)."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"the server answered HTTP {response.status} for {response.url}"
    kind = type(failure.value).__name__
    message = str(failure.value).strip() or kind
    return f"{kind}: {message}"


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
