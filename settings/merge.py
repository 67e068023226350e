"""Merging hookrun's entries into settings text and taking them out again; pure text in, out.

Only the entries install wrote (``entries.is_installed_group``) are ever updated or removed.
Removal is the exact inverse of insertion. Only a container that install had to fill (an
empty file, ``{}``, ``"hooks": {}``, an empty event list) cannot tell on its own what it
looked like before; ``original`` — the backup of the file as it was before the first install —
answers that, and without it such a container goes away with the entry it held, unless
``keep`` names it (an event list that import emptied and uninstall refills).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookswarm.lib.errors import SettingsError
from hookswarm.settings import edit
from hookswarm.settings.document import BOM, Document, Node, Path, parse
from hookswarm.settings.entries import Entry, is_hookrun_group, is_installed_group
from hookswarm.settings.style import Style, detect

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

ADD, UPDATE, REMOVE, KEEP = "add", "update", "remove", "keep"
CREATED = "{}\n"  # what uninstall leaves of a file that install created from nothing


@dataclass(frozen=True, slots=True)
class Change:
    """What happened to hookrun's entry for one event; ``group`` is the entry afterwards."""

    event: str
    action: str
    group: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Merged:
    """New settings text (None: delete the file) and the changes, in event order."""

    text: str | None
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()


def install(text: str, entries: Sequence[Entry], *, path: str, original: Document | None,
            created: bool = False) -> Merged:
    """Settings text with exactly ``entries`` as install's entries: added, updated or removed.

    ``created``: hookrun made the file, so a file left with nothing in it goes.
    """
    wanted = {entry.event: entry for entry in entries}
    text, gone = remove_groups(text, path=path, original=original,
                               doomed=lambda event, nth: event not in wanted or nth > 0)
    changes = [Change(event, REMOVE) for event in gone if event not in wanted]
    for entry in entries:
        text, action = _put(parse(text, path), entry)
        changes.append(Change(entry.event, action, entry.group()))
    return Merged(_unless_created(text, gone, created), tuple(changes),
                  _hand_written(parse(text, path), wanted))


def uninstall(text: str, *, path: str, original: Document | None, created: bool = False,
              keep: frozenset[Path] = frozenset()) -> Merged:
    """Settings text without any entry install wrote, formatted as before install."""
    new, gone = remove_groups(text, path=path, original=original,
                              doomed=lambda event, nth: True, keep=keep)
    changes = tuple(Change(event, REMOVE) for event in dict.fromkeys(gone))
    return Merged(_unless_created(new, gone, created), changes)


def _unless_created(text: str, gone: Sequence[str], created: bool) -> str | None:
    """None (delete the file) when removing entries left just what install made from nothing."""
    return None if gone and created and text == CREATED else text


def _hand_written(document: Document, wanted: Mapping[str, Entry]) -> tuple[str, ...]:
    """Entries someone wrote by hand that also run ``hookrun run`` for an installed event."""
    hooks = hooks_node(document)
    notes = []
    for member in hooks.members if hooks is not None else ():
        if member.key not in wanted or member.value.kind != "array":
            continue
        for index, node in enumerate(member.value.items):
            group = document.value(node)
            if is_hookrun_group(group) and not is_installed_group(group):
                command = group["hooks"][0]["command"]
                notes.append(f"hooks.{member.key}[{index}] runs {command!r}, written by hand: "
                             "left as it is; if it runs the same hookrun.toml, its hooks run "
                             "twice, so remove it")
    return tuple(notes)


def hookrun_groups(document: Document) -> Iterator[tuple[str, int, int]]:
    """``(event, index, nth)`` of each entry install wrote; ``nth`` counts earlier ones of its
    event."""
    hooks = hooks_node(document)
    if hooks is None:
        return
    for member in hooks.members:
        if hooks.get(member.key) is not member:
            continue  # a duplicate key that JSON.parse overrides
        nth = 0
        for index, group in enumerate(member.value.items):
            if is_installed_group(document.value(group)):
                yield member.key, index, nth
                nth += 1


def hooks_node(document: Document) -> Node | None:
    """The ``hooks`` object, or None; anything else under ``hooks`` cannot be edited safely."""
    member = document.root.get("hooks") if document.root else None
    if member is None:
        return None
    if member.value.kind != "object":
        raise SettingsError(f"{document.path}: 'hooks' must be an object of event lists; fix it "
                            "by hand (nothing was changed)")
    return member.value


def remove_groups(text: str, *, path: str, original: Document | None,
                  doomed: Callable[[str, int], bool],
                  keep: frozenset[Path] = frozenset()) -> tuple[str, list[str]]:
    """Remove the entries ``doomed(event, nth)`` picks; also the events they leave empty,
    except those in ``keep``."""
    gone: list[str] = []
    while True:
        document = parse(text, path)
        target = next(((event, index) for event, index, nth in hookrun_groups(document)
                       if doomed(event, nth)), None)
        if target is None:
            return text, gone
        text = remove_item(document, ("hooks", target[0]), target[1], original, keep)
        gone.append(target[0])


def remove_item(document: Document, path: Path, index: int, original: Document | None,
                keep: frozenset[Path] = frozenset()) -> str:
    """Remove item ``index`` of the list at ``path``; a list it empties is tidied away."""
    container = document.find(path)
    assert container is not None
    if len(container.items) > 1 or path in keep:
        return edit.remove(document.text, container, index)
    return _empty_or_drop(document, path, original)


def _empty_or_drop(document: Document, path: Path, original: Document | None) -> str:
    """The container at ``path`` lost its last child: restore it as it was, or drop it."""
    node = document.find(path)
    assert node is not None
    before = original.find(path) if original else None
    if original is not None and before is not None and before.empty and before.kind == node.kind:
        return edit.set_inner(document.text, node, original.inner(before))
    if not path:
        if original is not None and original.root is None:
            return original.text
        return edit.set_inner(document.text, node, "")
    parent = document.find(path[:-1])
    assert parent is not None
    if len(parent.members) > 1:
        return edit.remove(document.text, parent, parent.index_of(path[-1]))
    return _empty_or_drop(document, path[:-1], original)


def _put(document: Document, entry: Entry) -> tuple[str, str]:
    """Add or update the entry for ``entry.event``."""
    group = entry.group()
    style = detect(document)
    existing = next((index for event, index, _ in hookrun_groups(document)
                     if event == entry.event), None)
    if existing is None:
        return add(document, entry.event, group, style), ADD
    events = document.find(("hooks", entry.event))
    assert events is not None
    node = events.items[existing]
    if document.value(node) == group:
        return document.text, KEEP
    rendered = style.render(group, base=edit.base_of(document.text, node))
    return edit.replace(document.text, node, rendered), UPDATE


def add(document: Document, event: str, group: Mapping[str, Any], style: Style) -> str:
    """Append ``group`` to ``hooks[event]``, creating the list, ``hooks`` or the file's object."""
    if document.root is None:
        bom = BOM if document.text.startswith(BOM) else ""
        return bom + style.render({"hooks": {event: [group]}}, base="") + style.newline
    text = document.text
    hooks = hooks_node(document)
    if hooks is None:
        return edit.append(text, document.root, lambda base: style.render_member(
            "hooks", {event: [group]}, base=base), style)
    events = hooks.get(event)
    if events is None:
        return edit.append(text, hooks, lambda base: style.render_member(
            event, [group], base=base), style)
    if events.value.kind != "array":
        raise SettingsError(f"{document.path}: hooks.{event} must be a list of matcher groups; "
                            "fix it by hand (nothing was changed)")
    return edit.append(text, events.value, lambda base: style.render(group, base=base), style)
