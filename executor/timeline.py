"""Drawing hook runs as timelines: bars in the terminal, and the same picture as SVG."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from collections.abc import Sequence

_GLYPH = {"ok": "█", "blocked": "▓", "cancelled": "░", "skipped": " "}
_COLOUR = {"ok": "#4c9f70", "blocked": "#d08c2c", "cancelled": "#b0b0b0", "skipped": "#e0e0e0"}
_FAILED_GLYPH, _FAILED_COLOUR = "▒", "#c8453c"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text for an SVG element or a double-quoted attribute; characters XML forbids become '?'."""
    return escape(_NOT_XML.sub("?", text), {'"': "&quot;"})


class Bar(NamedTuple):
    """One hook's span, in seconds from the start of its run."""

    name: str
    start: float
    end: float
    status: str


def text(bars: Sequence[Bar], *, width: int = 60, title: str = "") -> str:
    """Bars scaled to ``width`` columns, one line per hook, with its span in ms."""
    span = max((bar.end for bar in bars), default=0.0) or 1e-9
    label = max((len(bar.name) for bar in bars), default=4)
    lines = [title] if title else []
    for bar in bars:
        first = int(bar.start / span * width)
        last = max(first + 1, round(bar.end / span * width))
        glyph = _GLYPH.get(bar.status, _FAILED_GLYPH)
        track = " " * first + glyph * (last - first)
        lines.append(f"{bar.name:<{label}} |{track:<{width}}| "
                     f"{bar.start * 1000:7.1f} → {bar.end * 1000:7.1f} ms  {bar.status}")
    lines.append(f"{'':<{label}}  0 ms{'':>{max(0, width - 12)}}{span * 1000:.1f} ms")
    return "\n".join(lines)


def svg(bars: Sequence[Bar], *, title: str = "") -> str:
    """A standalone SVG: one labelled bar per hook on a millisecond axis."""
    span = max((bar.end for bar in bars), default=0.0) or 1e-9
    label_w, plot_w, row_h, top = 180, 640, 22, 40
    height = top + row_h * len(bars) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 120}" '
             f'height="{height}" font-family="monospace" font-size="12">',
             f'<text x="8" y="20" font-size="14">{_xml(title)}</text>']
    for row, bar in enumerate(bars):
        y = top + row * row_h
        x = label_w + bar.start / span * plot_w
        w = max(1.0, (bar.end - bar.start) / span * plot_w)
        colour = _COLOUR.get(bar.status, _FAILED_COLOUR)
        parts += [
            f'<text x="8" y="{y + 14}">{_xml(bar.name)}</text>',
            f'<rect class="bar" data-hook="{_xml(bar.name)}" x="{x:.1f}" y="{y + 3}" '
            f'width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
            f'<title>{_xml(bar.name)}: {(bar.end - bar.start) * 1000:.1f} ms '
            f'({_xml(bar.status)})</title></rect>',
            f'<text x="{x + w + 4:.1f}" y="{y + 14}">{(bar.end - bar.start) * 1000:.1f} ms'
            f'</text>',
        ]
    axis_y = top + row_h * len(bars) + 16
    parts += [f'<text x="{label_w}" y="{axis_y}">0 ms</text>',
              f'<text x="{label_w + plot_w - 40}" y="{axis_y}">{span * 1000:.1f} ms</text>',
              "</svg>"]
    return "\n".join(parts) + "\n"
