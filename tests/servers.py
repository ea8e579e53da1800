"""Real local stand-ins for the outside world: an SMTP server and a webhook receiver."""

from __future__ import annotations

import asyncio
import email.policy
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_crswatch(port: int, process: Any = None, within: float = 120) -> None:
    """Wait until `crswatch serve` answers on 127.0.0.1:port (a condition, not a fixed sleep; the
    bound is a cap for a loaded machine).  An HTTP answer with crswatch's Server header, not merely
    a connection: one may be another test's server, or the socket connected to itself (a free port
    is also a possible source port, and Linux then joins the two ends).  `process`: the server's
    `Popen`, whose early exit ends the wait with what it wrote."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"crswatch serve exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                if answer.headers.get("Server") == "crswatch":
                    return
        except urllib.error.HTTPError as answer:  # /healthz says 503 while the store is unhealthy
            if answer.headers.get("Server") == "crswatch":
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise AssertionError(f"crswatch does not answer on 127.0.0.1:{port}")


class SMTPSink:
    """aiosmtpd on 127.0.0.1 keeping every message it accepts."""

    def __init__(self, port: int | None = None, delay: float = 0.0, misbehave: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.delay = delay  # seconds per message: a slow server, for kill tests
        # recipient → "drop" (close the connection at DATA), "stall" (never answer DATA), "refuse" (554),
        # "reject" (550 to its RCPT: the others of the same message still get it)
        self.misbehave = misbehave or {}
        self.messages: list[Message] = []
        self.connections = 0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_EHLO(
                self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
            ) -> list[str]:  # noqa: N802
                with sink.lock:
                    sink.connections += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
            ) -> str:  # noqa: N802
                if sink.misbehave.get(address) == "reject":
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                trouble = {sink.misbehave.get(r) for r in envelope.rcpt_tos} - {None}
                if "drop" in trouble:
                    server.transport.close()
                    return "421 closing"
                if "stall" in trouble:
                    await asyncio.sleep(30)
                if "refuse" in trouble:
                    return "554 5.7.1 message refused"
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                message = message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
                message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
                with sink.lock:
                    sink.messages.append(message)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SMTPSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def url(self, to: str, html: bool = True) -> str:
        """An apprise mailto:// URL delivering to `to` through this server (plain SMTP)."""
        return f"mailto://127.0.0.1:{self.port}?from=crswatch@example.com&to={to}" + ("" if html else "&format=text")

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in m["X-Envelope-To"].split(",")]

    def wait_for(
        self, count: int, timeout: float = 60
    ) -> None:  # a cap on a wait for a condition, generous for a loaded machine
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)


def body_text(message: Message) -> str:
    """All text parts of a mail, decoded."""
    parts = message.walk() if message.is_multipart() else [message]
    return "\n".join(
        p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
        for p in parts
        if p.get_content_maintype() == "text"
    )


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 keeping every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if receiver.status < 300:  # kept before the answer: a sender that has its answer finds it here
                    receiver.posts.append({"path": self.path, **json.loads(body or b"{}")})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.httpd.server_address[1]}/{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word (a stalled SMTP server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.accepted: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.running = False
        self.sock.close()
        for conn in self.accepted:
            conn.close()
