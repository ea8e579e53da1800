"""Configuration: file, environment and flags; unknown keys are errors; secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import cli

from crswatch.config import ConfigError
from crswatch.config_load import load_config


def test_file_env_and_flags_in_that_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "c.toml"
    file.write_text(
        'source = "file:///feed.json"\ndb = "/var/lib/crswatch/a.json"\n[alerts]\nconcurrency = 4\nretry_base = 30\n[schedule]\nevery = "2m"\n'
    )
    for key in ("CRSWATCH_DB", "CRSWATCH_SOURCE", "CRSWATCH_RETRY_BASE", "CRSWATCH_OPERATOR"):
        monkeypatch.delenv(key, raising=False)
    config = load_config(file)
    assert (config.source, str(config.db), config.alerts.concurrency, config.alerts.retry_base, config.schedule.every) == (
        "file:///feed.json", "/var/lib/crswatch/a.json", 4, 30.0, "2m")  # fmt: skip
    monkeypatch.setenv("CRSWATCH_RETRY_BASE", "5")
    monkeypatch.setenv("CRSWATCH_DB", "/tmp/env.json")
    config = load_config(file, db="/tmp/flag.json")
    assert config.alerts.retry_base == 5.0 and str(config.db) == "/tmp/flag.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sauce = 1\n", "unknown key 'sauce'"),
        ("[alerts]\nconcurency = 4\n", "unknown key 'concurency'"),
        ("[alerts]\nconcurrency = 'many'\n", "concurrency must be a int"),
        ("[fetch\n", "not valid TOML"),
        # [schedule] is read at load time, as `run` will read it
        ("[schedule]\nevery = 'banana'\n", r"\[schedule\] 'banana' is not a duration"),
        ("[schedule]\nevery = '7m'\n", r"\[schedule\] every 420s inside a window: it must divide an hour"),
        ("[schedule]\nwindow = 'weekdays'\n", r"\[schedule\] window 'weekdays' is not like"),
        ("[schedule]\njitter = '-5s'\n", r"\[schedule\] '-5s' is not a duration"),
        ("[schedule]\noutside_every = '0'\n", r"\[schedule\] '0': a duration must be positive"),
        ("[schedule]\ncron = '* * *'\n", r"\[schedule\] cron '\* \* \*': Wrong number of fields"),
    ],
)
def test_bad_configuration_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(file)


def test_config_command_masks_operator_secrets_and_bad_files_exit_2(env: dict, tmp_path: Path) -> None:
    out = cli(
        "config",
        "--format",
        "json",
        env={**env, "CRSWATCH_OPERATOR": "mailto://ops:Sup3rSecret@example.com"},
        check=True,
    ).stdout
    data = json.loads(out)
    assert "Sup3rSecret" not in out and data["alerts"]["operator"][0].startswith("mailto")
    assert "retry_base = 1.0" in cli("config", env=env, check=True).stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[alerts]\nmax_attemps = 3\n")
    result = cli("--config", str(bad), "status", env=env)
    assert result.returncode == 2 and "unknown key 'max_attemps'" in result.stderr
    missing = cli("--config", str(tmp_path / "nope.toml"), "draws", env=env)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_web_sender_templates_are_masked(env: dict, tmp_path: Path) -> None:
    config = tmp_path / "web.toml"
    config.write_text('[web]\nemail_channel = "mailtos://user:S3cretPw@smtp.example.com?from=a@example.com&to={email}"\n'
                      'sms_channel = "twilio://ACSID:T0kenX@15551234567/{phone}"\n')  # fmt: skip
    out = cli("--config", str(config), "config", env=env, check=True).stdout
    assert "S3cretPw" not in out and "T0kenX" not in out and "email_channel" in out


def test_a_bad_schedule_stops_check_and_config_shows_what_the_schedule_was_read_as(env: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\nevery = "banana"\n')
    result = cli("--config", str(bad), "check", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr == f"crswatch: error: {bad}: [schedule] 'banana' is not a duration (examples: 30s, 5m, 1h30m)\n"
    )
    good = tmp_path / "good.toml"
    good.write_text('[schedule]\nevery = "2m"\nwindow = "mon,wed 09:00-17:30"\njitter = "0"\n')
    shown = cli("--config", str(good), "config", env=env, check=True).stdout
    assert (
        '# read as: {"every_seconds": 120.0, "window": {"days": ["mon", "wed"], "start": "09:00", "end": "17:30", '
        '"timezone": "America/Toronto"}, "outside_every_seconds": 900.0, "jitter_seconds": 0.0, '
        '"outside_jitter_seconds": 0.0}\n'
    ) in shown
    good.write_text('[schedule]\ncron = "*/5 9-18 * * mon-fri"\n')
    data = json.loads(cli("--config", str(good), "config", "--format", "json", env=env, check=True).stdout)
    assert data["schedule_read_as"] == {
        "cron": "*/5 9-18 * * mon-fri",
        "timezone": "America/Toronto",
        "jitter_seconds": 0.0,
    }
    good.write_text('[schedule]\nevery = "30s"\nwindow = "off"\n')  # the 15 s jitter, capped at a tenth of 30 s
    data = json.loads(cli("--config", str(good), "config", "--format", "json", env=env, check=True).stdout)
    assert data["schedule_read_as"] == {"every_seconds": 30.0, "window": None, "outside_every_seconds": None,
                                        "jitter_seconds": 3.0, "outside_jitter_seconds": None}  # fmt: skip


def test_runs_options_may_mend_the_files_schedule(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[schedule]\nevery = "7m"\n')  # does not divide an hour: refused inside the window
    with pytest.raises(ConfigError, match=r"\[schedule\] every 420s inside a window"):
        load_config(file)
    assert load_config(file, schedule={"window": "off"}).schedule.every == "7m"  # `run --window off`
    with pytest.raises(ConfigError, match=r"\[schedule\] with the command line's options: 'x' is not a duration"):
        load_config(file, schedule={"every": "x"})
