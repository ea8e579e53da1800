"""The chart's layout (ticks, legend, labels) and its two renderers, on small cases and the real history."""

from __future__ import annotations

import contextlib
import io
import itertools
import random
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from PIL import Image

from history import chart as plot, render
from history.chart import date_ticks, layout, marker_radius, nice_ticks
from history.render import Dot, Line, Scene, Text, text_width
from helpers import snapshot
from scraper.parse import RoundError, parse_feed, parse_round

SVG = "{http://www.w3.org/2000/svg}"


def _records() -> list[dict]:
    from history.stats import oldest_first

    records = []
    for raw in parse_feed(snapshot("2026-01-21").read_bytes()):
        with contextlib.suppress(RoundError):  # the snapshot's few unreadable rounds are not stored either
            records.append(parse_round(raw).to_record())
    return oldest_first(records)


REAL = _records()


def _draw(day: str, crs: int, stream: str = "cec", invitations: int = 1000) -> dict:
    return {"date": day, "crs": crs, "stream": stream, "invitations": invitations, "number": day}


@pytest.mark.parametrize(
    ("low", "high", "most", "expected"),
    [
        (330.0, 870.0, 11, [350, 400, 450, 500, 550, 600, 650, 700, 750, 800, 850]),
        (510.0, 552.0, 6, [510, 520, 530, 540, 550]),
        (510.0, 552.0, 10, [510, 515, 520, 525, 530, 535, 540, 545, 550]),
        (0.0, 1.0, 5, [0, 0.25, 0.5, 0.75, 1]),
        (395.0, 405.0, 3, [395, 400, 405]),
        (395.0, 405.0, 2, [400]),
    ],
)
def test_nice_ticks(low: float, high: float, most: int, expected: list[float]) -> None:
    assert nice_ticks(low, high, most) == expected


@pytest.mark.parametrize(
    ("first", "last", "width", "expected"),
    [
        # 2.5 years on a wide chart: quarters, the year named at each January
        (
            "2023-06-20",
            "2026-01-28",
            1120,
            ["Jul", "Oct", "2024", "Apr", "Jul", "Oct", "2025", "Apr", "Jul", "Oct", "2026"],
        ),
        # inside one year: the first label names it
        ("2025-03-10", "2025-09-20", 1120, ["Apr 2025", "May", "Jun", "Jul", "Aug", "Sep"]),
        # eleven years on a narrow chart: every other year
        ("2015-01-20", "2026-01-28", 400, ["2016", "2018", "2020", "2022", "2024", "2026"]),
        # a week: days, the first with its year; "20 Dec" would reach past the image's right edge
        ("2025-12-14", "2025-12-20", 680, ["14 Dec 2025", "15 Dec", "16 Dec", "17 Dec", "18 Dec", "19 Dec"]),
    ],
)
def test_date_ticks(first: str, last: str, width: int, expected: list[str]) -> None:
    ticks = date_ticks(date.fromisoformat(first), date.fromisoformat(last), width, room=(60, 20))
    assert [label for _, label in ticks] == expected


def test_date_tick_labels_never_overlap_nor_leave_the_image() -> None:
    chance = random.Random(7)
    for _ in range(300):
        first = date(2015, 1, 1) + timedelta(days=chance.randrange(4000))
        last = first + timedelta(days=chance.choice([1, 5, 20, 60, 130, 400, 1000, 4000]))
        width, room = chance.randrange(250, 1400), (chance.randrange(0, 80), chance.randrange(0, 30))
        ticks = date_ticks(first, last, width, room)
        span = (last - first).days
        boxes = sorted(((d - first).days / span * width - text_width(t, plot.TICK) / 2,
                        (d - first).days / span * width + text_width(t, plot.TICK) / 2) for d, t in ticks)  # fmt: skip
        assert len(ticks) >= 2, (first, last, width)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(boxes)), (first, last, width, ticks)
        assert boxes[0][0] >= -room[0] - 1 or ticks[0][0] == first


def _text_box(text: Text) -> tuple[float, float, float, float]:
    up, down = render.font(text.size).getmetrics()
    length = text_width(text.text, text.size)
    start = {"start": 0, "middle": -length / 2, "end": -length}[text.anchor]
    if text.vertical:
        return text.x - up, text.y - length - start, text.x + down, text.y - start
    return text.x + start, text.y - up, text.x + start + length, text.y + down


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


CASES = {
    "everything with a low score": (REAL, 300, plot.SIZE),
    "four streams since mid-2023": (
        [r for r in REAL if r["stream"] in ("cec", "pnp", "french", "healthcare") and r["date"] >= "2023-06-01"],
        505,
        plot.SIZE,
    ),
    "one stream for the web page": (
        [r for r in REAL if r["stream"] == "french" and r["date"] >= "2024-01-01"],
        None,
        (770, 352),
    ),
    "one draw, score far above": ([REAL[-1]], 900, (770, 352)),
    "every stream on a small chart": (REAL, 505, (770, 420)),
    "cec in 2025, score at the top": (
        [r for r in REAL if r["stream"] == "cec" and r["date"] >= "2025-01-01"],
        547,
        plot.SIZE,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_layout_has_every_draw_and_no_overlapping_or_clipped_text(case: str) -> None:
    records, score, size = CASES[case]
    scene = layout(records, score=score, size=size)
    markers = [s for s in scene.shapes if isinstance(s, Dot) and s.opacity < 1]
    assert len(markers) == len(records)
    boxes = [_text_box(t) for t in scene.texts]
    for (a, ta), (b, tb) in itertools.combinations(zip(boxes, scene.texts, strict=True), 2):
        assert not _overlap(a, b), (ta.text, tb.text)
    assert all(0 <= x0 and x1 <= scene.width and 0 <= y0 and y1 <= scene.height for x0, y0, x1, y1 in boxes)
    streams = {r["stream"] for r in records}
    legend = {t.text.split(" (")[0] for t in scene.texts if " draw" in t.text}
    assert legend == streams
    if score is not None:
        (label,) = [t for t in scene.texts if t.text == f"your score {score}"]
        (line,) = [s for s in scene.shapes if isinstance(s, Line) and s.dash]
        frame = max((s for s in scene.shapes if isinstance(s, render.Box)), key=lambda b: b.x1 - b.x0)
        assert frame.y0 < line.points[0][1] < frame.y1 and frame.y0 <= _text_box(label)[1]


def test_marker_area_grows_with_invitations() -> None:
    assert marker_radius(0, 5000) == pytest.approx(2.98, abs=0.01)
    assert marker_radius(5000, 5000) == pytest.approx(10.6, abs=0.05)
    assert marker_radius(2500, 5000) ** 2 - marker_radius(0, 5000) ** 2 == pytest.approx(
        (marker_radius(5000, 5000) ** 2 - marker_radius(0, 5000) ** 2) / 2
    )


def test_streams_keep_their_colours_by_size_and_a_lone_draw_is_a_dot() -> None:
    records = [_draw("2025-01-01", 500), _draw("2025-02-01", 510), _draw("2025-01-15", 700, "pnp")]
    scene = layout(records)
    lines = [s for s in scene.shapes if isinstance(s, Line) and s.width == 1.6]  # the streams' lines
    assert [line.color for line in lines] == [plot.PALETTE[0]]  # cec: the most draws, the first colour
    assert any(isinstance(s, Dot) and s.opacity == 1 and s.color == plot.PALETTE[1] for s in scene.shapes)


def test_svg_is_well_formed_and_escapes_text() -> None:
    scene = Scene(200, 100, 'a <b> & "c"', (Line(((0, 0), (10, 10)), "#000000", 1, dash=4), Dot(5, 5, 2, "#ff0000", 0.5)),
                  (Text(10, 20, "<script>&", 12), Text(20, 50, "up", 12, "middle", vertical=True)))  # fmt: skip
    root = ElementTree.fromstring(render.svg(scene))
    assert root.find(f"{SVG}title").text == 'a <b> & "c"'
    assert [t.text for t in root.iter(f"{SVG}text")] == ["<script>&", "up"]
    assert root.find(f"{SVG}polyline").get("stroke-dasharray") == "4 2.8"
    assert root.find(f"{SVG}circle").get("fill-opacity") == "0.5"


def test_png_paints_shapes_below_text() -> None:
    scene = Scene(120, 60, "t", (Dot(30, 30, 10, "#1f77b4", 0.45), Line(((60, 10), (60, 50)), "#d62728", 3)),
                  (Text(100, 40, "CRS", 14, "end"), Text(10, 58, "y", 12, vertical=True)))  # fmt: skip
    with Image.open(io.BytesIO(render.png(scene))) as image:
        image.load()
        assert image.size == (120, 60)
        assert image.getpixel((30, 30)) == (154, 194, 221)  # 45% of (31, 119, 180) on white
        assert image.getpixel((60, 30)) == (0xD6, 0x27, 0x28)
        assert image.getpixel((5, 5)) == (255, 255, 255)
        assert image.crop((70, 25, 100, 42)).convert("L").getextrema()[0] < 100  # the text was drawn


def test_a_line_breaks_over_a_gap_of_more_than_a_year() -> None:
    from datetime import date

    from history.chart import _runs

    days = [date(2020, 1, 1), date(2020, 6, 1), date(2022, 1, 1), date(2022, 2, 1)]
    points = [(float(i), float(i)) for i in range(4)]
    assert _runs(points, days) == [[(0.0, 0.0), (1.0, 1.0)], [(2.0, 2.0), (3.0, 3.0)]]
