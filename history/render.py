"""Turn a laid-out scene (`crswatch.plot`) into SVG text or a PNG image.

The scene is plain shapes in pixels; this module only paints them.  PNG goes through Pillow:
shapes are painted at 3x and reduced (antialiasing), then text is drawn at full size with
FreeType.  Both formats measure text with the same font (Pillow's bundled Aileron), so the
layout that fits in the PNG fits in the SVG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

SUPERSAMPLE = 3
FONT_FAMILY = "Aileron, Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    color: str
    width: float
    dash: float = 0  # dash and gap length in pixels; 0 draws a solid line


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    color: str
    opacity: float = 1.0


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    fill: str | None = None
    stroke: str | None = None
    width: float = 1.0


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    size: int
    anchor: str = "start"  # start | middle | end
    color: str = "#222222"
    vertical: bool = False  # turned 90 degrees counter-clockwise, read bottom to top
    halo: bool = False  # a white outline, to stay readable over lines


Shape = Line | Dot | Box


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    title: str
    shapes: tuple[Shape, ...]  # painted in order, below every text
    texts: tuple[Text, ...]


# --------------------------------------------------------------------------- text metrics


@lru_cache(maxsize=16)
def font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size)


def text_width(text: str, size: int) -> float:
    return float(font(size).getlength(text))


def ascent(size: int) -> int:
    return int(font(size).getmetrics()[0])


# --------------------------------------------------------------------------- SVG


def svg(scene: Scene) -> bytes:
    size = f'width="{scene.width}" height="{scene.height}" viewBox="0 0 {scene.width} {scene.height}"'
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} font-family="{FONT_FAMILY}">',
        f"<title>{escape(scene.title)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    out += (_svg_shape(shape) for shape in scene.shapes)
    out += (_svg_text(text) for text in scene.texts)
    out.append("</svg>\n")
    return "\n".join(out).encode()


def _svg_shape(shape: Shape) -> str:
    if isinstance(shape, Dot):
        opacity = f' fill-opacity="{shape.opacity:g}"' if shape.opacity < 1 else ""
        return f'<circle cx="{shape.x:.1f}" cy="{shape.y:.1f}" r="{shape.r:.1f}" fill="{shape.color}"{opacity}/>'
    if isinstance(shape, Box):
        paint = f'fill="{shape.fill or "none"}"'
        if shape.stroke:
            paint += f' stroke="{shape.stroke}" stroke-width="{shape.width:g}"'
        return (f'<rect x="{shape.x0:.1f}" y="{shape.y0:.1f}" width="{shape.x1 - shape.x0:.1f}" '
                f'height="{shape.y1 - shape.y0:.1f}" {paint}/>')  # fmt: skip
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in shape.points)
    dash = f' stroke-dasharray="{shape.dash:g} {shape.dash * 0.7:g}"' if shape.dash else ""
    return (f'<polyline points="{points}" fill="none" stroke="{shape.color}" stroke-width="{shape.width:g}" '
            f'stroke-linejoin="round" stroke-linecap="round"{dash}/>')  # fmt: skip


def _svg_text(text: Text) -> str:
    turn = f' transform="rotate(-90 {text.x:.1f} {text.y:.1f})"' if text.vertical else ""
    halo = ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' if text.halo else ""
    return (f'<text x="{text.x:.1f}" y="{text.y:.1f}" font-size="{text.size}" text-anchor="{text.anchor}" '
            f'fill="{text.color}"{turn}{halo}>{escape(text.text)}</text>')  # fmt: skip


# --------------------------------------------------------------------------- PNG


def png(scene: Scene) -> bytes:
    from PIL import Image, ImageDraw

    s = SUPERSAMPLE
    image = Image.new("RGB", (scene.width * s, scene.height * s), "#ffffff")
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        if isinstance(shape, Dot):
            r = shape.r * s
            draw.ellipse(
                (shape.x * s - r, shape.y * s - r, shape.x * s + r, shape.y * s + r),
                fill=_on_white(shape.color, shape.opacity),
            )
        elif isinstance(shape, Box):
            draw.rectangle((shape.x0 * s, shape.y0 * s, shape.x1 * s, shape.y1 * s), fill=shape.fill,
                           outline=shape.stroke, width=round(shape.width * s))  # fmt: skip
        else:
            width = max(1, round(shape.width * s))
            for run in _dashes(shape) if shape.dash else [shape.points]:
                draw.line([(x * s, y * s) for x, y in run], fill=shape.color, width=width, joint="curve")
    image = image.reduce(s)
    draw = ImageDraw.Draw(image)
    for text in scene.texts:
        if text.vertical:
            _vertical(image, text)
        else:
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[text.anchor]
            halo = {"stroke_width": 2, "stroke_fill": "#ffffff"} if text.halo else {}
            draw.text((text.x, text.y), text.text, fill=text.color, font=font(text.size), anchor=anchor, **halo)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _on_white(color: str, opacity: float) -> str:
    """The colour as painted with this opacity on white (markers sit below every line)."""
    if opacity >= 1:
        return color
    channels = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * opacity + 255 * (1 - opacity)):02x}" for c in channels)


def _dashes(line: Line) -> list[list[tuple[float, float]]]:
    """A horizontal or sloped straight line (two points) cut into dashes."""
    (x0, y0), (x1, y1) = line.points[0], line.points[-1]
    length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 or 1.0
    period = line.dash * 1.7
    runs, at = [], 0.0
    while at < length:
        end = min(at + line.dash, length)
        runs.append([(x0 + (x1 - x0) * at / length, y0 + (y1 - y0) * at / length),
                     (x0 + (x1 - x0) * end / length, y0 + (y1 - y0) * end / length)])  # fmt: skip
        at += period
    return runs


def _vertical(image: Any, text: Text) -> None:
    from PIL import Image, ImageDraw

    face = font(text.size)
    up, down = face.getmetrics()
    length = round(face.getlength(text.text))
    mask = Image.new("L", (length + 2, up + down))
    ImageDraw.Draw(mask).text((1, up), text.text, fill=255, font=face, anchor="ls")
    mask = mask.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise: the baseline is column `up`
    left = round(text.x) - up
    top = {"start": round(text.y) - mask.height, "middle": round(text.y - mask.height / 2), "end": round(text.y)}[
        text.anchor
    ]
    image.paste(text.color, (left, top, left + mask.width, top + mask.height), mask)
