"""The foot of every message: how to change or stop alerts (the subscriber's own pages when the
subscription page is public; else a person to write to; else the operator's command)."""

from __future__ import annotations

from dataclasses import dataclass

from crswatch.subscribers.links import Links
from crswatch.subscribers.model import Subscriber

from .i18n import Texts


@dataclass(frozen=True)
class Stop:
    text: str  # the sentence(s) for plain text
    manage: str = ""  # links, when the subscription page is public
    unsubscribe: str = ""


def way_out(sub: Subscriber, links: Links | None, contact: str = "", t: Texts | None = None) -> Stop:
    """How to change or stop alerts: the subscriber's own pages; else a person to write to (the
    operator's `[alerts] contact`, also the e-mails' Reply-To); else the operator's command."""
    t = t or Texts(sub.language)
    _ = t.gettext
    ask = " " + _("Questions: {contact}").format(contact=contact) if contact else ""
    if links:
        manage, unsubscribe = links.for_subscriber(sub.id, sub.language)
        text = (
            _("Change your alerts: {manage}").format(manage=manage)
            + "\n"
            + _("To stop these alerts: {unsubscribe}").format(unsubscribe=unsubscribe)
        )
        return Stop(text + ask, manage, unsubscribe)
    if contact:
        return Stop(
            _(
                "To stop these alerts or change them, reply to this message or write to {contact} (your subscription: {id})."
            ).format(contact=contact, id=sub.id)
        )
    return Stop(_("To stop these alerts, ask the operator to run: crswatch unsubscribe {id}").format(id=sub.id))
