"""What every command shares: the configuration and the database, opened lazily."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

from crswatch.notifier.mask import Secrets
from crswatch.store.draws import Database

from .config import Config
from .config_load import load_config


class App:
    """What every command shares: the configuration and the database, both opened lazily."""

    def __init__(
        self,
        db: str | None,
        config_path: str | None,
        verbose: int,
        store: str | None = None,
        new_store: bool = False,
        secrets: Secrets | None = None,
    ):
        self.db_override = db
        self.store_override = store
        self.new_store = new_store  # the operator confirms that an empty store meets the draws file's history
        self.config_path = config_path
        self.verbose = verbose
        self.schedule_flags: dict[str, str] = {}  # `run`'s schedule options, read with the file's [schedule]
        # the configuration's secrets, hidden from every line this app prints or logs (its log
        # handlers' filter holds the same object: see crswatch.cli.main)
        self.secrets = secrets if secrets is not None else Secrets()

    @cached_property
    def config(self) -> Config:
        config = load_config(
            self.config_path, schedule=self.schedule_flags, db=self.db_override, store=self.store_override
        )
        remember_config(config, self.secrets)
        return config

    @cached_property
    def database(self) -> Database:
        from .config import default_db_path

        return Database(self.config.db, create_folder=self.config.db == default_db_path())

    @cached_property
    def store(self) -> Any:
        """The SQL store (subscribers, deliveries, sign-ups, status), migrated on first use."""
        return self._open_store(look=False)

    def _open_store(self, look: bool) -> Any:
        from crswatch.store.sql import Store

        from .upgrade import refuse_new_file, upgrade

        # --db must be usable (its folder exists, it is a draws file) before anything is made beside it
        if look:
            self.database.peek()
        else:
            self.database.check()
        refuse_new_file(self.database, self.config.store_url, self.new_store)
        store = Store(self.config.store_url)
        upgrade(self.database, store, self.new_store)  # an earlier release's files, moved in once
        return store

    @cached_property
    def services(self) -> Any:
        """The bot, pacers and store every message this process sends goes through: one for the
        process, so a pacer outlives a check (`notifier.services`)."""
        return services_of(self.config, self.store, self.secrets)

    @cached_property
    def read_store(self) -> Any:
        """The store for commands that only look (`status`, listings): they never create a file or
        a folder.  A SQLite store that does not exist yet reads as an empty one."""
        from crswatch.store.sql import Store
        from crswatch.store.url import require_folder, sqlite_missing, sqlite_path, where

        url = self.config.store_url
        if not sqlite_missing(url) or self.database.path.with_name(self.database.path.name + ".d").is_dir():
            # (0.1's files are moved in by the first command that uses the store, as documented)
            return self.__dict__["store"] if "store" in self.__dict__ else self._open_store(look=True)
        self.database.peek()
        path = sqlite_path(url)
        if self.config.store and path is not None:
            require_folder(path)  # a --store named: its folder must exist (the default one is made by the first write)
        empty = Store("sqlite://")  # in memory: the schema and nothing else, gone when the command ends
        place = where(url)
        empty.where = replace(place, url="sqlite://", shown=place.shown + " (not created yet)")
        return empty

    def with_config(self, **overrides: Any) -> Config:
        self.__dict__["config"] = replace(self.config, **{k: v for k, v in overrides.items() if v is not None})
        remember_config(self.config, self.secrets)
        return self.config

    @property
    def subscriber_defaults(self) -> Any:
        from crswatch.subscribers.manage import Defaults

        return Defaults(
            self.config.subscribers.within,
            self.config.subscribers.streams,
            self.config.streams.subscribable,
            self.crs_rules,
        )

    @cached_property
    def crs_rules(self) -> tuple[Any, ...]:
        """An operator's CRS grid versions (`[crs] rules`, a folder relative to the configuration file)."""
        from .config import crs_rules

        return crs_rules(self.config)


def remember_config(config: Config, secrets: Secrets) -> None:
    """Add the configuration's secrets to the app's, for the log filter and error lines (see notifier.mask)."""
    from crswatch.notifier.channels import remember_url

    for url in (config.source, *config.alerts.operator, config.web.email_channel, config.web.sms_channel):
        if url:
            remember_url(url, secrets)
    if config.telegram.token:
        secrets.remember(config.telegram.token)  # Bot API URLs carry it in their path (the HTTP library logs them)


def services_of(config: Config, store: Any, secrets: Secrets | None = None) -> Any:
    """What sending needs (`notifier.services`): the configured bot, whose `telegram://<chat id>`
    channels are sent with it, fresh pacers, the message templates (an operator's `[alerts]
    templates` over crswatch's own, each checked now: a broken one stops the command before
    anything is sent), and this store, in which a chat that blocked the bot deactivates its
    subscriber."""
    from crswatch.notifier import telegram
    from crswatch.notifier.letters import DEFAULT, Letters
    from crswatch.notifier.services import Services

    from .errors import UsageError

    letters, folder = DEFAULT, config.templates_folder
    if folder is not None:
        if not folder.is_dir():
            raise UsageError(f"[alerts] templates: {folder} is not a folder")
        letters = Letters(folder)
        problems = letters.check()
        if problems:
            raise UsageError(f"[alerts] templates: {problems[0]}")
    settings = config.telegram
    bot = telegram.Settings(settings.token, settings.api_url, settings.rate, settings.chat_gap)
    return Services(bot, store, letters=letters, secrets=secrets if secrets is not None else Secrets())
