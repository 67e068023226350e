"""``hookrun import`` as a plan: which native hooks move, what hookrun.toml and settings become.

Everything here is pure: the caller reads the files, and writes the plan's texts with
``--write``. Claude Code runs one copy of a command string per event however often it is
configured (claude-code-hooks.md §3), so the copies become a single hookrun hook.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError, SettingsError
from hookswarm.lib.hookconfig import Config, HookSpec
from hookswarm.lib.protocol import ON_FAILURE_IGNORED
from hookswarm.settings import edit, merge, native
from hookswarm.settings.document import Document, parse
from hookswarm.settings.entries import Entry, combined_matcher, matcher_covers
from hookswarm.settings.manifest import Cut

if TYPE_CHECKING:
    from hookswarm.settings.merge import Change
    from hookswarm.settings.native import Native

EntriesFor = Callable[[Config], Sequence[Entry]]
IMPORTED_BY = "by `hookrun import`"  # ends the comment above what import appends


@dataclass(frozen=True, slots=True)
class Moved:
    """One hookrun hook made from one or more native copies of a command."""

    name: str
    event: str
    command: str
    matcher: str
    timeout: float
    on_error: str
    sources: tuple[Native, ...]
    notes: tuple[str, ...] = ()
    existing: bool = False  # a hook of hookrun.toml, ``name``, covers it: nothing is added


@dataclass(frozen=True, slots=True)
class Kept:
    """A native hook that stays in the settings file, and why."""

    hook: Native
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``hookrun import`` would do; ``config_before`` is None when the file is new."""

    settings: str
    config: str
    events: tuple[str, ...]
    moved: tuple[Moved, ...]
    kept: tuple[Kept, ...]
    settings_before: str
    settings_after: str
    config_before: str | None
    config_after: str
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    cuts: tuple[Cut, ...] = ()  # in the order made; uninstall puts them back in reverse

    @property
    def changed(self) -> bool:
        return (self.settings_after != self.settings_before
                or self.config_after != (self.config_before or ""))

    @property
    def appended(self) -> str:
        return self.config_after[len(self.config_before or ""):]


def plan(settings: Document, config_text: str | None, *, config_path: str,
         events: Sequence[str] | None, entries_for: EntriesFor, original: Document | None,
         others: Mapping[str, Document] | None = None, source: str = "") -> Plan:
    """Plan moving the command hooks of ``events`` (None: every event with one)."""
    existing = _config(config_text, config_path)
    found = list(native.handlers(settings))
    chosen = _chosen_events(found, events)
    candidates = [h for h in found if h.event in chosen]
    kept = tuple(Kept(h, reason) for h in candidates if (reason := native.stays_native(h)))
    movable = [h for h in candidates if not native.stays_native(h)]
    moved = _name(_merge_copies(movable, existing, native.default_timeouts(found)), existing)
    added = [m for m in moved if not m.existing]
    config_after = _append(config_text, added, existing, source or settings.path)
    _check_faithful(settings.path, added, config_after[len(config_text or ""):])
    new_config = _config(config_after, config_path)
    stripped, cuts = _strip(settings, [s for m in moved for s in m.sources])
    merged = merge.install(stripped, entries_for(new_config), path=settings.path,
                           original=original)
    assert merged.text is not None
    return Plan(settings.path, config_path, chosen, moved, kept, settings.text, merged.text,
                config_text, config_after, merged.changes,
                (*_notes(moved, others or {}), *merged.notes), cuts)


def parse_events(text: str | None) -> tuple[str, ...] | None:
    """``--events A,B`` as event names; unknown names raise SettingsError."""
    if text is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in configuration.EVENTS]
    if unknown or not names:
        raise SettingsError(f"unknown event {', '.join(map(repr, unknown)) or '(none given)'}; "
                            "--events takes Claude Code event names such as "
                            "PreToolUse,UserPromptSubmit")
    return names


def _config(text: str | None, path: str) -> Config:
    if not text:
        return Config(path=path, timeout=configuration.DEFAULT_TIMEOUT, on_error="allow",
                      hooks=())
    try:
        return configuration.parse(tomllib.loads(text), path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None


def _chosen_events(found: Sequence[Native], events: Sequence[str] | None) -> tuple[str, ...]:
    """``--events``, else every event with a hook: only command hooks move, and the others
    are listed as staying native."""
    if events is not None:
        return tuple(events)
    return tuple(dict.fromkeys(h.event for h in found))


def _merge_copies(movable: Sequence[Native], existing: Config,
                  defaults: Mapping[str, float]) -> list[Moved]:
    """One Moved per (event, command), at the place of its first copy."""
    copies: dict[tuple[str, str], list[Native]] = {}
    for hook in movable:
        copies.setdefault((hook.event, hook.command), []).append(hook)
    return [_against(_moved(group, defaults), existing) for group in copies.values()]


def _moved(copies: Sequence[Native], defaults: Mapping[str, float]) -> Moved:
    first = copies[0]
    timeouts = [native.timeout(h, defaults) for h in copies]
    notes = [*_copy_notes(copies), *_timeout_notes(timeouts), *_handler_notes(copies)]
    return Moved(name="", event=first.event, command=first.command,
                 matcher=_matcher(copies), timeout=max(t for t, _ in timeouts),
                 on_error="block" if any(native.blocks_on_failure(h) for h in copies)
                 else "allow", sources=tuple(copies), notes=tuple(notes))


def _against(item: Moved, existing: Config) -> Moved:
    """Nothing to add when a hook of hookrun.toml already runs the command wherever, as long
    and as strictly as the native copies did; otherwise both stay, and the note says so."""
    same = [h for h in existing.hooks if (h.event, h.command) == (item.event, item.command)]
    cover = next((h for h in same if not _shortfalls(h, item)), None)
    if cover is not None:
        note = (f"hookrun.toml already runs this command as '{cover.name}'; the native copy is "
                "removed and nothing is added")
        return replace(item, name=cover.name, notes=(*item.notes, note), existing=True)
    return replace(item, notes=(*item.notes, *(_twice_note(h, item) for h in same)))


def _shortfalls(hook: HookSpec, item: Moved) -> list[str]:
    """Where the hookrun.toml hook falls short of the native copies it would replace."""
    shortfalls = []
    if not matcher_covers(item.event, hook.matcher, item.matcher):
        shortfalls.append(f"matcher ({hook.matcher!r})")
    if hook.timeout < item.timeout:
        shortfalls.append(f"timeout ({hook.timeout:g} s)")
    if item.on_error == "block" and hook.on_error != "block":
        shortfalls.append(f"on_error ({hook.on_error!r})")
    return shortfalls


def _twice_note(hook: HookSpec, item: Moved) -> str:
    *first, last = _shortfalls(hook, item)
    differences = f"{', '.join(first)} and {last}" if first else last
    return (f"hookrun.toml also runs this command as '{hook.name}' with a different "
            f"{differences}; imported as a hook of its own, so where both match, the command "
            "now runs twice: merge the two by hand")


def _matcher(copies: Sequence[Native]) -> str:
    matchers = list(dict.fromkeys(h.matcher for h in copies))
    return matchers[0] if len(matchers) == 1 else combined_matcher(copies[0].event, matchers)


def _copy_notes(copies: Sequence[Native]) -> list[str]:
    if len(copies) == 1:
        return []
    return [f"{len(copies)} identical native copies (Claude Code ran them once): one hookrun "
            "hook with their matchers combined, the longest timeout and the strictest on_error"]


def _timeout_notes(timeouts: Sequence[tuple[float, bool]]) -> list[str]:
    if all(defaulted for _, defaulted in timeouts):
        return [f"no timeout in settings: Claude Code's default of {timeouts[0][0]:g} s"]
    return []


def _handler_notes(copies: Sequence[Native]) -> list[str]:
    notes = []
    if any("statusMessage" in h.handler for h in copies):
        notes.append("statusMessage dropped: hookrun shows no spinner text per hook")
    if any(h.handler.get("onFailure") == "block" and h.event in ON_FAILURE_IGNORED
           for h in copies):
        notes.append(f"onFailure is ignored on {copies[0].event} by Claude Code, so on_error "
                     "stays \"allow\"")
    return notes


def _name(moved: Sequence[Moved], existing: Config) -> tuple[Moved, ...]:
    fresh = [m for m in moved if not m.existing]
    names = iter(native.names_for([(m.event, m.command) for m in fresh],
                                  {h.name for h in existing.hooks}))
    return tuple(m if m.existing else replace(m, name=next(names)) for m in moved)


def _append(text: str | None, moved: Sequence[Moved], existing: Config, source: str) -> str:
    """hookrun.toml with one ``[[hooks]]`` table per moved hook added at the end."""
    before = text or ""
    if not moved:
        return before
    check_appendable(before, existing.path)
    lines = [f"# imported from {source} {IMPORTED_BY}"]
    for item in moved:
        lines += ["", *toml_table(item, default_on_error=existing.on_error)]
    lead = "" if not before else ("\n" if before.endswith("\n") else "\n\n")
    return before + lead + "\n".join(lines) + "\n"


def _check_faithful(path: str, added: Sequence[Moved], appended: str) -> None:
    """Refuse, naming the setting, when a moved hook would not read back as it was read:
    text that is not valid Unicode (a lone surrogate such as "\\ud800" is valid JSON), a
    number TOML cannot hold as JSON had it."""
    for item in added:
        for field, value in (("matcher", item.matcher), ("command", item.command)):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise _unwritable(path, item, field, f"holds {value[exc.start:exc.end]!r}, "
                                  "which is not valid Unicode") from None
    tables = tomllib.loads(appended).get("hooks", []) if added else []
    for item, table in zip(added, tables, strict=True):
        wrote: dict[str, object] = {"matcher": item.matcher, "command": item.command,
                                    "timeout": item.timeout}
        for field, expected in wrote.items():
            if table.get(field, "") != expected:
                raise _unwritable(path, item, field, f"{expected!r} reads back as "
                                  f"{table.get(field, '')!r}")


def _unwritable(path: str, item: Moved, field: str, why: str) -> SettingsError:
    source = item.sources[0]
    where = f"hooks.{source.event}[{source.group}]" + (
        "" if field == "matcher" else f".hooks[{source.index}]") + f".{field}"
    return SettingsError(f"{path}: {where} {why}, so hookrun cannot write it back as it was "
                         f"read; fix it in the file, or leave {source.event} out with --events "
                         "(nothing was changed)")


def check_appendable(text: str, path: str) -> None:
    """TOML allows no ``[[hooks]]`` table after ``hooks = [...]``: say so, not "invalid TOML"."""
    try:
        tomllib.loads(text + "\n[[hooks]]\n")
    except tomllib.TOMLDecodeError:
        raise ConfigError("the hooks are an inline array (hooks = [...]), and import can only "
                          "append [[hooks]] tables; convert the inline array to [[hooks]] "
                          "tables first, then run hookrun import again (nothing was changed)",
                          path=path, key="hooks") from None


def toml_table(item: Moved, *, default_on_error: str) -> list[str]:
    lines = ["[[hooks]]", f"name = {toml_string(item.name)}",
             f"event = {toml_string(item.event)}"]
    if item.matcher:
        lines.append(f"matcher = {toml_string(item.matcher)}")
    lines += [f"command = {toml_string(item.command)}", f"timeout = {_number(item.timeout)}"]
    if item.on_error != default_on_error:
        lines.append(f"on_error = {toml_string(item.on_error)}")
    return lines


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that DEL must be escaped too."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _strip(settings: Document, sources: Sequence[Native]) -> tuple[str, tuple[Cut, ...]]:
    """Settings text without the moved handlers (a group they empty goes, its list stays),
    and the cuts that took them out."""
    text = settings.text
    cuts = []
    for hook in sorted(sources, key=lambda h: (_event_order(settings, h.event), h.group,
                                               h.index), reverse=True):
        text, cut = _remove_handler(parse(text, settings.path), hook)
        cuts.append(cut)
    return text, tuple(cuts)


def _event_order(settings: Document, event: str) -> int:
    hooks = merge.hooks_node(settings)
    return hooks.index_of(event) if hooks else 0


def _remove_handler(document: Document, hook: Native) -> tuple[str, Cut]:
    events = document.find(("hooks", hook.event))
    assert events is not None
    group = events.items[hook.group]
    handlers = group.get("hooks")
    assert handlers is not None
    if len(handlers.value.items) > 1 or {m.key for m in group.members} - {"matcher", "hooks"}:
        container, index, number = handlers.value, hook.index, hook.group  # keep the extras
    else:
        container, index, number = events, hook.group, None
    at, text = edit.taken_out(document.text, container, index)
    value = document.value(container)
    cut = Cut(hook.event, number, index, at, text, value.pop(index), value, hook.matcher)
    return edit.remove(document.text, container, index), cut


def _notes(moved: Sequence[Moved], others: Mapping[str, Document]) -> tuple[str, ...]:
    """Copies in other settings files: Claude Code ran them once; now they would run twice."""
    notes = []
    for label, document in others.items():
        commands = {(h.event, h.command) for h in native.handlers(document)}
        for item in moved:
            if (item.event, item.command) in commands:
                notes.append(f"{label} also runs {item.command!r} on {item.event}: Claude Code "
                             f"ran the two copies once, now both run; import that file too "
                             f"(--scope) or remove the copy")
    return tuple(notes)
