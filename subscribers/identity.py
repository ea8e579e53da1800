"""Which destination a channel URL names: one mailbox, one number, one webhook is one subscriber.

The same address with its URL's parameters reordered, or in another letter case
(`Dana@Example.com` / `dana@example.com`), is the same mailbox and must not make a second
subscriber (and a second e-mail per draw).  The key is made from a canonical form:

- e-mail (`mailto`, `mailtos`): the server (host, port), the login user, and the recipient
  addresses, all lower-cased; the password and the sender's options do not name the destination;
- every other scheme: the scheme and host lower-cased, phone numbers reduced to their digits
  (E.164 without its "+"), and the query parameters sorted.

Pure string work (no apprise), so the same key is made everywhere: subscribe, the web form, import,
the outbox.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, unquote, urlsplit

_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_MAIL = ("mailto", "mailtos")


def canonical(url: str) -> str:
    """The destination a channel URL names, as one comparable string."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    user = unquote(parts.username or "")
    params = [(k.lower(), v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    if scheme in _MAIL:
        recipients = [unquote(p) for p in parts.path.split("/") if p]
        recipients += [v for k, v in params if k in ("to", "cc", "bcc")]
        addresses = sorted(
            {a.strip().lower() for value in recipients for a in re.split(r"[\s,;]+", value) if a.strip()}
        )
        return f"{scheme}://{user.lower()}@{host}:{port or ''}/{','.join(addresses)}"
    path = "/".join(_phone(unquote(p)) for p in parts.path.split("/"))
    query = "&".join(f"{k}={v}" for k, v in sorted(params))
    netloc = (f"{user}@" if user else "") + host + (f":{port}" if port else "")
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _phone(segment: str) -> str:
    return re.sub(r"\D", "", segment) if _PHONE.match(segment) and sum(c.isdigit() for c in segment) >= 7 else segment


def destination_key(url: str) -> str:
    """What is stored and compared: a hash of the canonical form (never the URL, which holds secrets)."""
    return hashlib.blake2b(canonical(url).encode(), digest_size=12).hexdigest()
