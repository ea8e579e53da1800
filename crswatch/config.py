"""Configuration: defaults ← TOML file ← environment ← command-line flags.

The file is `--config PATH`, else `$CRSWATCH_CONFIG`, else `~/.config/crswatch/config.toml` when
it exists.  Unknown keys are an error (a typo must not silently do nothing).  This module holds
what the configuration is (its sections with their defaults, the values derived from them, the
checks a command makes before it starts); `config_load.py` reads it (`load_config`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from crswatch.draws.streams import BUILTIN, StreamMap
from crswatch.notifier.policy import Policy
from crswatch.scraper import DEFAULT_SOURCE


class ConfigError(ValueError):
    """The configuration file or an override is invalid."""


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_db_path() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "crswatch" / "crswatch.json"


def default_config_path() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "crswatch" / "config.toml"


@dataclass(frozen=True)
class Fetch:
    timeout: float = 30.0  # seconds per attempt
    retries: int = 3  # extra attempts on timeouts and 5xx
    delay: float = 2.0  # seconds between attempts (AutoThrottle grows it on slow answers)
    redirect_hosts: tuple[str, ...] = ()  # hosts besides canada.ca and the source's own a redirect may reach
    max_new: int = 3  # more new draws than this dated on or before the newest stored are held (a renumbered feed)
    max_back_days: int = 28  # a new draw older than the newest stored by more days is held, not alerted


@dataclass(frozen=True)
class Alerts:
    retry_base: float = Policy.retry_base  # first retry delay of a failed delivery, seconds; doubles each try
    retry_cap: float = Policy.retry_cap  # longest delay between two tries
    max_attempts: int = Policy.max_attempts  # a delivery that failed this many times is dead
    concurrency: int = 16  # deliveries in flight at once
    operator: tuple[str, ...] = ()  # apprise URLs of the operator
    operator_after_failures: int = 3  # feed failures in a row before the operator hears of it
    public_url: str = ""  # base URL of `crswatch serve`, for links in alerts
    contact: str = ""  # an address recipients can write to (the footer of alerts, and their Reply-To)
    lease: float = (
        Policy.lease
    )  # seconds a sender's claim on deliveries lasts (another host takes over a dead one's after it)
    store_retry: float = (
        Policy.store_retry
    )  # seconds to keep retrying to record results while the store fails; sending pauses meanwhile
    digest_hour: int = (
        8  # daily and weekly digests go out at this hour, Ottawa time (0-23), covering the 24 hours or 7 days before
    )
    digest_weekday: str = "sat"  # the day weekly digests go out: mon tue wed thu fri sat sun
    templates: str = ""  # a folder of the operator's message templates (alert.html, message.html…) over crswatch's own


@dataclass(frozen=True)
class Schedule:
    every: str = "1m"  # interval inside the draw window (it must divide an hour)
    cron: str = ""  # a crontab expression instead of `every`
    window: str = "mon-fri 08:30-19:30"  # America/Toronto (IRCC publishes ~09:00-19:00); "off" polls at `every` all day
    outside_every: str = "15m"  # interval outside the window
    jitter: str = "15s"  # random delay added to each run


@dataclass(frozen=True)
class SubscriberDefaults:
    within: int = 10
    streams: tuple[str, ...] = ("cec", "fsw", "fst")


@dataclass(frozen=True)
class Web:
    host: str = "127.0.0.1"  # `crswatch serve` listens here
    port: int = 8080
    threads: int = 8  # waitress worker threads
    email_channel: str = ""  # apprise URL sending to one address, with {email} where it goes
    sms_channel: str = ""  # apprise URL sending one SMS, with {phone} (E.164 digits) where it goes
    confirm_hours: int = 48  # a confirmation link works this long, once
    client_limit: str = "10/hour"  # sign-ups per client address (limits syntax: N/second|minute|hour|day)
    destination_limit: str = "3/day"  # confirmation messages per e-mail address or phone number
    api_limit: str = "1200/minute"  # reads of /api and the feeds per client address (kept in each serve process)
    proxies: int = 0  # reverse proxies in front (their X-Forwarded-For is trusted that deep)
    connections: int = 1000  # open connections waitress keeps at most (idle ones included)
    idle_timeout: int = (
        10  # seconds a connection may send nothing before it is closed (a trickle is not idle: a proxy must cut it)
    )

    def __post_init__(self) -> None:
        """What the values alone can tell is checked when the file is read, so every command
        refuses a bad [web]; whether apprise can use the channels is asked when `serve` starts
        (`web_problems`: loading apprise for every command would slow them all)."""
        for name, placeholder in (("email_channel", "{email}"), ("sms_channel", "{phone}")):
            if getattr(self, name) and placeholder not in getattr(self, name):
                raise ConfigError(f"{name} must contain {placeholder} where the address goes")
        limits = {name: getattr(self, name) for name in ("client_limit", "destination_limit", "api_limit")}
        if any(value != getattr(Web, name) for name, value in limits.items()):  # the defaults are known good
            from limits import parse

            for name, value in limits.items():
                try:
                    parse(value)
                except ValueError:
                    raise ConfigError(f"{name} must read like 10/hour or 3/day, not {value!r}") from None
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be from 0 to 65535, not {self.port}")
        for name in ("confirm_hours", "threads", "connections", "idle_timeout"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")


@dataclass(frozen=True)
class Crs:
    rules: str = ""  # a folder of extra CRS grid versions (one TOML file per version), added to the shipped ones


@dataclass(frozen=True)
class Telegram:
    token: str = field(
        default="", repr=False
    )  # the bot's token from @BotFather: a secret (env CRSWATCH_TELEGRAM_TOKEN)
    api_url: str = "https://api.telegram.org"  # the Bot API server (tests point it at a local stand-in)
    username: str = ""  # the bot's @name without the @, for the web page's deep links (t.me/<username>?start=…)
    rate: float = 30.0  # messages a second the bot sends at most (Telegram allows about 30)
    chat_gap: float = 1.0  # seconds between two messages to one chat (Telegram allows about 1 a second)
    calculator_url: str = "https://ircc.canada.ca/english/immigrate/skilled/crs-tool.asp"  # for "I don't know my score"
    # who answers the chats: "bot" (`crswatch bot`, long polling), "run" (`crswatch run` polls as well),
    # "serve" (`crswatch serve`, by webhook at <alerts.public_url>/telegram/webhook); one of them only
    chats: str = "bot"

    def __post_init__(self) -> None:
        if self.chats not in CHATS:
            raise ConfigError(f"chats must be one of {', '.join(CHATS)}, not {self.chats!r}")


CHATS = ("bot", "run", "serve")  # [telegram] chats: who answers them


@dataclass(frozen=True)
class Config:
    db: Path = field(default_factory=default_db_path)
    store: str = ""  # SQL store URL (sqlite:///… or postgresql+psycopg://…); default: a SQLite file beside db
    source: str = DEFAULT_SOURCE
    fetch: Fetch = field(default_factory=Fetch)
    alerts: Alerts = field(default_factory=Alerts)
    schedule: Schedule = field(default_factory=Schedule)
    subscribers: SubscriberDefaults = field(default_factory=SubscriberDefaults)
    web: Web = field(default_factory=Web)
    crs: Crs = field(default_factory=Crs)
    telegram: Telegram = field(default_factory=Telegram)
    # [streams]: draw names the operator taught crswatch (name → code) and new codes (code → label)
    stream_names: tuple[tuple[str, str], ...] = ()
    stream_labels: tuple[tuple[str, str], ...] = ()
    # [occupations]: the operator's NOC lists (stream code → codes), each replacing the shipped list
    occupation_lists: tuple[tuple[str, tuple[str, ...]], ...] = ()
    path: Path | None = None  # the file this came from, if any

    @property
    def store_url(self) -> str:
        from crswatch.store.url import default_url

        db = self.db.expanduser()
        return self.store or default_url(db.resolve() if db.is_symlink() else db)  # beside the real draws file

    @property
    def templates_folder(self) -> Path | None:
        """`[alerts] templates`: relative to the configuration file's folder; None when not set."""
        return self._beside(self.alerts.templates)

    @property
    def crs_rules_folder(self) -> Path | None:
        """`[crs] rules`: relative to the configuration file's folder; None when not set."""
        return self._beside(self.crs.rules)

    def _beside(self, value: str) -> Path | None:
        """A path the configuration names: as given when absolute, else from the file's folder."""
        if not value:
            return None
        folder = Path(value).expanduser()
        return folder if folder.is_absolute() or self.path is None else self.path.parent / folder

    @cached_property
    def streams(self) -> StreamMap:
        """The built-in stream table plus `[streams]` (checked when the file is read)."""
        return BUILTIN.with_names(dict(self.stream_names), dict(self.stream_labels))

    @property
    def occupations(self) -> dict[str, tuple[str, ...]]:
        """`[occupations]`: stream code → the operator's NOC codes (checked when the file is read)."""
        return dict(self.occupation_lists)

    def scrapy_overrides(self) -> dict[str, Any]:
        return {
            "DOWNLOAD_TIMEOUT": self.fetch.timeout,
            "RETRY_TIMES": self.fetch.retries,
            "DOWNLOAD_DELAY": self.fetch.delay,
            "AUTOTHROTTLE_START_DELAY": self.fetch.delay,
            "CRSWATCH_STREAMS": self.streams,
            "CRSWATCH_REDIRECT_HOSTS": list(self.fetch.redirect_hosts),
        }

    def masked(self) -> dict[str, Any]:
        """The effective configuration as a dict, every channel URL masked."""
        from crswatch.notifier.channels import mask_url
        from crswatch.notifier.mask import scrub

        data = asdict(self)
        data["db"], data["path"] = str(self.db), str(self.path) if self.path else None
        data["source"] = mask_url(self.source)
        data["store"] = scrub(self.store_url)  # a database URL: its password hidden, the rest as given
        data["streams"] = {name: code for name, code in self.stream_names}
        data["stream_labels"] = dict(self.stream_labels)
        del data["stream_names"]
        data["occupations"] = {code: list(codes) for code, codes in self.occupation_lists}
        del data["occupation_lists"]
        data["alerts"]["operator"] = [mask_url(url) for url in self.alerts.operator]
        for key in ("email_channel", "sms_channel"):
            if data["web"][key]:
                data["web"][key] = mask_url(
                    data["web"][key].replace("{email}", "someone@example.com").replace("{phone}", "15550000000")
                )
        data["telegram"]["token"] = HIDDEN_TOKEN if self.telegram.token else ""
        return data


def crs_rules(config: Config) -> tuple[Any, ...]:
    """An operator's CRS grid versions (`[crs] rules`), for matching profile subscribers."""
    folder = config.crs_rules_folder
    if folder is None:
        return ()
    from crswatch.draws.crs import RulesError, from_folder

    try:
        return from_folder(folder)
    except RulesError as exc:
        raise ConfigError(str(exc)) from None


HIDDEN_TOKEN = "****"  # the bot token is never shown, whole or in part


NO_WAY_OUT = (
    "web subscribers' alerts carry no way to stop them: set [alerts] public_url (env CRSWATCH_PUBLIC_URL) "
    "to the public address of `crswatch serve`, or [alerts] contact (env CRSWATCH_CONTACT) to an address they can write to"
)


def way_out_problems(alerts: Alerts) -> list[str]:
    """A stranger who signed up on the web must always be able to stop the alerts: through the
    links of `public_url`, or by writing to `contact` (the command-line fallback, "ask the operator
    to run crswatch unsubscribe", only helps people who know the operator)."""
    return [] if alerts.public_url or alerts.contact else [NO_WAY_OUT]


def web_problems(web: Web) -> list[str]:
    """What keeps `crswatch serve` from starting with this [web] section (empty when it can),
    beyond what `Web` checked when it was read: a sender is set, and apprise can use each channel."""
    from crswatch.notifier.channels import check_url

    problems = []
    if not web.email_channel:
        problems.append(
            "web.email_channel is not set: the subscription page needs an apprise URL with {email} to send confirmations"
        )
    for name, template, placeholder, sample in (("email_channel", web.email_channel, "{email}", "someone@example.com"),
                                                ("sms_channel", web.sms_channel, "{phone}", "15550000000")):  # fmt: skip
        if template:
            try:
                check_url(template.replace(placeholder, sample))
            except ValueError as exc:
                problems.append(f"web.{name} cannot be used: {exc}")
    return problems
