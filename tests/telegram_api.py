"""A local stand-in for Telegram's Bot API (https://core.telegram.org/bots/api), on 127.0.0.1.

It answers what crswatch's bot and sender call (getMe, getUpdates with long polling,
sendMessage, editMessageText, answerCallbackQuery, setWebhook, deleteWebhook, setMyCommands),
records every call with its time, lets a test play a user (a text, a command, a button press;
delivered by getUpdates, or, once a webhook is set, POSTed to it with its secret token in order,
as Telegram does),
answers 429 with `retry_after` or 403 "bot was blocked by the user" on request, and rejects any
other token with 401, as Telegram does.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
BOT = {"id": 123456789, "is_bot": True, "first_name": "CRS watch", "username": "crswatch_test_bot",
       "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}  # fmt: skip
_JSON_FIELDS = ("reply_markup", "allowed_updates", "commands", "link_preview_options", "entities")


@dataclass
class Call:
    at: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)


class TelegramAPI:
    def __init__(self, token: str = TOKEN, max_poll: float = 2.0) -> None:
        self.token = token
        self.max_poll = max_poll  # longest a getUpdates waits (tests stop bots promptly)
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.blocked: set[int] = set()  # chats that blocked the bot: 403
        self.throttle: list[float] = []  # the next sendMessage calls answer 429 with these retry_after
        self.changed = threading.Condition()
        self._next_update = 1
        self._next_message = 100
        self.webhook: tuple[str, str] | None = None  # (url, secret_token) of setWebhook
        self.pushed: list[tuple[int, int]] = []  # (update_id, HTTP status) of each POST to the webhook
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._push, daemon=True).start()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        with self.changed:
            self.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ a user in a private chat

    def send(self, chat: int, text: str, language: str = "en") -> None:
        """The user of chat `chat` sends `text` (a command when it starts with /)."""
        message: dict[str, Any] = {"message_id": self._message_id(), "date": int(time.time()), "chat": self._chat(chat),
                                   "from": self._user(chat, language), "text": text}  # fmt: skip
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._update({"message": message})

    def press(self, chat: int, data: str, language: str = "en") -> None:
        """The user presses the inline button with callback data `data` under the bot's last message with buttons."""
        shown = next(
            (c for c in reversed(self.calls) if c.params.get("chat_id") == chat and "reply_markup" in c.params), None
        )
        message = {"message_id": shown.params.get("_message_id", 1) if shown else 1, "date": int(time.time()), "chat": self._chat(chat),
                   "from": BOT, "text": shown.params.get("text", "") if shown else ""}  # fmt: skip
        self._update({"callback_query": {"id": str(self._message_id()), "from": self._user(chat, language), "message": message,
                                         "chat_instance": str(chat), "data": data}})  # fmt: skip

    def buttons(self, chat: int) -> list[tuple[str, str]]:
        """(label, callback data) of the inline keyboard last sent or edited in this chat."""
        shown = next(
            (c for c in reversed(self.calls) if c.params.get("chat_id") == chat and "reply_markup" in c.params), None
        )
        rows = (shown.params["reply_markup"] or {}).get("inline_keyboard", []) if shown else []
        return [(b["text"], b.get("callback_data") or b.get("url", "")) for row in rows for b in row]

    # ------------------------------------------------------------------ what the bot said

    def texts(self, chat: int) -> list[str]:
        return [
            c.params.get("text", "")
            for c in list(self.calls)
            if c.method in ("sendMessage", "editMessageText") and c.params.get("chat_id") == chat
        ]

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in list(self.calls) if c.method == method]

    def wait(self, condition: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Wait until `condition()` is true (checked whenever a call arrives); its value."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (value := condition()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out; the bot's last words: {[c.params.get('text') for c in self.calls[-5:]]}"
                    )
                self.changed.wait(min(left, 0.5))
        return value

    def reply(self, chat: int, text: str, timeout: float = 20.0) -> str:
        """Send `text` as the user and wait for the bot's answer (a new message or an edit)."""
        before = len(self.texts(chat))
        self.send(chat, text)
        return self.wait(lambda: self.texts(chat)[before:] and self.texts(chat)[-1], timeout)

    def tap(self, chat: int, data: str, timeout: float = 20.0) -> str:
        """Press a button and wait for the bot's answer to it (its callback answered, then a text)."""
        before = len(self.texts(chat))
        answered = len(self.sent("answerCallbackQuery"))
        self.press(chat, data)
        self.wait(lambda: len(self.sent("answerCallbackQuery")) > answered and len(self.texts(chat)) > before, timeout)
        return self.texts(chat)[-1]

    # ------------------------------------------------------------------ internals

    def _message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    @staticmethod
    def _chat(chat: int) -> dict[str, Any]:
        return {"id": chat, "type": "private", "first_name": "Priya"}

    @staticmethod
    def _user(chat: int, language: str) -> dict[str, Any]:
        return {"id": chat, "is_bot": False, "first_name": "Priya", "language_code": language}

    def _update(self, body: dict[str, Any]) -> None:
        with self.changed:
            update = {"update_id": self._next_update, **body}
            self._next_update += 1
            if self.webhook is not None:
                self._outbox.put(update)
            else:
                self.updates.append(update)
            self.changed.notify_all()

    def _push(self) -> None:
        """POST each update to the webhook, one after the other, until it is answered 200 (a few tries)."""
        while True:
            update = self._outbox.get()
            url, secret = self.webhook or ("", "")
            for _ in range(5):
                request = urllib.request.Request(url, json.dumps(update).encode(), method="POST", headers={
                    "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})  # fmt: skip
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        status = answer.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                except OSError:
                    status = 0
                with self.changed:
                    self.pushed.append((update["update_id"], status))
                    self.changed.notify_all()
                if status == 200:
                    break
                time.sleep(0.5)

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._poll(params)}
        with self.changed:
            call = Call(time.monotonic(), method, params)
            if method in ("sendMessage", "editMessageText"):
                if params.get("chat_id") in self.blocked:
                    self.calls.append(call)
                    self.changed.notify_all()
                    return 403, {
                        "ok": False,
                        "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user",
                    }
                if self.throttle and method == "sendMessage":
                    wait = self.throttle.pop(0)
                    self.calls.append(Call(call.at, "429", params))
                    self.changed.notify_all()
                    return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {wait}",
                                 "parameters": {"retry_after": wait}}  # fmt: skip
                params["_message_id"] = params.get("message_id") or self._message_id()
            self.calls.append(call)
            self.changed.notify_all()
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method in ("setWebhook", "deleteWebhook"):
            with self.changed:
                self.webhook = (params["url"], params.get("secret_token", "")) if params.get("url") else None
        if method in ("sendMessage", "editMessageText"):
            chat = params.get("chat_id")
            result = {"message_id": params["_message_id"], "date": int(time.time()), "chat": self._chat(int(chat or 0)),
                      "from": BOT, "text": params.get("text", "")}  # fmt: skip
            if params.get("reply_markup"):
                result["reply_markup"] = params["reply_markup"]
            return 200, {"ok": True, "result": result}
        return 200, {"ok": True, "result": True}  # answerCallbackQuery, setWebhook, deleteWebhook, setMyCommands…

    def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.max_poll)
        with self.changed:
            self.updates = [
                u for u in self.updates if u["update_id"] >= offset
            ]  # confirmed ones are forgotten, as Telegram does
            while not self.updates and time.monotonic() < deadline:
                self.changed.wait(deadline - time.monotonic())
            return list(self.updates[: int(params.get("limit") or 100)])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def do_GET(self) -> None:  # noqa: N802
                self._serve(b"")

            def _serve(self, body: bytes) -> None:
                path, _, query = self.path.partition("?")
                parts = path.strip("/").split("/")
                if len(parts) != 2 or parts[0] != f"bot{api.token}":
                    status, answer = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                else:
                    status, answer = api._answer(parts[1], _params(body, self.headers.get("Content-Type", ""), query))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _params(body: bytes, content_type: str, query: str) -> dict[str, Any]:
    if "json" in content_type and body:
        params: dict[str, Any] = json.loads(body)
    else:
        params = dict(parse_qsl(body.decode() or query, keep_blank_values=True))
        for key in _JSON_FIELDS:
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
    for key in ("chat_id", "message_id", "offset", "limit"):
        if isinstance(params.get(key), str) and params[key].lstrip("-").isdigit():
            params[key] = int(params[key])
    return params
