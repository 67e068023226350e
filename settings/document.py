"""A settings file as its exact text plus the spans of its JSON values.

Edits splice new text in at those spans and never re-serialize what they do not own, so
every other key keeps its bytes: order, indentation, escapes, unicode, trailing newline.
"""

from __future__ import annotations

import json
import json.decoder
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookswarm.lib.errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Callable

BOM = "\ufeff"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")

Path = tuple[str, ...]
# The C string scanner behind json.loads: the decoded string and the index after its quote.
scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Node:
    """One JSON value: ``kind`` is "object", "array" or "scalar"; ``end`` is exclusive."""

    kind: str
    start: int
    end: int
    members: tuple[Member, ...] = ()
    items: tuple[Node, ...] = ()

    def get(self, key: str) -> Member | None:
        """The member named ``key``; with duplicates the last, as JSON.parse keeps it."""
        found = [m for m in self.members if m.key == key]
        return found[-1] if found else None

    def index_of(self, key: str) -> int:
        """The position of the member ``get(key)`` returns."""
        member = self.get(key)
        return next(i for i, m in enumerate(self.members) if m is member)

    def children(self) -> tuple[Span, ...]:
        return self.members if self.kind == "object" else self.items

    @property
    def empty(self) -> bool:
        return not self.children()


@dataclass(frozen=True, slots=True)
class Member:
    """``"key": value`` inside an object; ``start`` is the key's opening quote."""

    key: str
    start: int
    key_end: int
    value: Node

    @property
    def end(self) -> int:
        return self.value.end


Span = Node | Member


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed settings file; ``root`` is None for a blank file (which means ``{}``)."""

    path: str
    text: str
    root: Node | None

    def find(self, path: Path) -> Node | None:
        """The object or array at ``path`` (keys from the root), or None."""
        node = self.root
        for key in path:
            member = node.get(key) if node is not None and node.kind == "object" else None
            node = member.value if member else None
        return node

    def value(self, node: Node) -> Any:
        return json.loads(self.text[node.start:node.end])

    def inner(self, node: Node) -> str:
        """The text between a container's brackets."""
        return self.text[node.start + 1:node.end - 1]


def parse(text: str, path: str) -> Document:
    """Parse settings text; a file that is not a JSON object raises SettingsError."""
    body = " " + text[1:] if text.startswith(BOM) else text  # same offsets, BOM as blank
    if not body.strip():
        return Document(path, text, None)
    try:
        json.loads(body)
        root = _Scanner(body, path).document()
    except json.JSONDecodeError as exc:
        raise _invalid(path, exc.lineno, exc.colno, exc.msg) from None
    except RecursionError:
        raise SettingsError(f"{path}: nested too deeply to edit safely; nothing was "
                            "changed") from None
    if root.kind != "object":
        raise SettingsError(f"{path}: the settings must be a JSON object ({{...}}); "
                            "nothing was changed")
    return Document(path, text, root)


def decode(data: bytes, path: str) -> str:
    """Settings bytes as text; bytes that are not UTF-8 raise SettingsError with the spot."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _invalid(path, line, column, "not UTF-8 text") from None


def _invalid(path: str, line: int, column: int, message: str) -> SettingsError:
    return SettingsError(f"{path}: line {line}, column {column}: not valid JSON ({message}); "
                         "fix the file and run again (nothing was changed)")


class _Scanner:
    """Spans of a text that ``json.loads`` has already accepted."""

    def __init__(self, text: str, path: str) -> None:
        self._text = text
        self._path = path

    def document(self) -> Node:
        return self._value(self._skip(0))

    def _skip(self, pos: int) -> int:
        match = _WHITESPACE.match(self._text, pos)
        return match.end() if match else pos

    def _value(self, pos: int) -> Node:
        char = self._text[pos]
        if char == "{":
            return self._object(pos)
        if char == "[":
            return self._array(pos)
        if char == '"':
            return Node("scalar", pos, scanstring(self._text, pos + 1)[1])
        match = _SCALAR.match(self._text, pos)
        if match is None:  # NaN and Infinity: Python reads them, JSON.parse does not
            line = self._text.count("\n", 0, pos) + 1
            column = pos - (self._text.rfind("\n", 0, pos) + 1) + 1
            raise _invalid(self._path, line, column, "NaN and Infinity are not JSON")
        return Node("scalar", pos, match.end())

    def _object(self, start: int) -> Node:
        members: list[Member] = []
        pos = self._skip(start + 1)
        while self._text[pos] != "}":
            key, key_end = scanstring(self._text, pos + 1)
            value = self._value(self._skip(self._skip(key_end) + 1))
            members.append(Member(key, pos, key_end, value))
            pos = self._after_child(value.end)
        return Node("object", start, pos + 1, members=tuple(members))

    def _array(self, start: int) -> Node:
        items: list[Node] = []
        pos = self._skip(start + 1)
        while self._text[pos] != "]":
            items.append(self._value(pos))
            pos = self._after_child(items[-1].end)
        return Node("array", start, pos + 1, items=tuple(items))

    def _after_child(self, end: int) -> int:
        pos = self._skip(end)
        return self._skip(pos + 1) if self._text[pos] == "," else pos
