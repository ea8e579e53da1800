"""The cut-off chart: one line per stream over time, invitations as marker size, your score as a line.

Drawn with matplotlib's object-oriented API (a `Figure` of its own, no pyplot state, the Agg
renderer for PNG).  matplotlib is imported here only, and this module only when a chart is made:
every other history command starts without it.

Layout rules: the legend sits outside the plot (it never hides a draw); the date axis is
matplotlib's concise, year-aware one (its locator keeps labels apart); the score line is
labelled at the end where the label hides fewer draws; a stream's line breaks where it had no
draw for more than a year.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
)  # fmt: skip  # matplotlib's tab10, then darker tab20b tones: a stream keeps its colour by size
SIZE = (1210, 660)  # pixels
DPI = 100
#: A stream's line breaks where it had no draw for longer than this: a line over the gap would
#: suggest cut-offs nobody published (FST: 2020, then 2023).
GAP = timedelta(days=365)


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
    from matplotlib import rc_context

    buffer = io.BytesIO()
    # SVG: ids from the content, not random (the same draws, the same bytes); text as text, not outlines
    with rc_context({"svg.hashsalt": "crswatch", "svg.fonttype": "none"}):
        figure(records, score=score, title=title, size=size).savefig(buffer, format=fmt, metadata=_metadata(fmt))
    return buffer.getvalue()


def figure(records: Sequence[dict[str, Any]], *, score: int | None = None, title: str = "",
           size: tuple[int, int] = SIZE) -> Figure:  # fmt: skip
    """The chart of these records (oldest first): every draw a marker, every stream a line."""
    from matplotlib import dates as mdates
    from matplotlib import patheffects
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    streams = by_stream(records)
    days = [date.fromisoformat(r["date"]) for r in records]
    when = f"on {days[0]}" if min(days) == max(days) else f"{min(days)} to {max(days)}"
    fig.suptitle(title or f"Express Entry cut-offs by stream, {when} (marker size: invitations)")
    biggest = max(r["invitations"] for r in records) or 1
    handles = []
    for k, (stream, draws) in enumerate(streams.items()):
        color = PALETTE[k % len(PALETTE)]
        when_drawn = [date.fromisoformat(d["date"]) for d in draws]
        cutoffs = [d["crs"] for d in draws]
        ax.scatter(mdates.date2num(when_drawn), cutoffs, s=[marker_area(d["invitations"], biggest) for d in draws], color=color,
                   alpha=0.45, linewidths=0, zorder=2)  # fmt: skip
        for run in runs(when_drawn, cutoffs):
            ax.plot(mdates.date2num([day for day, _ in run]), [crs for _, crs in run], color=color, linewidth=1.6, marker="o" if len(run) == 1 else None,
                    markersize=3, zorder=3)  # fmt: skip
        handles.append(
            Line2D(
                [], [], color=color, linewidth=2.5, label=f"{stream} ({len(draws)} draw{'s' if len(draws) > 1 else ''})"
            )
        )
    # Outside the axes, under them: the legend never hides a draw (above them, constrained layout
    # would not keep it off the title).
    column = 45 + 7.5 * max(len(str(h.get_label())) for h in handles)  # pixels: swatch, gap, and ~7.5 px a character
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=max(1, min(len(handles), int((size[0] - 20) // column))),
        frameon=False,
    )
    locator = mdates.AutoDateLocator(minticks=3, maxticks=max(3, size[0] // 110))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # the year at year ticks, or beside the axis
    ax.set_xlabel("Draw date")
    ax.set_ylabel("CRS cut-off")
    ax.grid(color="#e6e6e6", linewidth=1, zorder=0)
    ax.set_axisbelow(True)
    if len(set(days)) == 1:
        ax.set_xlim(mdates.date2num(days[0] - timedelta(days=3)), mdates.date2num(days[0] + timedelta(days=3)))
    if score is not None:
        ax.axhline(score, color="#000000", linewidth=1.2, linestyle=(0, (5, 3)), zorder=4)
        ax.margins(y=0.08)
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, score - 5), max(high, score + 5))
        side, anchor = score_place(days, [r["crs"] for r in records], score, ax.get_ylim(), size)
        ax.text(0.01 if side == "left" else 0.99, score, f" your score {score} ", transform=ax.get_yaxis_transform(), ha=side,
                va=anchor, zorder=5, path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])  # fmt: skip
    return fig


def runs(days: list[date], values: list[int]) -> list[list[tuple[date, int]]]:
    """The (day, value) points split where two draws lie more than GAP apart."""
    found: list[list[tuple[date, int]]] = [[(days[0], values[0])]] if days else []
    for previous, day, value in zip(days, days[1:], values[1:], strict=False):
        if day - previous > GAP:
            found.append([])
        found[-1].append((day, value))
    return found


def score_place(days: list[date], cutoffs: list[int], score: int, ylim: tuple[float, float],
                size: tuple[int, int]) -> tuple[str, str]:  # fmt: skip
    """Where "your score N" goes: ("left" or "right", "bottom" or "top" of the text at the line,
    that is above or below it), the place whose box hides the fewest draws."""
    first, last = min(days), max(days)
    span, height = (last - first).days or 1, (ylim[1] - ylim[0]) or 1
    wide = (10 + 7.5 * len(f"your score {score}")) / (size[0] * 0.85)  # the label's box, as fractions of the plot
    tall = 22 / (size[1] * 0.75)
    points = [((day - first).days / span, (crs - score) / height) for day, crs in zip(days, cutoffs, strict=True)]

    def hidden(place: tuple[str, str]) -> int:
        side, anchor = place
        x0 = 0.0 if side == "left" else 1.0 - wide
        y0, y1 = (0.0, tall) if anchor == "bottom" else (-tall, 0.0)
        return sum(x0 - 0.02 <= x <= x0 + wide + 0.02 and y0 - 0.01 <= y <= y1 + 0.01 for x, y in points)

    return min((("left", "bottom"), ("right", "bottom"), ("left", "top"), ("right", "top")), key=hidden)


def by_stream(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Streams with the most draws first (their colours stay the same from chart to chart)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        found.setdefault(record["stream"], []).append(record)
    return dict(sorted(found.items(), key=lambda item: -len(item[1])))


def marker_area(invitations: int, biggest: int) -> float:
    """Marker area in points², growing with the draw's invitations (12 for none, 152 for the biggest)."""
    return 12 + 140 * invitations / biggest


def _metadata(fmt: str) -> dict[str, Any]:
    """No creation date in the file: the same draws give the same bytes (cached, compared)."""
    return {"Date": None} if fmt == "svg" else {}
