"""The cut-off chart on small cases and the real history: every draw drawn, the legend outside
the plot, no text overlapping or clipped, the score line labelled, year-aware dates."""

from __future__ import annotations

import contextlib
import io
import itertools
from datetime import date
from xml.etree import ElementTree

import pytest
from helpers import snapshot
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from crswatch.history import chart as plot
from crswatch.history.chart import chart_bytes, figure, runs
from crswatch.scraper.parse import RoundError, parse_feed, parse_round

SVG = "{http://www.w3.org/2000/svg}"


def _records() -> list[dict]:
    from crswatch.history.stats import oldest_first

    records = []
    for raw in parse_feed(snapshot("2026-01-21").read_bytes()):
        with contextlib.suppress(RoundError):  # the snapshot's few unreadable rounds are not stored either
            records.append(parse_round(raw).to_record())
    return oldest_first(records)


REAL = _records()


def _draw(day: str, crs: int, stream: str = "cec", invitations: int = 1000) -> dict:
    return {"date": day, "crs": crs, "stream": stream, "invitations": invitations, "number": day}


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
    "within one year": (
        [r for r in REAL if r["stream"] == "cec" and "2025-02-01" <= r["date"] <= "2025-10-31"],
        None,
        plot.SIZE,
    ),
}


def _drawn(records: list[dict], score: int | None, size: tuple[int, int]) -> tuple:
    fig = figure(records, score=score, size=size)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fig, canvas.get_renderer()


def _overlap(a, b) -> bool:  # noqa: ANN001
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


@pytest.mark.parametrize("case", CASES)
def test_every_draw_is_drawn_and_no_text_overlaps_or_leaves_the_image(case: str) -> None:
    records, score, size = CASES[case]
    fig, renderer = _drawn(records, score, size)
    (ax,) = fig.axes
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(records)
    (legend,) = fig.legends
    assert {t.get_text().split(" (")[0] for t in legend.get_texts()} == {r["stream"] for r in records}
    plot_area = ax.get_window_extent(renderer)
    assert not _overlap(legend.get_window_extent(renderer), plot_area)  # the legend never hides a draw
    texts = [
        tick.label1
        for axis in (ax.xaxis, ax.yaxis)
        for tick in axis.get_major_ticks()
        if tick.label1.get_text() and min(axis.get_view_interval()) <= tick.get_loc() <= max(axis.get_view_interval())
    ]  # drawn ones
    texts += [fig._suptitle, ax.xaxis.label, ax.yaxis.label, *legend.get_texts(), *ax.texts]  # noqa: SLF001
    boxes = [t.get_window_extent(renderer) for t in texts]
    for (a, ta), (b, tb) in itertools.combinations(zip(boxes, texts, strict=True), 2):
        assert not _overlap(a, b), (ta.get_text(), tb.get_text())
    width, height = size
    outside = [
        t.get_text()
        for t, box in zip(texts, boxes, strict=True)
        if not (-1 <= box.x0 and box.x1 <= width + 1 and -1 <= box.y0 and box.y1 <= height + 1)
    ]
    assert not outside
    labels = [t.get_text() for t in ax.get_xticklabels()] + [ax.xaxis.get_offset_text().get_text()]
    assert any(str(year) in " ".join(labels) for year in range(2015, 2030)), labels  # the dates say which year
    if score is not None:
        (label,) = [t for t in ax.texts if t.get_text().strip() == f"your score {score}"]
        low, high = ax.get_ylim()
        assert low < score < high
        assert _overlap(label.get_window_extent(renderer), plot_area)


def test_marker_area_grows_with_invitations() -> None:
    assert plot.marker_area(0, 5000) == 12 and plot.marker_area(5000, 5000) == 152
    assert plot.marker_area(2500, 5000) - plot.marker_area(0, 5000) == pytest.approx(
        (plot.marker_area(5000, 5000) - plot.marker_area(0, 5000)) / 2
    )


def test_streams_keep_their_colours_by_size_and_a_lone_draw_is_a_dot() -> None:
    records = [_draw("2025-01-01", 500), _draw("2025-02-01", 510), _draw("2025-01-15", 700, "pnp")]
    (ax,) = figure(records).axes
    cec, pnp = ax.lines
    assert cec.get_color() == plot.PALETTE[0] and len(cec.get_xdata()) == 2  # cec: the most draws, the first colour
    assert pnp.get_color() == plot.PALETTE[1] and pnp.get_marker() == "o" and len(pnp.get_xdata()) == 1


def test_png_and_svg_are_valid_files() -> None:
    records = [r for r in REAL if r["stream"] == "cec"][-20:]
    with Image.open(io.BytesIO(chart_bytes(records, "png", score=505, size=(770, 352)))) as image:
        assert image.size == (770, 352)
    root = ElementTree.fromstring(chart_bytes(records, "svg", title='a <b> & "c"'))
    assert any(t.text == 'a <b> & "c"' for t in root.iter(f"{SVG}title")) or b"&lt;b&gt;" in chart_bytes(
        records, "svg", title="<b>"
    )
    assert chart_bytes(records, "svg") == chart_bytes(records, "svg")  # no date inside: cacheable


def test_a_line_breaks_over_a_gap_of_more_than_a_year() -> None:
    days = [date(2020, 1, 1), date(2020, 6, 1), date(2022, 1, 1), date(2022, 2, 1)]
    assert runs(days, [1, 2, 3, 4]) == [[(days[0], 1), (days[1], 2)], [(days[2], 3), (days[3], 4)]]


def test_the_score_label_goes_where_it_hides_no_draw() -> None:
    days = [date(2025, 1, 1), date(2025, 6, 1), date(2025, 12, 1)]
    assert plot.score_place(days, [510, 600, 510], 505, (400, 700), plot.SIZE) == (
        "left",
        "top",
    )  # draws sit just above
    assert plot.score_place(days, [498, 600, 600], 505, (400, 700), plot.SIZE) == ("left", "bottom")
    assert plot.score_place(days, [506, 600, 498], 505, (400, 700), plot.SIZE) == ("right", "bottom")
