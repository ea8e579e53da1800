"""The only module that talks to apprise."""

from __future__ import annotations


def mask_url(url: str) -> str:
    """A channel URL with its secrets hidden (apprise's `url(privacy=True)`)."""
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not plugin:
        return "<invalid channel URL>"
    return plugin.url(privacy=True)
