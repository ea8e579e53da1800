"""One mailbox, one subscriber: channel URLs that name one destination have one key."""

from __future__ import annotations

import json

import pytest
from helpers import cli
from servers import SMTPSink

from crswatch.subscribers.identity import canonical, destination_key

SAME = [
    (
        "mailto://127.0.0.1:2525?from=crswatch@example.com&to=dana@example.com",
        "mailto://127.0.0.1:2525?to=dana@example.com&from=crswatch@example.com",
    ),
    (
        "mailto://127.0.0.1:2525?from=a@example.com&to=Dana@Example.com",
        "mailto://127.0.0.1:2525?from=a@example.com&to=dana@example.com",
    ),
    ("mailtos://Me:app-password@Gmail.com", "mailtos://me:another-password@gmail.com"),
    ("mailto://127.0.0.1:25?to=a@example.com,b@example.com", "mailto://127.0.0.1:25?to=B@example.com, a@example.com"),
    ("twilio://AC0123:tok@15551234567/+1 (555) 765-4321", "twilio://AC0123:tok@15551234567/15557654321"),
    ("json://Hooks.Example.com/in?b=2&a=1", "json://hooks.example.com/in?a=1&b=2"),
    ("ntfy://my-crs-topic", "NTFY://my-crs-topic"),
]
DIFFERENT = [
    ("mailto://127.0.0.1:2525?to=dana@example.com", "mailto://127.0.0.1:2525?to=dan@example.com"),
    ("mailto://127.0.0.1:2525?to=dana@example.com", "mailto://127.0.0.1:2526?to=dana@example.com"),
    ("json://hooks.example.com/in/Token", "json://hooks.example.com/in/token"),  # paths and tokens keep their case
    ("twilio://AC0123:tok@15551234567/15557654321", "twilio://AC0123:tok@15551234567/15557654322"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_one_destination_one_key(a: str, b: str) -> None:
    assert destination_key(a) == destination_key(b), (canonical(a), canonical(b))


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_other_destinations_other_keys(a: str, b: str) -> None:
    assert destination_key(a) != destination_key(b)


def test_subscribing_one_mailbox_again_updates_the_subscriber(env: dict, smtp: SMTPSink, tmp_path) -> None:
    first = cli(
        "subscribe",
        "--score",
        "500",
        "--notify",
        f"mailto://127.0.0.1:{smtp.port}?from=crswatch@example.com&to=Dana@Example.com",
        env=env,
        check=True,
    )
    again = cli(
        "subscribe",
        "--score",
        "510",
        "--notify",
        f"mailto://127.0.0.1:{smtp.port}?to=dana@example.com&from=crswatch@example.com",
        env=env,
        check=True,
    )
    assert again.stdout.strip() == first.stdout.strip() and "already subscribed" in again.stderr
    rows = (
        "name,score,within,streams,profile_created,channels\nDana,515,,,,"
        + f"mailto://127.0.0.1:{smtp.port}?to=DANA@example.com&from=crswatch@example.com\n"
    )
    (tmp_path / "people.csv").write_text(rows)
    cli("import", str(tmp_path / "people.csv"), env=env, check=True)
    (subscriber,) = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    assert subscriber["score"] == 515 and len(subscriber["channels"]) == 1
