"""The files in deploy/ work as shipped: units verify, Dockerfile and compose name real commands."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crswatch.cli import main
from crswatch.config_load import load_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ROOT = DEPLOY.parent
COMMANDS = set(main.commands)


def _crswatch_command(argv: list[str]) -> str:
    """The subcommand of a `crswatch …` command line (after global options)."""
    assert Path(argv[0]).name == "crswatch", argv
    words = [w for w in argv[1:] if not w.startswith("-")]
    return words[0]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize(
    "unit", ["crswatch-check.service", "crswatch-run.service", "crswatch-serve.service", "crswatch-check.timer"]
)
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    executable = Path(sys.prefix) / "bin" / "crswatch"
    for name in ("crswatch-check.service", "crswatch-run.service", "crswatch-serve.service", "crswatch-check.timer"):
        text = (DEPLOY / name).read_text().replace("/opt/crswatch/.venv/bin/crswatch", str(executable))
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)], capture_output=True, text=True)
    problems = [line for line in result.stderr.splitlines() if "crswatch" in line and "User" not in line]
    assert result.returncode == 0 and not problems, result.stderr


@pytest.mark.parametrize("name", ["crswatch-check.service", "crswatch-run.service", "crswatch-serve.service"])
def test_units_run_existing_commands(name: str) -> None:
    (line,) = [l for l in (DEPLOY / name).read_text().splitlines() if l.startswith("ExecStart=")]
    assert _crswatch_command(shlex.split(line.removeprefix("ExecStart="))) in COMMANDS


def test_dockerfile_parses_and_names_existing_commands_and_files() -> None:
    instructions = []
    for raw in re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text()).splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            keyword, _, rest = raw.strip().partition(" ")
            instructions.append((keyword, rest.strip()))
    known = {"FROM", "ENV", "RUN", "WORKDIR", "COPY", "USER", "VOLUME", "HEALTHCHECK", "CMD", "EXPOSE", "ARG", "LABEL"}
    assert {k for k, _ in instructions} <= known
    assert instructions[0][0] == "FROM" and "slim" in instructions[0][1]
    user = [rest for k, rest in instructions if k == "USER"]
    assert user and user[-1] != "root"
    for keyword, rest in instructions:
        if keyword == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    cmd = [r for k, r in instructions if k == "CMD"][-1]
    assert _crswatch_command(yaml.safe_load(cmd)) == "run"
    health = [r for k, r in instructions if k == "HEALTHCHECK"][-1]
    assert _crswatch_command(yaml.safe_load(health.split("CMD", 1)[1].strip())) == "status"


def test_compose_parses_and_names_existing_commands() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service = compose["services"]["crswatch"]
    assert (ROOT / service["build"]["dockerfile"]).exists()
    assert _crswatch_command(service["command"]) == "run"
    assert _crswatch_command(service["healthcheck"]["test"][1:]) == "status"
    assert any(v.endswith(":/data") for v in service["volumes"])
    web = compose["services"]["web"]
    assert _crswatch_command(web["command"]) == "serve" and web["volumes"] == service["volumes"]
    upgrade = compose["services"]["db-upgrade"]  # the schema changes before either service starts
    assert upgrade["command"][1:] == ["db", "upgrade"] and upgrade["volumes"] == service["volumes"]
    for started in (service, web):
        assert started["depends_on"]["db-upgrade"] == {"condition": "service_completed_successfully"}
    bot = compose["services"]["bot"]
    assert (
        _crswatch_command(bot["command"]) == "bot"
        and bot["volumes"] == service["volumes"]
        and "CRSWATCH_TELEGRAM_TOKEN" in bot["environment"]
    )


def test_crontab_lines_run_existing_commands() -> None:
    for line in (DEPLOY / "crontab").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]:
            argv = shlex.split(line)[5:]
            argv = argv[: next(i for i, w in enumerate(argv) if w.startswith(">"))]
            assert _crswatch_command(argv) == "check"


def _cron_field(spec: str, low: int, high: int) -> set[int]:
    """The values one crontab field names (`*`, `*/5`, `8-19`, `0,6`, `1-5`)."""
    values: set[int] = set()
    for part in spec.split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        start, stop = (low, high) if span == "*" else (int(first), int(last or first))
        values |= set(range(start, stop + 1, int(step or 1)))
    return values


def test_crontab_lines_never_fire_in_the_same_minute() -> None:
    """Two lines in one minute start two checks: the second waits, then exits 6 into the log."""
    moments: list[set[tuple[int, int, int]]] = []
    for line in (DEPLOY / "crontab").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]:
            minute, hour, day, month, weekday = line.split()[:5]
            assert (day, month) == ("*", "*")
            moments.append({(w % 7, h, m) for w in _cron_field(weekday, 0, 6) for h in _cron_field(hour, 0, 23)
                            for m in _cron_field(minute, 0, 59)})  # fmt: skip
    assert len(moments) >= 2
    for i, these in enumerate(moments):
        for those in moments[i + 1 :]:
            assert not these & those, sorted(these & those)[:3]
    every_hour = {(w, h) for these in moments for w, h, _ in these}
    assert len(every_hour) == 7 * 24, "a check at least every hour, every day"


def test_example_configuration_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("CRSWATCH_DB", "CRSWATCH_SOURCE", "CRSWATCH_RETRY_BASE", "CRSWATCH_OPERATOR"):
        monkeypatch.delenv(key, raising=False)
    config = load_config(DEPLOY / "config.example.toml")
    assert config.alerts.max_attempts == 8 and config.schedule.window == "mon-fri 08:30-19:30"


def test_the_image_copies_every_package() -> None:
    """The image copies the repository as .dockerignore leaves it: every package stays in (a
    package is a folder with an __init__.py; no list of them to keep up to date here)."""
    copies = [line.split()[1:] for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    assert [".", "./"] in copies
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages and not packages & {line.rstrip("/") for line in ignored}
    assert {"pyproject.toml", "README.md", "scrapy.cfg"}.isdisjoint(ignored)
    assert "!deploy/config.example.toml" in ignored  # the configuration the image starts with
    assert {".*", "*.json", "*.sqlite*"} <= set(ignored)  # a checkout's caches, databases and secrets stay out


def test_the_web_service_starts_with_the_example_configuration_and_the_documented_environment(tmp_path: Path) -> None:
    """What the compose `web` service runs, with the image's configuration and deploy/.env's variables."""
    import os
    import subprocess
    import sys
    import urllib.request

    from servers import free_port, wait_for_crswatch

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    web = compose["services"]["web"]
    assert "CRSWATCH_WEB_EMAIL_CHANNEL" in web["environment"]  # documented, and required by compose (:?)
    port = free_port()
    command = [a if a != "8080" else str(port) for a in web["command"][1:]]
    command = [a if a != "0.0.0.0" else "127.0.0.1" for a in command]
    env = {**os.environ, "CRSWATCH_CONFIG": str(DEPLOY / "config.example.toml"), "CRSWATCH_DB": str(tmp_path / "crswatch.json"),
           "CRSWATCH_WEB_EMAIL_CHANNEL": "mailto://127.0.0.1:2525?from=alerts@example.org&to={email}", "HOME": str(tmp_path),
           "CRSWATCH_PUBLIC_URL": "https://alerts.example.org"}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "crswatch", *command], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_crswatch(port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_docker_compose_config_accepts_the_documented_environment(tmp_path: Path) -> None:
    """`docker-compose config` (Debian's docker-compose; scripts/test installs it) resolves the file
    with deploy/.env's variables, and refuses to start the web service without a sender."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (scripts/test installs it)")
    sender = "mailtos://alerts:PASSWORD@smtp.example.org?to={email}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CRSWATCH_WEB_EMAIL_CHANNEL": sender,
        "CRSWATCH_PUBLIC_URL": "https://alerts.example.org",
    }
    result = subprocess.run(
        [compose, "-f", str(DEPLOY / "compose.yaml"), "config"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    web = resolved["services"]["web"]["environment"]
    assert web["CRSWATCH_WEB_EMAIL_CHANNEL"] == sender and web["CRSWATCH_PUBLIC_URL"] == "https://alerts.example.org"
    assert (
        resolved["services"]["crswatch"]["environment"]["CRSWATCH_PUBLIC_URL"] == "https://alerts.example.org"
    )  # it sends the alerts
    missing = subprocess.run([compose, "-f", str(DEPLOY / "compose.yaml"), "config"], env={k: v for k, v in env.items() if k != "CRSWATCH_WEB_EMAIL_CHANNEL"},
                             capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert missing.returncode != 0 and "set it in deploy/.env" in missing.stderr


def test_the_example_configuration_names_every_key() -> None:
    import dataclasses
    import tomllib

    from crswatch.config import Config

    example = tomllib.loads((DEPLOY / "config.example.toml").read_text())
    for section in ("fetch", "alerts", "schedule", "subscribers", "web", "crs"):
        keys = {f.name for f in dataclasses.fields(getattr(Config(), section))}
        assert keys <= set(example[section]), f"[{section}] lacks {sorted(keys - set(example[section]))}"
