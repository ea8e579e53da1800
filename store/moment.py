"""`Moment`: the one SQL type for a point in time, an aware UTC `datetime` in Python.

A moment is stored as the text most columns always held (ISO 8601 in UTC with microseconds and
a Z, `2026-03-04T15:16:17.000000Z`, in a column of 40 characters), and because every value has
that one form, text order is time order: indexes, `ORDER BY`, keyset
pages and comparisons in SQL are unchanged and need no function on either engine.  A value bound
to a `Moment` column, or compared with one, must be an aware `datetime` (a naive one, or text, is
refused where it is bound, before anything is written); what is read back is aware, in UTC.
Rows earlier releases kept in other forms (`profile_created` had no microseconds) were rewritten
in this one by migration 0009 (`moments`); `read` still accepts any ISO 8601 form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect, String
from sqlalchemy.types import TypeDecorator


def stamp(moment: datetime) -> str:
    """The stored form: UTC with microseconds and a Z (the same length for every moment)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a moment must be aware (naive {moment.isoformat()})")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def read(text: str) -> datetime:
    """A stored moment, as an aware UTC datetime (a naive stored text is taken as UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is UTC:  # the stored form (a Z): read for every row, so no conversion
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Moment(TypeDecorator[datetime]):
    """An aware UTC `datetime`, kept as `stamp` text (see the module's docstring)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a Moment column takes an aware datetime, not {type(value).__name__} {value!r}")
        return stamp(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return read(value) if value else None

    @property
    def python_type(self) -> type[datetime]:
        return datetime
