"""Splicing text into and out of JSON containers, each edit the exact inverse of another.

``append`` inserts ``,<gap><item>`` right after the last child, where ``<gap>`` copies how the
container already separates its children; ``remove`` of that child deletes the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hookswarm.settings.style import Style, is_multiline, line_indent

if TYPE_CHECKING:
    from hookswarm.settings.document import Node

Render = Callable[[str | None], str]  # base indentation (None: one line) -> the item's text


def append(text: str, container: Node, render: Render, style: Style) -> str:
    """Add an item after the container's last child, laid out like its siblings."""
    children = container.children()
    if not children:
        return fill(text, container, render, style)
    last = children[-1]
    gap = _gap(text, container, style)
    item = render(gap.rsplit("\n", 1)[1] if "\n" in gap else None)
    return text[:last.end] + "," + gap + item + text[last.end:]


def fill(text: str, container: Node, render: Render, style: Style) -> str:
    """Put the first item into an empty container."""
    if not style.multiline:
        return set_inner(text, container, render(None))
    outer = line_indent(text, container.start)
    base = outer + style.indent
    inner = style.newline + base + render(base) + style.newline + outer
    return set_inner(text, container, inner)


def remove(text: str, container: Node, index: int) -> str:
    """Delete child ``index`` and one separator; the last child leaves ``[]`` / ``{}``."""
    children = container.children()
    if len(children) == 1:
        return set_inner(text, container, "")
    if index > 0:
        return text[:children[index - 1].end] + text[children[index].end:]
    return text[:children[0].start] + text[children[1].start:]


def replace(text: str, node: Node, new: str) -> str:
    return text[:node.start] + new + text[node.end:]


def set_inner(text: str, container: Node, inner: str) -> str:
    return text[:container.start + 1] + inner + text[container.end - 1:]


def base_of(text: str, node: Node) -> str | None:
    """The indentation a replacement for ``node`` continues at (None: it sits on one line)."""
    return line_indent(text, node.start) if is_multiline(text, node) else None


def _gap(text: str, container: Node, style: Style) -> str:
    """What separates children here: the text after the comma before the last child."""
    children = container.children()
    if len(children) >= 2:
        between = text[children[-2].end:children[-1].start]
        return between[between.index(",") + 1:]
    leading = text[container.start + 1:children[0].start]
    return leading or style.item_sep[1:]


def taken_out(text: str, container: Node, index: int) -> tuple[str, str]:
    """Where ``remove(text, container, index)`` cuts and the text it cuts: ``(at, cut)``.

    ``at`` is "inner" (the only child: the whole inside goes), "after" (the separator before
    the child and the child) or "before" (the first child and the separator after it).
    """
    children = container.children()
    if len(children) == 1:
        return "inner", text[container.start + 1:container.end - 1]
    if index > 0:
        return "after", text[children[index - 1].end:children[index].end]
    return "before", text[children[0].start:children[1].start]


def put_back(text: str, container: Node, index: int, at: str, cut: str) -> str | None:
    """The exact inverse of ``remove``, given what ``taken_out`` said; None if it cannot fit."""
    children = container.children()
    if at == "inner" and text[container.start + 1:container.end - 1] == "":
        return set_inner(text, container, cut)
    if at == "after" and 0 < index <= len(children):
        return text[:children[index - 1].end] + cut + text[children[index - 1].end:]
    if at == "before" and index == 0 and children:
        return text[:children[0].start] + cut + text[children[0].start:]
    return None
