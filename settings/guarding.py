"""The file side of ``--agent-guard`` (and the guards after it): hookrun.toml gains or loses
a guard's block under the lock of its directory; the settings entries follow via install."""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

from hookswarm.lib.errors import ConfigError
from hookswarm.settings import files, guards, migration

if TYPE_CHECKING:
    from collections.abc import Sequence


def add(path: str, names: Sequence[str], mode: str) -> bytes | None:
    """Put the guards' blocks into hookrun.toml; the bytes before (None: no file), or the
    bytes now when nothing changed."""
    with files.locked(path):
        data = files.read(path)
        text = _text(data, path)
        new = text
        for name in names:
            new = guards.add(new, name, mode)
        if new != text:
            _check(text, new, path, names)
            files.write(path, new.encode())
        return data


def put_back(path: str, data: bytes | None) -> None:
    """Undo ``add`` after the settings could not be installed."""
    with files.locked(path):
        if data is None:
            files.remove(path)
        else:
            files.write(path, data)


def remove(path: str, names: Sequence[str]) -> tuple[str, ...]:
    """Take the guards' blocks out of hookrun.toml (a file left empty goes); which were there."""
    if not any(n in names for n in guards.installed(_text(files.read(path), path))):
        return ()  # no lock, so no directory is made
    with files.locked(path):
        data = files.read(path)
        text = _text(data, path)
        present = tuple(n for n in guards.installed(text) if n in names)
        if present:
            for name in present:
                text = guards.remove(text, name)
            if text.strip():
                files.write(path, text.encode())
            else:
                files.remove(path)
        return present


def _text(data: bytes | None, path: str) -> str:
    try:
        return data.decode("utf-8") if data is not None else ""
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path) from None


def _check(text: str, new: str, path: str, names: Sequence[str]) -> None:
    """A guard's hook written by hand is not doubled. (Install then loads the whole config,
    and puts hookrun.toml back if it does not load.)"""
    migration.check_appendable(text, path)
    mine = {hook.name: name for name in names for hook in guards.GUARDS[name].hooks}
    for table in _tables(_without(text, names), path):
        name = str(table.get("name"))
        if name in mine:
            raise ConfigError(f"already has a hook named '{name}' outside the block install "
                              "writes: remove or rename it, then run hookrun install "
                              f"--{mine[name]} again (nothing was changed)", path=path)


def _tables(text: str, path: str) -> list[dict[str, object]]:
    try:
        hooks = tomllib.loads(text).get("hooks", [])
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None
    return [h for h in hooks if isinstance(h, dict)] if isinstance(hooks, list) else []


def _without(text: str, names: Sequence[str]) -> str:
    for name in names:
        text = guards.remove(text, name)
    return text
