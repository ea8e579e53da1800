"""A real `crswatch serve` (waitress) in a subprocess, and helpers to use it over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
from bs4 import BeautifulSoup
from helpers import FAST_CONFIG, snapshot, start
from servers import SMTPSink, body_text, free_port, wait_for_crswatch

LINK = re.compile(r"https?://[^\s\"'<>]+")


class Site:
    """`crswatch serve` on 127.0.0.1, confirmations to the given SMTP sink."""

    def __init__(self, env: dict[str, str], smtp: SMTPSink, preexec: Any = None, **web: Any) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        settings = {
            "email_channel": smtp.url("{email}"),
            "client_limit": "1000/minute",
            "destination_limit": "100/day",
            **web,
        }
        lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
        config = FAST_CONFIG.replace("[alerts]\n", f'[alerts]\npublic_url = "{self.base}"\n') + f"\n[web]\n{lines}\n"
        Path(env["CRSWATCH_CONFIG"]).write_text(config)
        self.env = env
        self.smtp = smtp
        self.process = start("serve", "--port", str(self.port), env=env, preexec=preexec)
        wait_for_crswatch(self.port, self.process)
        self.http = requests.Session()

    def close(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, data: dict[str, Any], csrf_from: str | None = None, **kwargs: Any) -> requests.Response:
        """POST a form; with `csrf_from`, first GET that page and send its CSRF token, as a browser would."""
        if csrf_from is not None:
            data = {"csrf_token": csrf_token(self.get(csrf_from).text), **data}
        return self.http.post(self.base + path, data=data, timeout=30, **kwargs)

    def sign_up(
        self, email: str, score: int = 510, streams: tuple[str, ...] = ("cec",), **extra: Any
    ) -> requests.Response:
        return self.post("/", {"email": email, "score": str(score), "streams": list(streams), **extra}, csrf_from="/")

    def confirm(self, link: str) -> requests.Response:
        """Follow a confirmation link and press its button, as a person would (the GET alone changes nothing)."""
        path = link.removeprefix(self.base)
        return self.post(path, {}, csrf_from=path)

    def confirmation_link(self, email: str, timeout: float = 60, nth: int = 1) -> str:
        """The link in the newest confirmation message to `email`, once `nth` of them arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = [m for m in self.smtp.to(email) if "Confirm" in m["Subject"]]
            if len(mails) >= nth:
                return next(link for link in LINK.findall(body_text(mails[-1])) if "/confirm/" in link)
            time.sleep(0.05)
        raise AssertionError(f"no confirmation reached {email}")


def csrf_token(page: str) -> str:
    field = BeautifulSoup(page, "html.parser").find("input", attrs={"name": "csrf_token"})
    assert field is not None, "the page has no CSRF token"
    return str(field["value"])


def feed_with_draw_393() -> bytes:
    """The 2026-01-21 snapshot plus a made-up later CEC draw #393 (cut-off 505)."""
    data = json.loads(snapshot("2026-01-21").read_bytes())
    newest = dict(data["rounds"][0])
    newest.update(drawNumber="393", drawDate="2026-02-04", drawDateFull="February 4, 2026", drawCRS="505", drawSize="5,000",
                  drawNumberURL=newest["drawNumberURL"].replace("392", "393"), mitext=newest["mitext"].replace("392", "393"))  # fmt: skip
    data["rounds"].insert(0, newest)
    return json.dumps(data).encode()
