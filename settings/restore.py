"""Putting back what ``hookrun import`` cut out of a settings file; pure text in, text out.

Each cut is undone by the exact inverse of the edit that made it, last cut first, so a file
nothing else touched comes back byte for byte. A cut whose list is no longer what the cut
left (edited, moved, removed) is put back as a matcher group of its own at the end of its
event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookswarm.lib.errors import SettingsError
from hookswarm.settings import edit, merge
from hookswarm.settings.document import Document, Node, parse
from hookswarm.settings.style import detect

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hookswarm.settings.manifest import Cut, Imported


@dataclass(frozen=True, slots=True)
class Restored:
    """The settings text with the imported hooks back; how many went back where they were."""

    text: str
    exact: int = 0
    moved: int = 0


def put_back(text: str, imports: Sequence[Imported], *, path: str) -> Restored:
    """Undo the cuts of ``imports``, the latest import and its latest cut first."""
    exact = moved = 0
    for imported in reversed(imports):
        for cut in reversed(imported.cuts):
            text, in_place = _one(text, cut, path)
            exact, moved = exact + in_place, moved + (not in_place)
    return Restored(text, exact, moved)


def emptied_lists(imports: Sequence[Imported]) -> frozenset[tuple[str, ...]]:
    """Event lists a cut left empty: uninstall keeps them, as ``[]``, for the cut to refill."""
    return frozenset(("hooks", c.event) for i in imports for c in i.cuts
                     if c.group is None and c.at == "inner")


def _one(text: str, cut: Cut, path: str) -> tuple[str, bool]:
    document = parse(text, path)
    container = _container(document, cut)
    if container is not None and document.value(container) == cut.rest:
        new = edit.put_back(text, container, cut.index, cut.at, cut.text)
        if new is not None and _holds(new, cut, path):
            return new, True
    return _as_new_group(document, cut), False


def _container(document: Document, cut: Cut) -> Node | None:
    """The list the cut was made in: ``hooks[event]`` or ``hooks[event][group].hooks``."""
    events = document.find(("hooks", cut.event))
    if events is None or events.kind != "array":
        return None
    if cut.group is None:
        return events
    if cut.group >= len(events.items) or events.items[cut.group].kind != "object":
        return None
    handlers = events.items[cut.group].get("hooks")
    return handlers.value if handlers and handlers.value.kind == "array" else None


def _holds(text: str, cut: Cut, path: str) -> bool:
    """Does the text parse, with the cut's value back at its index?"""
    try:
        document = parse(text, path)
    except SettingsError:
        return False
    container = _container(document, cut)
    return (container is not None and cut.index < len(container.items)
            and document.value(container.items[cut.index]) == cut.value)


def _as_new_group(document: Document, cut: Cut) -> str:
    value = cut.value
    if cut.group is not None:
        value = {"matcher": cut.matcher, "hooks": [value]} if cut.matcher else {"hooks": [value]}
    return merge.add(document, cut.event, value, detect(document))
