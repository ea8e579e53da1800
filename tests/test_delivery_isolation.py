"""One recipient's failure never costs another's alert: a real SMTP server that drops, stalls or
refuses one recipient's message, a silent server, and a webhook, all at once."""

from __future__ import annotations

from pathlib import Path

from helpers import FeedServer, cli, outbox, snapshot
from servers import SilentServer, SMTPSink, WebhookReceiver

from crswatch.notifier.outgoing import HTML, TEXT, Outgoing, Result
from crswatch.notifier.send import send_many
from crswatch.notifier.services import Services

BODIES = {TEXT: "text", HTML: "<p>html</p>"}


def _send(items: list[Outgoing], concurrency: int = 16) -> dict[str, Result]:
    results: dict[str, Result] = {}
    send_many(items, concurrency, lambda key, result: results.__setitem__(key, result), services=Services())
    return results


def _url(sink: SMTPSink, to: str, timeout: int = 2) -> str:
    return sink.url(to) + f"&cto={timeout}"


def test_a_dropping_stalling_or_refused_recipient_fails_alone() -> None:
    bad = {"drop@example.com": "drop", "stall@example.com": "stall", "refuse@example.com": "refuse"}
    sink = SMTPSink(misbehave=bad).start()
    try:
        people = [f"p{i}@example.com" for i in range(60)]
        order = (
            people[:10]
            + ["drop@example.com"]
            + people[10:30]
            + ["stall@example.com"]
            + people[30:50]
            + ["refuse@example.com"]
            + people[50:]
        )
        results = _send([Outgoing(to, _url(sink, to), "t", BODIES) for to in order])
        assert set(results) == set(order)
        failed = {key for key, result in results.items() if not result.ok}
        assert failed == set(bad), {k: r.error for k, r in results.items() if not r.ok}
        assert "dropped the connection" in results["drop@example.com"].error
        assert "did not answer within 2 s" in results["stall@example.com"].error
        assert "554" in results["refuse@example.com"].error
        sink.wait_for(60)
        assert sorted(m["X-Envelope-To"] for m in sink.messages) == sorted(people)  # each innocent one exactly once
    finally:
        sink.stop()


def test_a_silent_server_costs_each_session_one_timeout_and_others_go_on() -> None:
    silent, good, hook = SilentServer(), SMTPSink().start(), WebhookReceiver()
    try:
        stuck = [
            Outgoing(
                f"s{i}",
                f"mailto://127.0.0.1:{silent.port}?from=crswatch@example.com&to=s{i}@example.com&cto=1",
                "t",
                BODIES,
            )
            for i in range(40)
        ]
        fine = [Outgoing(f"g{i}", good.url(f"g{i}@example.com"), "t", BODIES) for i in range(40)]
        hooks = [Outgoing(f"h{i}", hook.url(f"h{i}"), "t", BODIES) for i in range(5)]
        results = _send([item for trio in zip(stuck, fine, hooks + [None] * 35, strict=True) for item in trio if item])
        assert all(results[i.key].ok for i in fine + hooks)
        assert not any(results[i.key].ok for i in stuck)
        assert {results[i.key].error for i in stuck} <= {
            r.error for r in results.values() if "cannot use the SMTP server" in r.error
        }
        assert len(silent.accepted) <= 4, "at most one connection (one timeout) per session"
        good.wait_for(40)
        assert len(good.messages) == 40 and len(hook.posts) == 5
    finally:
        silent.close()
        good.stop()
        hook.close()


def test_a_bad_recipient_is_retried_and_dead_alone_end_to_end(feed: FeedServer, env: dict, tmp_path: Path) -> None:
    sink = SMTPSink(misbehave={"drop@example.com": "drop"}).start()
    try:
        config = Path(env["CRSWATCH_CONFIG"])
        config.write_text(config.read_text().replace("retry_base = 1", "retry_base = 0.01\nmax_attempts = 2"))
        feed.serve(snapshot("2026-01-20"))
        cli("check", "--source", feed.url, env=env, check=True)
        rows = ["name,score,within,streams,profile_created,channels"]
        rows += [f"p{i},520,,cec,,{sink.url(f'p{i}@example.com')}" for i in range(30)]
        rows.insert(8, f"bad,520,,cec,,{sink.url('drop@example.com')}")
        (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
        cli("import", str(tmp_path / "people.csv"), env=env, check=True)
        feed.serve(snapshot("2026-01-21"))
        first = cli("check", "--source", feed.url, env=env, check=True)
        assert "alerts: 30 sent, 1 failed" in first.stdout
        second = cli("check", "--source", feed.url, env=env, check=True)
        assert "0 sent, 0 failed (will retry), 1 dead" in second.stdout
        sink.wait_for(30)
        assert len(sink.messages) == 30
        statuses = [d["status"] for d in outbox(env)]
        assert statuses.count("sent") == 30 and statuses.count("dead") == 1
    finally:
        sink.stop()
