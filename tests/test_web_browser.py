"""The main journey in a real headless browser (Debian's chromium, driven by selenium):
subscribe on the form, confirm from the e-mail, get the next draw's alert, unsubscribe from it.

`.ci/run` installs chromium; elsewhere the test is skipped when it is missing (never under CI).
With CRSWATCH_SCREENSHOTS=DIR the form and the confirmation page are saved there (docs/ holds them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import FeedServer, cli, snapshot
from pages import Site, feed_with_draw_393
from servers import SMTPSink, body_text

pytestmark = pytest.mark.lifecycle

CHROMIUM, DRIVER = (
    shutil.which("chromium") or "/usr/bin/chromium",
    shutil.which("chromedriver") or "/usr/bin/chromedriver",
)
if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()) and not os.environ.get("CI"):
    pytest.skip(
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}",
                 "--window-size=412,1500", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _shot(driver: object, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("CRSWATCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / name))  # type: ignore[attr-defined]
    assert (folder / name).stat().st_size > 5_000


def _heading(driver: object, expected: str) -> None:
    """Wait for the page that a click loads (the old page's elements go stale meanwhile; chromium
    may also answer "node does not belong to the document" while it swaps the page: asked again)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # WebDriverException covers stale and missing elements too; a wrong page still times out
    WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda d: expected in d.find_element(By.TAG_NAME, "h1").text
    )


def _start(driver: object, env: dict, smtp: SMTPSink, feed: FeedServer) -> Site:
    """The history up to #391 stored, `serve` running, the browser on its home page."""
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    site = Site(env, smtp)
    driver.get(site.base + "/")  # type: ignore[attr-defined]
    return site


def _sign_up(driver: object, email: str, score: str, shot: str, tmp_path: Path) -> None:
    """Fill the form as a person would (the French category ticked too), save it, and send it."""
    from selenium.webdriver.common.by import By

    find = driver.find_element  # type: ignore[attr-defined]
    find(By.ID, "email").send_keys(email)
    find(By.ID, "score").send_keys(score)
    find(By.ID, "stream-french").click()
    _shot(driver, shot, tmp_path)
    find(By.CSS_SELECTOR, "button[type=submit]").click()


def test_subscribe_confirm_alert_unsubscribe_in_a_browser(
    browser: object, env: dict, smtp: SMTPSink, feed: FeedServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    site = _start(driver, env, smtp, feed)
    try:
        find = driver.find_element  # type: ignore[attr-defined]
        _sign_up(driver, "mei@example.com", "512", "web-form.png", tmp_path)
        _heading(driver, "Check your e-mail")

        driver.get(site.confirmation_link("mei@example.com"))  # type: ignore[attr-defined]
        _heading(driver, "Confirm your alerts")  # opening the link changes nothing: the button does
        assert "512" in find(By.ID, "settings").text
        find(By.CSS_SELECTOR, "button[type=submit]").click()
        _heading(driver, "Your alerts are on")
        assert "Subscription active" in find(By.ID, "status").text and "512" in find(By.ID, "status").text
        driver.set_window_size(412, 640)  # type: ignore[attr-defined]
        _shot(driver, "web-confirmed.png", tmp_path)
        (sub,) = [
            s for s in __import__("json").loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
        ]
        assert sub["status"] == "active" and sub["streams"] == ["cec", "fsw", "fst", "french"]

        feed.serve(snapshot("2026-01-21"))
        assert "alerts: 1 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
        (alert,) = [m for m in smtp.to("mei@example.com") if "#392" in m["Subject"]]
        assert alert["Subject"].startswith("Invited: #392")
        unsubscribe = next(word for word in body_text(alert).split() if "/unsubscribe/" in word)
        driver.get(unsubscribe)  # type: ignore[attr-defined]
        _heading(driver, "Stop your draw alerts?")
        find(By.CSS_SELECTOR, "button[type=submit]").click()
        _heading(driver, "You are unsubscribed")

        feed.serve(feed_with_draw_393())
        out = cli("check", "--source", feed.url, env=env, check=True).stdout
        assert "1 new" in out and "sent" not in out
        assert not [m for m in smtp.to("mei@example.com") if "#393" in m["Subject"]]
    finally:
        site.close()


def test_the_french_journey_in_a_browser(
    browser: object, env: dict, smtp: SMTPSink, feed: FeedServer, tmp_path: Path
) -> None:
    """The same journey in French: the EN/FR switch, a French form and confirmation, a French alert."""
    from selenium.webdriver.common.by import By

    driver = browser
    site = _start(driver, env, smtp, feed)
    try:
        find = driver.find_element  # type: ignore[attr-defined]
        find(By.ID, "switch").click()
        _heading(driver, "Recevez une alerte quand une ronde atteint votre note")
        assert find(By.ID, "language-fr").is_selected()  # alerts in the page's language unless changed
        _sign_up(driver, "amelie@example.com", "505", "web-form-fr.png", tmp_path)
        _heading(driver, "Vérifiez votre courriel")

        driver.get(site.confirmation_link("amelie@example.com"))  # type: ignore[attr-defined]
        _heading(driver, "Confirmez vos alertes")
        assert "Catégorie de la maîtrise de la langue française" in find(By.ID, "settings").text
        find(By.CSS_SELECTOR, "button[type=submit]").click()
        _heading(driver, "Vos alertes sont activées")
        driver.set_window_size(412, 640)  # type: ignore[attr-defined]
        _shot(driver, "web-confirmed-fr.png", tmp_path)

        feed.serve(snapshot("2026-01-21"))
        assert "alerts: 1 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
        (alert,) = [m for m in smtp.to("amelie@example.com") if "392" in m["Subject"]]
        assert alert["Subject"] == "Proche (à 4 points) : nº 392 CEC, note minimale 509"  # 505, within 10 of 509
        assert "Pas cette fois" in body_text(alert)
        unsubscribe = next(word for word in body_text(alert).split() if "/unsubscribe/" in word)
        driver.get(unsubscribe)  # type: ignore[attr-defined]
        _heading(driver, "Arrêter vos alertes de rondes?")
        find(By.CSS_SELECTOR, "button[type=submit]").click()
        _heading(driver, "Vous êtes désabonné")
    finally:
        site.close()
