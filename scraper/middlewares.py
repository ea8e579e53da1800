"""Downloader middleware: where a redirect of the feed may lead.

The feed is fetched unattended from cron; a redirect must not turn it into a request to an
internal service (a metadata endpoint, a router page).  A redirect is followed only to a
canada.ca host, to the source's own host, or to a host the operator lists
(`CRSWATCH_REDIRECT_HOSTS`, from `[fetch] redirect_hosts`), and never to a loopback, private or
link-local address unless that is the source's own host.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest

REDIRECTS = {301, 302, 303, 307, 308}
OFFICIAL = "canada.ca"


def redirect_allowed(source: str, target: str, extra_hosts: tuple[str, ...] = ()) -> str | None:
    """None when `source` may redirect to `target`; else why not (one phrase)."""
    parts = urlsplit(target)
    host = (parts.hostname or "").rstrip(".").lower()
    own = (urlsplit(source).hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) address"
    if host == own:
        return None
    if _internal(host):
        return "a loopback, private or link-local address"
    if host == OFFICIAL or host.endswith("." + OFFICIAL):
        return None
    if any(host == h.lower() or host.endswith("." + h.lower().lstrip(".")) for h in extra_hosts):
        return None
    return f"host {host} is neither canada.ca nor the source's host (allow it with [fetch] redirect_hosts)"


def _internal(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


class RedirectGuard:
    """Refuses a redirect (the request fails with a reason) that `redirect_allowed` refuses."""

    def __init__(self, extra_hosts: tuple[str, ...] = ()):
        self.extra_hosts = extra_hosts

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectGuard:
        return cls(tuple(crawler.settings.getlist("CRSWATCH_REDIRECT_HOSTS")))

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECTS or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        source = (request.meta.get("redirect_urls") or [request.url])[0]
        why = redirect_allowed(source, target, self.extra_hosts)
        if why is not None:
            raise IgnoreRequest(f"redirect refused: {why}")
        return response
