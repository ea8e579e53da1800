"""The cut-off chart: one line per stream over time, invitations as marker size, your score as a line.

Laid out here (pure: scales, ticks, legend placement) as a scene of shapes in pixels, painted by
`crswatch.render` as SVG or PNG.  No matplotlib: importing it alone takes longer than the whole
300 ms a history command may take, and a line chart needs little of it.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .render import Box, Dot, Line, Scene, Shape, Text, ascent, png, svg, text_width

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)  # matplotlib's tab10, then darker tab20b tones
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SIZE = (1210, 660)  # pixels
TITLE, LABEL, TICK, LEGEND = 18, 15, 14, 14  # font sizes in pixels
INK, GRID, FRAME = "#222222", "#e6e6e6", "#444444"


def draw_chart(records: list[dict[str, Any]], output: Path, score: int | None) -> None:
    """Write the chart whole or not at all (a temporary file beside it, then a rename)."""
    data = chart_bytes(records, output.suffix.lower().lstrip("."), score=score)
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def chart_bytes(records: list[dict[str, Any]], fmt: str, *, score: int | None = None, title: str = "",
                size: tuple[int, int] = SIZE) -> bytes:  # fmt: skip
    """The chart of these records (oldest first) as "png" or "svg" bytes."""
    scene = layout(records, score=score, title=title, size=size)
    return png(scene) if fmt == "png" else svg(scene)


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Frame:
    """The plot area in pixels and the data range it shows."""

    left: float
    top: float
    right: float
    bottom: float
    first: date
    last: date
    low: float
    high: float

    def x(self, day: date) -> float:
        span = (self.last - self.first).days or 1
        return self.left + (day - self.first).days / span * (self.right - self.left)

    def y(self, crs: float) -> float:
        return self.bottom - (crs - self.low) / ((self.high - self.low) or 1) * (self.bottom - self.top)


def layout(records: Sequence[dict[str, Any]], *, score: int | None = None, title: str = "",
           size: tuple[int, int] = SIZE) -> Scene:  # fmt: skip
    """The chart of these records (oldest first): every draw a marker, every stream a line."""
    width, height = size
    streams = _by_stream(records)
    days = [date.fromisoformat(r["date"]) for r in records]
    when = f"on {days[0]}" if min(days) == max(days) else f"{min(days)} to {max(days)}"
    title = title or f"Express Entry cut-offs by stream, {when} (marker size: invitations)"
    colors = {stream: PALETTE[i % len(PALETTE)] for i, stream in enumerate(streams)}
    entries = [(f"{stream} ({len(draws)} draw{'s' if len(draws) > 1 else ''})", colors[stream]) for stream, draws in streams.items()]  # fmt: skip
    shapes, texts, below_legend = legend(entries, width, 14 + TITLE + 10)
    texts.append(Text(width / 2, 14 + ascent(TITLE), title, TITLE, "middle"))

    values = [r["crs"] for r in records] + ([score] if score is not None else [])
    frame, axes_shapes, axes_texts = axes(min(days), max(days), min(values), max(values), size, below_legend + 8)
    paths = {stream: [(frame.x(date.fromisoformat(d["date"])), frame.y(d["crs"])) for d in draws] for stream, draws in streams.items()}  # fmt: skip
    shapes += axes_shapes + marks(streams, paths, colors, max(r["invitations"] for r in records) or 1)
    texts += axes_texts
    if score is not None:
        shapes.append(Line(((frame.left, frame.y(score)), (frame.right, frame.y(score))), "#000000", 1.2, dash=6))
        texts.append(score_label(score, frame, [p for points in paths.values() for p in _along(points)]))
    shapes.append(Box(frame.left, frame.top, frame.right, frame.bottom, stroke=FRAME, width=1))
    return Scene(width, height, title, tuple(shapes), tuple(texts))


def axes(first: date, last: date, low: float, high: float, size: tuple[int, int], top: float) -> tuple[Frame, list[Shape], list[Text]]:  # fmt: skip
    """The plot area below `top` for this data range (padded), with its grid, ticks and axis titles."""
    width, height = size
    pad_days = max(3, round((last - first).days * 0.03))
    pad = max(5.0, (high - low) * 0.05)
    bottom = height - (6 + TICK + 12 + LABEL + 10)
    y_ticks = nice_ticks(low - pad, high + pad, max(2, int((bottom - top) // 45)))
    y_labels = [f"{v:g}" for v in y_ticks]
    left = 10 + LABEL + 10 + max(text_width(s, TICK) for s in y_labels) + 8
    frame = Frame(left, top, width - 20, bottom, first - timedelta(days=pad_days), last + timedelta(days=pad_days), low - pad, high + pad)  # fmt: skip
    shapes: list[Shape] = []
    texts = [Text((frame.left + frame.right) / 2, height - 10, "Draw date", LABEL, "middle"),
             Text(10 + ascent(LABEL), (frame.top + frame.bottom) / 2, "CRS cut-off", LABEL, "middle", vertical=True)]  # fmt: skip
    for value, label in zip(y_ticks, y_labels, strict=True):
        y = frame.y(value)
        shapes += [Line(((frame.left, y), (frame.right, y)), GRID, 1), Line(((frame.left - 4, y), (frame.left, y)), FRAME, 1)]  # fmt: skip
        texts.append(Text(frame.left - 7, y + ascent(TICK) * 0.36, label, TICK, "end"))
    for day, label in date_ticks(frame.first, frame.last, frame.right - frame.left, room=(frame.left, width - frame.right)):
        x = frame.x(day)
        shapes += [Line(((x, frame.top), (x, frame.bottom)), GRID, 1), Line(((x, frame.bottom), (x, frame.bottom + 4)), FRAME, 1)]  # fmt: skip
        texts.append(Text(x, frame.bottom + 6 + ascent(TICK), label, TICK, "middle"))
    return frame, shapes, texts


def marks(streams: dict[str, list[dict[str, Any]]], paths: dict[str, list[tuple[float, float]]], colors: dict[str, str],
          biggest: int) -> list[Shape]:  # fmt: skip
    """Every draw's marker (sized by invitations, translucent), then every stream's line over them."""
    shapes: list[Shape] = [
        Dot(x, y, marker_radius(draw["invitations"], biggest), colors[stream], 0.45)
        for stream, draws in streams.items()
        for (x, y), draw in zip(paths[stream], draws, strict=True)
    ]
    for stream, points in paths.items():
        for run in _runs(points, [date.fromisoformat(d["date"]) for d in streams[stream]]):
            shapes.append(Line(tuple(run), colors[stream], 1.6) if len(run) > 1 else Dot(*run[0], 2.5, colors[stream]))
    return shapes


#: A stream's line breaks where it had no draw for longer than this: a line over the gap would
#: suggest cut-offs nobody published (FST: 2020, then 2023).
GAP = timedelta(days=365)


def _runs(points: list[tuple[float, float]], days: list[date]) -> list[list[tuple[float, float]]]:
    """The points split where two draws lie more than GAP apart."""
    runs: list[list[tuple[float, float]]] = [[points[0]]] if points else []
    for previous, day, point in zip(days, days[1:], points[1:], strict=False):
        if day - previous > GAP:
            runs.append([])
        runs[-1].append(point)
    return runs


def score_label(score: int, frame: Frame, avoid: list[tuple[float, float]]) -> Text:
    """ "your score N" just above its line, at the end (left or right) where it hides fewer draws."""
    text = f"your score {score}"
    width, y = text_width(text, LEGEND), frame.y(score) - 5
    spans = [(frame.left + 6, "start"), (frame.right - 6, "end")]

    def hidden(span: tuple[float, str]) -> int:
        x0 = span[0] if span[1] == "start" else span[0] - width
        return sum(x0 - 8 <= x <= x0 + width + 8 and y - ascent(LEGEND) - 8 <= py <= y + 8 for x, py in avoid)

    x, anchor = min(spans, key=hidden)
    if y - ascent(LEGEND) < frame.top + 2:  # no room above the line: write below it
        y += 10 + ascent(LEGEND)
    return Text(x, y, text, LEGEND, anchor, halo=True)


def _by_stream(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Streams with the most draws first (their colours stay the same from chart to chart)."""
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_stream.setdefault(record["stream"], []).append(record)
    return dict(sorted(by_stream.items(), key=lambda item: -len(item[1])))


def marker_radius(invitations: int, biggest: int) -> float:
    """Marker area grows with the draw's invitations: 3 px for the smallest, 10.6 px for the biggest."""
    return math.sqrt((12 + 140 * invitations / biggest) / math.pi) * 110 / 72


def _along(points: list[tuple[float, float]]) -> Iterator[tuple[float, float]]:
    """The points of a line, and points along its segments every ~10 px."""
    yield from points[:1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        steps = max(1, int(math.hypot(x1 - x0, y1 - y0) // 10))
        yield from ((x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1))


def legend(entries: list[tuple[str, str]], width: float, top: float) -> tuple[list[Shape], list[Text], float]:
    """The legend as centred rows under the title, outside the plot (it never hides a draw).

    Returns its shapes, its texts and the y where it ends.
    """
    swatch, gap, row = 22, 26, LEGEND + 8
    sizes = [swatch + 6 + text_width(text, LEGEND) * 1.08 for text, _ in entries]
    rows: list[list[int]] = [[]]
    for k, size in enumerate(sizes):
        if rows[-1] and sum(sizes[i] + gap for i in rows[-1]) + size > width - 40:
            rows.append([])
        rows[-1].append(k)
    shapes: list[Shape] = []
    texts: list[Text] = []
    for r, members in enumerate(rows):
        x = (width - sum(sizes[i] for i in members) - gap * (len(members) - 1)) / 2
        baseline = top + ascent(LEGEND) + r * row
        middle = baseline - ascent(LEGEND) * 0.36
        for k in members:
            text, color = entries[k]
            shapes.append(Line(((x, middle), (x + swatch, middle)), color, 2.5))
            texts.append(Text(x + swatch + 6, baseline, text, LEGEND))
            x += sizes[k] + gap
    return shapes, texts, top + row * len(rows)


# --------------------------------------------------------------------------- ticks


def nice_ticks(low: float, high: float, most: int) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) inside [low, high], at most `most` of them."""
    span = (high - low) or 1.0
    for power in range(math.floor(math.log10(span / most)) - 1, 10):
        for base in (1, 2, 2.5, 5):
            step = base * 10**power
            ticks = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]
            if len(ticks) <= most:
                return [round(t, 6) for t in ticks]
    return [low, high]


def date_ticks(first: date, last: date, width: float, room: tuple[float, float] = (0, 0)) -> list[tuple[date, str]]:
    """The finest calendar ticks (days, months or years) whose labels do not overlap across `width` px.

    `room` is the space left and right of the axis that a label may reach into.
    """
    span = (last - first).days or 1

    def fits(day: date, text: str) -> bool:
        x, half = (day - first).days / span * width, text_width(text, TICK) / 2 + 2
        return x - half >= -room[0] and x + half <= width + room[1]

    for candidate in _tick_candidates(first, last):
        labels = _with_year([(day, name(day)) for day, name in candidate if fits(day, name(day))])
        while labels and not fits(*labels[0]):  # the year made the first label too wide
            labels = _with_year(
                [(day, name(day)) for day, name in candidate if fits(day, name(day)) and day > labels[0][0]]
            )
        if not 2 <= len(labels) <= 14:
            continue
        gaps = [(b - a).days / span * width for (a, _), (b, _) in itertools.pairwise(labels)]
        widest = max((text_width(text, TICK) for _, text in labels), default=0)
        if all(gap >= widest + 14 for gap in gaps):
            return labels
    return [(first, str(first.year)), (last, str(last.year))]


def _tick_candidates(first: date, last: date) -> Iterator[list[tuple[date, Callable[[date], str]]]]:
    def day_name(day: date) -> str:
        return f"{day.day} {MONTHS[day.month - 1]}"

    def month_name(day: date) -> str:
        return str(day.year) if day.month == 1 else MONTHS[day.month - 1]

    def year_name(day: date) -> str:
        return str(day.year)

    days = [first + timedelta(days=k) for k in range((last - first).days + 1)] if (last - first).days <= 120 else []
    for monthdays in (range(1, 32), range(1, 32, 2), (1, 8, 15, 22), (1, 15)):
        if days:
            yield [(d, day_name) for d in days if d.day in monthdays]
    months = _months(first, last)
    for step in (1, 2, 3, 4, 6):
        yield [(d, month_name) for d in months if (d.month - 1) % step == 0]
    for step in (1, 2, 5, 10, 20, 50):
        yield [(d, year_name) for d in months if d.month == 1 and d.year % step == 0]


def _months(first: date, last: date) -> list[date]:
    """The first day of every month within [first, last]."""
    month = date(first.year, first.month, 1)
    found = []
    while month <= last:
        if month >= first:
            found.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return found


def _with_year(labels: list[tuple[date, str]]) -> list[tuple[date, str]]:
    """When no label names a year (a range inside one year), the first one does."""
    if not labels or any(str(day.year) in text for day, text in labels):
        return labels
    day, text = labels[0]
    return [(day, f"{text} {day.year}"), *labels[1:]]
