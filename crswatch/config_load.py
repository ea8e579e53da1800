"""Reading the configuration: the TOML file, every key checked against its section's fields and
type (an unknown key is an error: a typo must not silently do nothing), then the environment
variables, then the command line's overrides.

What the configuration *is* (its sections, defaults and derived values) is `config.py`; this is
only how it is read, so that the commands which are handed a `Config` never load the parser.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from crswatch.draws.streams import BUILTIN

from .config import (
    Alerts,
    Config,
    ConfigError,
    Crs,
    Fetch,
    Schedule,
    SubscriberDefaults,
    Telegram,
    Web,
    default_config_path,
)

_SECTIONS = {
    "fetch": Fetch,
    "alerts": Alerts,
    "schedule": Schedule,
    "subscribers": SubscriberDefaults,
    "web": Web,
    "crs": Crs,
    "telegram": Telegram,
}


def load_config(
    path: str | os.PathLike[str] | None = None, schedule: dict[str, str] | None = None, **overrides: Any
) -> Config:
    """Defaults, then the TOML file, then environment variables, then explicit `overrides` (and
    `schedule`, keys of [schedule]: `run`'s options, which may mend a schedule the file got wrong)."""
    explicit = path or os.environ.get("CRSWATCH_CONFIG")
    file = Path(explicit).expanduser() if explicit else default_config_path()
    config = Config()
    if explicit or file.exists():
        config = _apply_file(config, file)
    config = _apply_env(config)
    for key, value in overrides.items():
        if value is not None:
            config = replace(config, **{key: Path(value).expanduser() if key == "db" else value})  # type: ignore[arg-type]  # a checked field name
    if schedule:
        config = replace(config, schedule=replace(config.schedule, **schedule))
    where = f"{file}: " if explicit or file.exists() else ""
    _check_schedule(config, f"{where}[schedule]" + (" with the command line's options:" if schedule else ""))
    return config


def _check_schedule(config: Config, where: str) -> None:
    """[schedule] is read now, as `run` will read it: a bad one fails every command."""
    from .schedule import ScheduleError, checked_plan

    try:
        checked_plan(config.schedule)
    except ScheduleError as exc:
        raise ConfigError(f"{where} {exc}") from None


def _apply_file(config: Config, file: Path) -> Config:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {file} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {file}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {file} is not valid TOML: {exc}") from None
    top: dict[str, Any] = {"path": file}
    for key, value in data.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: [{key}] must be a table")
            top[key] = _section(getattr(config, key), value, f"{file}: [{key}]")
            if key == "alerts":
                _check_digests(top[key], f"{file}: [alerts]")
        elif key == "db":
            top["db"] = Path(_typed(value, str, f"{file}: db")).expanduser()
        elif key == "source":
            top["source"] = _typed(value, str, f"{file}: source")
        elif key == "store":
            top["store"] = _typed(value, str, f"{file}: store")
        elif key == "streams":
            top["stream_names"], top["stream_labels"] = _streams(value, f"{file}: [streams]")
        elif key == "occupations":
            continue  # checked below, against the stream codes [streams] may add
        else:
            raise ConfigError(
                f"{file}: unknown key {key!r} (known: db, store, source, streams, occupations, {', '.join(_SECTIONS)})"
            )
    if "occupations" in data:
        top["occupation_lists"] = _occupations(
            data["occupations"], dict(top.get("stream_labels", ())), f"{file}: [occupations]"
        )
    return replace(config, **top)


def _occupations(table: Any, labels: dict[str, str], where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`stream = ["31102", ...]`: a stream's whole NOC list, in place of the shipped one."""
    from crswatch.draws.occupations import OccupationsError, overrides
    from crswatch.draws.streams import GENERAL, OTHER, STREAMS

    try:
        lists = overrides(table, where)
    except OccupationsError as exc:
        raise ConfigError(str(exc)) from None
    for code in lists:
        if code in (GENERAL, OTHER) or code not in STREAMS and code not in labels:
            raise ConfigError(
                f"{where} {code!r} is not a category stream; give a built-in category or one [streams] labels"
            )
    return tuple((code, tuple(sorted(codes))) for code, codes in lists.items())


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_digests(alerts: Alerts, where: str) -> None:
    if not 0 <= alerts.digest_hour <= 23:
        raise ConfigError(f"{where} digest_hour must be an hour from 0 to 23, not {alerts.digest_hour}")
    if alerts.digest_weekday not in WEEKDAYS:
        raise ConfigError(f"{where} digest_weekday must be one of {' '.join(WEEKDAYS)}, not {alerts.digest_weekday!r}")


def _streams(table: Any, where: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """`"Draw name" = "code"` or `"Draw name" = { code = "new", label = "What it is" }`."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    names: dict[str, str] = {}
    labels: dict[str, str] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            unknown = set(value) - {"code", "label"}
            if unknown or not isinstance(value.get("code"), str) or not isinstance(value.get("label", ""), str):
                raise ConfigError(f'{where} "{name}" must be a code or {{ code = "...", label = "..." }}')
            code, label = value["code"], value.get("label", "")
            if label:
                labels[code] = label
        elif isinstance(value, str):
            code = value
        else:
            raise ConfigError(f'{where} "{name}" must be a code or {{ code = "...", label = "..." }}')
        names[name] = code.strip().lower()
    try:
        BUILTIN.with_names(names, labels)
    except ValueError as exc:
        raise ConfigError(f"{where} {exc}") from None
    return tuple(names.items()), tuple(labels.items())


def _section(current: Any, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(current)}
    updates = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where} unknown key {key!r} (known: {', '.join(known)})")
        default = getattr(current, key)
        if isinstance(default, tuple):
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where} {key} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, float):
            value = float(_typed(value, (int, float), f"{where} {key}"))
        else:
            value = _typed(value, type(default), f"{where} {key}")
        updates[key] = value
    try:
        return replace(current, **updates)
    except ConfigError as exc:  # a value its section refuses (see __post_init__)
        raise ConfigError(f"{where} {exc}") from None


def _typed(value: Any, kind: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else "number"
        raise ConfigError(f"{where} must be a {name}, not {value!r}")
    return value


def _apply_env(config: Config) -> Config:
    env = os.environ
    if env.get("CRSWATCH_DB"):
        config = replace(config, db=Path(env["CRSWATCH_DB"]).expanduser())
    if env.get("CRSWATCH_STORE"):
        config = replace(config, store=env["CRSWATCH_STORE"])
    if env.get("CRSWATCH_SOURCE"):
        config = replace(config, source=env["CRSWATCH_SOURCE"])
    alerts = config.alerts
    if env.get("CRSWATCH_RETRY_BASE"):
        try:
            alerts = replace(alerts, retry_base=float(env["CRSWATCH_RETRY_BASE"]))
        except ValueError:
            raise ConfigError(
                f"CRSWATCH_RETRY_BASE must be a number of seconds, not {env['CRSWATCH_RETRY_BASE']!r}"
            ) from None
    if env.get("CRSWATCH_OPERATOR"):
        alerts = replace(alerts, operator=tuple(env["CRSWATCH_OPERATOR"].split()))
    if env.get("CRSWATCH_PUBLIC_URL"):
        alerts = replace(alerts, public_url=env["CRSWATCH_PUBLIC_URL"])
    if env.get("CRSWATCH_CONTACT"):
        alerts = replace(alerts, contact=env["CRSWATCH_CONTACT"])
    web = config.web  # a container's senders come from its environment (compose, systemd), not the image
    for name in ("email_channel", "sms_channel"):
        value = env.get(f"CRSWATCH_WEB_{name.upper()}")
        if value:
            try:
                web = replace(web, **{name: value})  # type: ignore[arg-type]  # a str field named above
            except ConfigError as exc:
                raise ConfigError(f"CRSWATCH_WEB_{name.upper()}: {exc}") from None
    if env.get("CRSWATCH_TELEGRAM_TOKEN"):
        config = replace(config, telegram=replace(config.telegram, token=env["CRSWATCH_TELEGRAM_TOKEN"]))
    if env.get("CRSWATCH_TELEGRAM_USERNAME"):
        config = replace(
            config, telegram=replace(config.telegram, username=env["CRSWATCH_TELEGRAM_USERNAME"].lstrip("@"))
        )
    return replace(config, alerts=alerts, web=web)
