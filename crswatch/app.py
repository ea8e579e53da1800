"""What every command shares: the configuration and the database, opened lazily."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

from store.draws import Database

from .config import Config, load_config


class App:
    """What every command shares: the configuration and the database, both opened lazily."""

    def __init__(self, db: str | None, config_path: str | None, verbose: int, store: str | None = None):
        self.db_override = db
        self.store_override = store
        self.config_path = config_path
        self.verbose = verbose

    @cached_property
    def config(self) -> Config:
        config = load_config(self.config_path, db=self.db_override, store=self.store_override)
        remember_config(config)
        return config

    @cached_property
    def database(self) -> Database:
        from .config import default_db_path

        return Database(self.config.db, create_folder=self.config.db == default_db_path())

    @cached_property
    def store(self) -> Any:
        """The SQL store (subscribers, deliveries, sign-ups, status), migrated on first use."""
        from store.sql import Store

        from .upgrade import upgrade

        self.database.check()  # --db must be usable (its folder exists, it is a draws file) before anything is made beside it
        store = Store(self.config.store_url)
        upgrade(self.database, store)  # an earlier release's files, moved in once
        configure_telegram(self.config, store)
        return store

    def with_config(self, **overrides: Any) -> Config:
        self.__dict__["config"] = replace(self.config, **{k: v for k, v in overrides.items() if v is not None})
        remember_config(self.config)
        return self.config

    @property
    def subscriber_defaults(self) -> Any:
        from subscribers.manage import Defaults

        return Defaults(self.config.subscribers.within, self.config.subscribers.streams, self.config.streams.subscribable)


def remember_config(config: Config) -> None:
    """The configuration's secrets, for the log filter and error lines (see notifier.mask)."""
    from notifier.mask import remember_url

    for url in (config.source, *config.alerts.operator, config.web.email_channel, config.web.sms_channel):
        if url:
            remember_url(url)
    if config.telegram.token:
        from notifier.mask import remember

        remember(config.telegram.token)  # Bot API URLs carry it in their path (the HTTP library logs them)


def configure_telegram(config: Config, store: Any) -> None:
    """Telegram channels (`telegram://<chat id>`) are sent with the configured bot, and a chat
    that blocked it deactivates its subscriber in this store."""
    from notifier import telegram

    settings = config.telegram
    telegram.configure(telegram.Settings(settings.token, settings.api_url, settings.rate, settings.chat_gap), store)
