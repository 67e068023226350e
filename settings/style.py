"""How a settings file is laid out, so new text looks like the text around it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hookswarm.settings.document import Document, Node


@dataclass(frozen=True, slots=True)
class Style:
    """One indentation level, the line ending, the separators, and whether it spreads out.

    ``multiline`` decides how an empty container is filled: a file written on one line stays
    on one line.
    """

    indent: str = "  "
    newline: str = "\n"
    key_sep: str = ": "
    item_sep: str = ", "
    multiline: bool = True

    def render(self, value: Any, *, base: str | None) -> str:
        """``value`` as JSON; ``base=None`` on one line, else multi-line continuing at ``base``."""
        if base is None:
            return json.dumps(value, ensure_ascii=False, separators=(self.item_sep, self.key_sep))
        text = json.dumps(value, ensure_ascii=False, indent=self.indent,
                          separators=(",", self.key_sep))
        return text.replace("\n", self.newline + base)

    def render_member(self, key: str, value: Any, *, base: str | None) -> str:
        return json.dumps(key, ensure_ascii=False) + self.key_sep + self.render(value, base=base)


DEFAULT = Style()


def detect(document: Document) -> Style:
    """The file's style; what a file does not show falls back to json.dumps(indent=2)."""
    text = document.text
    root = document.root
    if root is None:
        return DEFAULT
    newline = "\r\n" if "\r\n" in text else "\n"
    key_sep = _key_sep(text, root) or DEFAULT.key_sep
    item_sep = ", " if " " in key_sep else ","
    return Style(indent=_indent(text, root), newline=newline, key_sep=key_sep,
                 item_sep=item_sep, multiline=root.empty or is_multiline(text, root))


def line_indent(text: str, pos: int) -> str:
    """The blanks that start the line holding ``pos``."""
    start = text.rfind("\n", 0, pos) + 1
    end = start
    while end < pos and text[end] in " \t":
        end += 1
    return text[start:end]


def is_multiline(text: str, node: Node) -> bool:
    return "\n" in text[node.start:node.end]


def _key_sep(text: str, node: Node) -> str | None:
    for member in node.members:
        return text[member.key_end:member.value.start]
    for child in node.children():
        value = child if isinstance(child, Node) else child.value
        found = _key_sep(text, value)
        if found is not None:
            return found
    return None


def _indent(text: str, node: Node) -> str:
    """The step between a multi-line container's line and its first child's line."""
    children = node.children()
    if children and is_multiline(text, node):
        outer = line_indent(text, node.start)
        inner = line_indent(text, children[0].start)
        if "\n" in text[node.start:children[0].start] and inner.startswith(outer):
            return inner[len(outer):]
    for child in children:
        value = child if isinstance(child, Node) else child.value
        if value.kind != "scalar":
            return _indent(text, value)
    return DEFAULT.indent
