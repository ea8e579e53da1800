"""The one SQL type for moments: aware UTC datetimes in, aware UTC datetimes out, text order = time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import StatementError

from crswatch.store.moment import Moment, read, stamp

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("at", Moment()))


@pytest.fixture()
def engine():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return engine


def test_round_trip_is_aware_utc_and_stored_as_the_old_text(engine) -> None:
    ottawa = timezone(timedelta(hours=-5))
    moment = datetime(2026, 3, 4, 10, 16, 17, tzinfo=ottawa)
    with engine.begin() as db:
        db.execute(insert(things).values(id=1, at=moment))
        db.execute(insert(things).values(id=2, at=None))
        raw = db.execute(text("SELECT at FROM things WHERE id = 1")).scalar_one()
        back = dict(db.execute(select(things.c.id, things.c.at)).all())
    assert raw == "2026-03-04T15:16:17.000000Z"
    assert back[1] == moment and back[1].tzinfo is UTC
    assert back[2] is None


@pytest.mark.parametrize(
    "value, error",
    [(datetime(2026, 3, 4, 15, 16), "aware"), ("2026-03-04T15:16:17Z", "not str")],
)
def test_naive_datetimes_and_text_are_refused_before_anything_is_written(engine, value, error) -> None:
    with pytest.raises(StatementError, match=error), engine.begin() as db:
        db.execute(insert(things).values(id=1, at=value))
    with engine.connect() as db:
        assert db.execute(select(things)).all() == []


@pytest.mark.parametrize(
    "stored",
    ["2026-03-04T15:16:17Z", "2026-03-04T15:16:17+00:00", "2026-03-04T10:16:17-05:00", "2026-03-04T15:16:17"],
)
def test_rows_written_in_older_forms_still_read(engine, stored) -> None:
    with engine.begin() as db:
        db.execute(text("INSERT INTO things (id, at) VALUES (1, :at)"), {"at": stored})
        assert db.execute(select(things.c.at)).scalar_one() == datetime(2026, 3, 4, 15, 16, 17, tzinfo=UTC)


moments = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]),
)


@given(moments, moments)
def test_text_order_is_time_order(a: datetime, b: datetime) -> None:
    assert (stamp(a) < stamp(b)) == (a < b)
    assert len(stamp(a)) == len(stamp(b)) == 27
    assert read(stamp(a)) == a
