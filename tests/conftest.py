from __future__ import annotations

import logging
import socketserver
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lowest
import pytest
from helpers import FAST_CONFIG, SNAPSHOTS, FeedServer
from pg import PostgresServer
from servers import SMTPSink, WebhookReceiver
from telegram_api import TelegramAPI


def _handle_error(self: socketserver.BaseServer, request: Any, client_address: Any) -> None:
    """A stand-in server's failed request goes to the log, not to whatever sys.stderr is at that
    moment: commands run in the test process capture sys.stderr, and a line from another thread
    would land in their output."""
    logging.getLogger("tests.servers").debug("request from %s failed", client_address, exc_info=True)


socketserver.BaseServer.handle_error = _handle_error  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    if not SNAPSHOTS:
        raise pytest.UsageError("the real feed snapshots (../shared/ircc/) are missing; set CRSWATCH_SHARED")
    lowest.measure(config)


def pytest_report_header() -> list[str]:
    return lowest.header()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lowest.deselect(config, items)


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a CLI subprocess: its own database and a fast fetch configuration."""
    config = tmp_path / "config.toml"
    config.write_text(FAST_CONFIG)
    values = {
        "CRSWATCH_DB": str(tmp_path / "crswatch.json"),
        "CRSWATCH_CONFIG": str(config),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
    }
    for key in ("CRSWATCH_SOURCE", "CRSWATCH_OPERATOR", "CRSWATCH_RETRY_BASE", "CRSWATCH_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def db_path(env: dict[str, str]) -> Path:
    return Path(env["CRSWATCH_DB"])


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def api() -> Iterator[TelegramAPI]:
    """A local stand-in for Telegram's Bot API (the bot, alert and web tests share it)."""
    server = TelegramAPI()
    yield server
    server.close()
