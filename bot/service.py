"""What the bot does to the store and the draws, through the stages' own operations (the same code
as `crswatch subscribe`, `update`, `pause` and the web page): one short transaction each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crswatch.app import App
from crswatch.draws.table import query_draws
from crswatch.history.answers import NoAnswer, draw_list, forecast_rows
from crswatch.notifier import telegram
from crswatch.subscribers import deeplink, manage
from crswatch.subscribers import store as subscribers
from crswatch.subscribers.model import ACTIVE, Subscriber


@dataclass
class Draft:
    """A sign-up being made in the chat: kept in the bot's memory only, stored when confirmed."""

    language: str
    step: str = "score"
    score: int | None = None
    within: int | None = None
    streams: list[str] = field(default_factory=list)
    profile_created: str | None = None


class Service:
    def __init__(self, app: App):
        self.app = app
        self.store = app.store
        self.defaults = app.subscriber_defaults

    def find(self, chat: int) -> Subscriber | None:
        url = telegram.channel(chat)
        with self.store.read() as conn:
            owner = subscribers.owners(conn, [url]).get(url)
            found = subscribers.get(conn, owner) if owner else None
        return found.subscriber if found else None

    def subscribe(self, chat: int, draft: Draft) -> Subscriber:
        """The confirmed sign-up, stored (an existing subscriber of this chat is updated and active)."""
        with self.store.write() as conn:
            subscriber, _ = manage.subscribe(
                conn, score=draft.score, channels=[telegram.channel(chat)], check=telegram.check, defaults=self.defaults,
                within=draft.within, streams=draft.streams, profile_created=draft.profile_created, language=draft.language,
            )  # fmt: skip
            if subscriber.status != ACTIVE:
                subscriber = manage.set_status(conn, subscriber.id, True)
        return subscriber

    def bind(self, chat: int, token: str) -> tuple[str, Subscriber | None]:
        with self.store.write() as conn:
            state, subscriber = deeplink.bind(
                conn, token, telegram.channel(chat), check=telegram.check, defaults=self.defaults
            )
            if subscriber is not None and subscriber.status != ACTIVE:
                subscriber = manage.set_status(conn, subscriber.id, True)
        return state, subscriber

    def update(self, subscriber: Subscriber, **changes: Any) -> Subscriber:
        with self.store.write() as conn:
            return manage.update(conn, subscriber.id, check=telegram.check, choices=self.defaults.choices, **changes)

    def set_active(self, subscriber: Subscriber, active: bool) -> Subscriber:
        with self.store.write() as conn:
            return manage.set_status(conn, subscriber.id, active)

    def stop(self, subscriber: Subscriber) -> None:
        with self.store.write() as conn:
            manage.unsubscribe(conn, subscriber.id)

    def latest(self, limit: int = 5) -> list[dict[str, Any]]:
        with self.app.database.reader() as view:
            return draw_list(view, limit=limit)

    def history(self, streams: tuple[str, ...], limit: int = 5) -> list[dict[str, Any]]:
        with self.app.database.reader() as view:
            return draw_list(view, streams, limit=limit)

    def forecast(self, streams: tuple[str, ...], score: int) -> list[dict[str, Any]]:
        from crswatch.history.stats import oldest_first

        with self.app.database.reader() as view:
            records = query_draws(view)
        try:
            return forecast_rows(oldest_first(records), streams, score, 1, date.today())
        except NoAnswer:
            return []
