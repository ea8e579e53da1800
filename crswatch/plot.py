"""The cut-off chart (matplotlib, imported only by `crswatch chart -o`)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any


def draw_chart(records: list[dict[str, Any]], output: Path, score: int | None) -> None:
    _figure(records, score).savefig(output, format=output.suffix.lower().lstrip("."))


def draw_chart_bytes(records: list[dict[str, Any]], fmt: str, *, size: tuple[float, float], title: str, score: int | None = None) -> bytes:
    """The chart as PNG or SVG bytes (for the web page)."""
    buffer = io.BytesIO()
    _figure(records, score, size, title).savefig(buffer, format=fmt)
    return buffer.getvalue()


def _figure(records: list[dict[str, Any]], score: int | None, size: tuple[float, float] = (11, 6), title: str = "") -> Any:
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure  # no pyplot: no GUI backend machinery, faster start

    by_stream: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_stream.setdefault(record["stream"], []).append(record)
    biggest = max(r["invitations"] for r in records) or 1
    fig = Figure(figsize=size, dpi=110, layout="constrained")
    ax = fig.subplots()
    for stream, draws in sorted(by_stream.items(), key=lambda item: -len(item[1])):
        days = [date.fromisoformat(d["date"]) for d in draws]
        cutoffs = [d["crs"] for d in draws]
        line, = ax.plot(days, cutoffs, linewidth=1.4, label=f"{stream} ({len(draws)} draws)")
        sizes = [12 + 140 * d["invitations"] / biggest for d in draws]
        ax.scatter(days, cutoffs, s=sizes, color=line.get_color(), alpha=0.45, edgecolors="none")
    if score is not None:
        ax.axhline(score, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"your score {score}", xy=(0.005, score), xycoords=("axes fraction", "data"),
                    xytext=(0, 4), textcoords="offset points", fontsize=9)  # fmt: skip
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("Draw date")
    ax.set_ylabel("CRS cut-off")
    first, last = records[0]["date"], records[-1]["date"]
    ax.set_title(title or f"Express Entry cut-offs by stream, {first} to {last} (marker size: invitations)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=9, frameon=False)
    return fig
