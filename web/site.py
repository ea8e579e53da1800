"""What every view of `crswatch serve` needs, made once with the app (`site()` gives it to a view)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from flask import current_app
from limits import RateLimitItem

from crswatch.config import Config
from crswatch.draws.streams import label
from crswatch.notifier.letters import DEFAULT, Letters
from crswatch.store.draws import Database
from crswatch.store.sql import Store
from crswatch.subscribers.manage import Defaults

from .background import ConfirmationSender


@dataclass
class Site:
    """What every view needs, made once when the app is (`site()` gives it to a view)."""

    config: Config
    store: Store
    defaults: Defaults
    link_key: bytes
    per_client: RateLimitItem
    per_destination: RateLimitItem
    own_url: str  # links in messages never come from the request's Host header (which a client chooses)
    sender: ConfirmationSender | None
    database: Database  # the draws: this host's file
    api_limit: RateLimitItem
    charts: dict[tuple[str, str], bytes] = field(default_factory=dict)  # per stream and data version
    answers: dict[Any, tuple[bytes, str, str]] = field(
        default_factory=dict
    )  # the open data (body, type, ETag) per query and data version (web.api)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # tests inject theirs
    metrics: Any = None  # the Prometheus registry of /metrics (crswatch.metrics)
    letters: Letters = DEFAULT  # the message templates (crswatch's own, or an operator's folder over them)

    @property
    def labels(self) -> Mapping[str, str]:
        return self.config.streams.labels

    @cached_property
    def labels_tag(self) -> str:
        """The stream labels' part of the data version (they are in /api/streams and the feeds)."""
        return hashlib.blake2b(json.dumps(dict(self.labels), sort_keys=True).encode(), digest_size=8).hexdigest()

    def names(self, language: str) -> dict[str, str]:
        """Stream code → label in this language (an operator's own streams keep their label)."""
        return {code: label(code, language, self.labels) or text for code, text in self.labels.items()}

    def choices(self, language: str) -> list[tuple[str, str]]:
        names = self.names(language)
        return [(code, names[code]) for code in self.defaults.choices if code != "other"]


def site() -> Site:
    found: Site = current_app.extensions["crswatch"]
    return found
