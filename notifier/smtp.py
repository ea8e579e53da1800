"""Pooled SMTP sessions on the standard library (smtplib), with every message's fate its own.

apprise parses each mailto:// URL (`Apprise.instantiate`, its public entry point); what it parsed
(server, port, security, login, sender) names an `Account`.  The messages of one account share a
few sessions, so ten thousand alerts cost a few connections, and each message still gets its own
SMTP transaction and its own result:

- the server refuses a message (a 4xx/5xx to MAIL, RCPT or DATA): that message fails, the session
  is reset and goes on with the next one;
- a message to several recipients (to, cc, bcc of one channel) is one transaction; the server
  refuses some of them: the message fails for those, and the result names the recipients that
  took it, so that its retry goes to the others only;
- the connection drops during a message on a session that had already sent others: the message is
  tried once more on a fresh session (the drop may not have been its fault); if it drops again, it
  is the message's own failure;
- the server stalls past the timeout during a message: that message fails (no second wait) and the
  session is replaced;
- the server cannot be reached or logged into: every session of that account stops and fails its
  remaining messages at once, so a stalled server costs each session at most one timeout.

A failed message is retried later by the outbox with backoff; one recipient never costs another
their alert.  Other servers and channels are sent from other threads meanwhile.
"""

from __future__ import annotations

import queue
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

INSECURE, STARTTLS, SSL = "insecure", "starttls", "ssl"
#: Seconds to wait for the server at each step when apprise's URL does not say (cto=…).
DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Account:
    """What identifies one SMTP login: messages with the same account may share a session."""

    host: str
    port: int
    mode: str  # insecure | starttls | ssl
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool = True
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def account_of(plugin: Any) -> Account | None:
    """The SMTP account of an apprise e-mail plugin (as `Apprise.instantiate` made it), or None
    when the plugin is not a plain e-mail one (then it is sent through the plugin's `notify`)."""
    host = getattr(plugin, "smtp_host", None)
    mode = getattr(plugin, "secure_mode", None)
    if (
        not host
        or mode not in (INSECURE, STARTTLS, SSL)
        or getattr(plugin, "pgp_mode", "no") not in ("no", None, False)
    ):
        return None
    port = getattr(plugin, "port", None) or {SSL: 465, STARTTLS: 587}.get(mode, 25)
    return Account(
        host=str(host), port=int(port), mode=mode, user=getattr(plugin, "user", None) or None,
        password=getattr(plugin, "password", None) or None, verify=bool(getattr(plugin, "verify_certificate", True)),
        timeout=float(getattr(plugin, "socket_connect_timeout", None) or DEFAULT_TIMEOUT),
    )  # fmt: skip


@dataclass(frozen=True)
class Mail:
    """One message for one channel: one SMTP transaction to every recipient it still has to reach.
    `dropped` says why it fails even when sent (named recipients that cannot be sent to)."""

    key: str
    sender: str
    recipients: list[str] = field(repr=False)
    data: bytes = field(repr=False)
    dropped: str = ""


class Unreachable(Exception):
    """The server cannot be connected to or logged into (the whole account is down)."""


OnMail = Callable[[str, bool, str, tuple[str, ...]], None]  # (key, ok, error, recipients that took a failed message)


class Route:
    """The sessions of one account: each session takes whole batches (one channel's messages, kept
    in order) from one shared queue, so a slow message holds up only its own session.  Batches
    are put in while sessions already send; `close()` tells them there will be no more."""

    def __init__(self, account: Account, sessions: int):
        self.account = account
        self.sessions = sessions
        self.batches: queue.Queue[list[Mail] | None] = queue.Queue(maxsize=1024)
        self.down: str | None = None  # why the server cannot be reached, once a session found out

    def put(self, batch: list[Mail]) -> None:
        self.batches.put(batch)

    def close(self) -> None:
        for _ in range(self.sessions):
            self.batches.put(None)

    def run_session(self, on_mail: OnMail, before_send: Callable[[], bool] = lambda: True) -> None:
        """One session: send batches until the queue is closed (run by `sessions` threads).  Once
        `before_send()` says no, nothing more is sent or reported (the batches are still taken,
        so that whoever puts them is never blocked)."""
        session = Session(self.account)
        halted = False
        try:
            while (batch := self.batches.get()) is not None:
                for mail in batch:
                    halted = halted or not before_send()
                    if halted:
                        continue
                    if self.down:
                        on_mail(mail.key, False, self.down, ())
                        continue
                    try:
                        ok, error, accepted = session.deliver(mail)
                    except Unreachable as exc:
                        self.down = str(exc)
                        ok, error, accepted = False, self.down, ()
                    except Exception as exc:  # noqa: BLE001 - unexpected: this message fails, the session is replaced
                        session.close()
                        ok, error, accepted = False, f"{type(exc).__name__}: {exc}", ()
                    on_mail(mail.key, ok, error, accepted)
        finally:
            session.close()


class Session:
    """One SMTP connection, opened when first needed and replaced after a drop or a stall."""

    def __init__(self, account: Account):
        self.account = account
        self.smtp: smtplib.SMTP | None = None
        self.sent = 0  # messages sent on the current connection

    def deliver(self, mail: Mail) -> tuple[bool, str, tuple[str, ...]]:
        """(ok, error, the recipients that took a message that failed for others) for this message
        alone; Unreachable when the server cannot be reached."""
        if not mail.recipients:
            return False, mail.dropped or "the channel names no recipient", ()
        for _ in range(2):
            fresh = self.smtp is None
            if fresh:
                self.smtp = self._connect()
            assert self.smtp is not None
            try:
                refused = self.smtp.sendmail(mail.sender, mail.recipients, mail.data)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                self._reset()
                return False, f"the SMTP server {self.account.where} refused the message: {_reason(exc)}", ()
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                if _timed_out(exc):  # a stall costs one timeout: never waited for twice
                    return (
                        False,
                        f"the SMTP server {self.account.where} did not answer within {self.account.timeout:g} s",
                        (),
                    )
                if fresh:  # dropped on a connection made for this very message: its own failure
                    return False, f"the SMTP server {self.account.where} dropped the connection: {_reason(exc)}", ()
                continue  # the drop may be another message's doing: once more on a fresh session
            self.sent += 1
            accepted = tuple(r for r in mail.recipients if r not in refused)
            if refused:
                reasons = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in sorted(refused.items()))
                return False, f"the SMTP server {self.account.where} refused {reasons}", accepted
            if mail.dropped:
                return False, mail.dropped, accepted
            return True, "", ()
        return False, f"the SMTP server {self.account.where} dropped the connection twice", ()

    def _connect(self) -> smtplib.SMTP:
        account = self.account
        context = ssl.create_default_context()
        if not account.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        smtp: smtplib.SMTP | None = None
        try:
            if account.mode == SSL:
                smtp = smtplib.SMTP_SSL(account.host, account.port, timeout=account.timeout, context=context)
            else:
                smtp = smtplib.SMTP(account.host, account.port, timeout=account.timeout)
            smtp.ehlo()
            if account.mode == STARTTLS:
                smtp.starttls(context=context)
                smtp.ehlo()
            if account.user and account.password:
                smtp.login(account.user, account.password)
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                _quietly(smtp.close)
            raise Unreachable(f"cannot use the SMTP server {account.where}: {_reason(exc)}") from None
        self.sent = 0
        return smtp

    def _reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            _quietly(smtp.quit)
            _quietly(smtp.close)


def _timed_out(exc: BaseException) -> bool:
    """smtplib reports a read timeout as SMTPServerDisconnected("… timed out") raised from it."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}".rstrip(": ") if str(exc) else type(exc).__name__


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail in any way
        pass
