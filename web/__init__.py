"""`crswatch serve`: the subscription pages (see app.py)."""

from .app import create_app

__all__ = ["create_app"]
