"""``hookrun install`` and ``uninstall``: the file side, around the pure ``merge``.

Each verb computes the new text from a plain read; only if a byte would change does it take
the lock, read again, compute again and write. The first write that changes a file without
hookrun entries keeps that file as ``<file>.hookrun-backup``; uninstall deletes the backup
once the file holds exactly those bytes again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hookswarm.executor import config as configuration
from hookswarm.lib.errors import SettingsError
from hookswarm.settings import entries, files, merge
from hookswarm.settings.document import Document, decode, parse
from hookswarm.settings.merge import Change, Merged


@dataclass(frozen=True, slots=True)
class Written:
    """What happened on disk."""

    changed: bool = False
    deleted: bool = False
    backup: str = ""  # the backup's path while one exists
    backup_written: bool = False
    backup_removed: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of install or uninstall, for people and for ``--json``."""

    command: str
    scope: str
    settings: str
    changes: tuple[Change, ...]
    written: Written
    config: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "scope": self.scope, "settings": self.settings, "config": self.config or None,
            "changed": self.written.changed, "deleted": self.written.deleted,
            "backup": self.written.backup or None,
            "backup_written": self.written.backup_written,
            "backup_removed": self.written.backup_removed,
            "entries": [change_json(c) for c in self.changes],
        }


def change_json(change: Change) -> dict[str, Any]:
    handler = change.group["hooks"][0] if change.group else {}
    return {"event": change.event, "action": change.action,
            "matcher": change.group.get("matcher", "") if change.group else None,
            "command": handler.get("command"), "timeout": handler.get("timeout")}


def install(*, scope: str, project: str, environ: Mapping[str, str], config_path: str | None,
            executable: str | None = None) -> Report:
    """Give every event hookrun.toml uses exactly one ``hookrun run`` entry in the scope's file."""
    found = configuration.find(config_path, environ=environ, cwd=project)
    config = configuration.load(found)
    wanted = entries.desired(config, executable=executable or entries.hookrun_executable(),
                             config_path=os.path.abspath(config_path) if config_path else None)
    path = files.settings_path(scope, project=project, environ=environ)
    merged, written = _edit(path, lambda data, text: merge.install(
        text, wanted, path=path, original=reference(path, data, text)))
    return Report("install", scope, path, merged.changes, written, config=found)


def uninstall(*, scope: str, project: str, environ: Mapping[str, str]) -> Report:
    """Remove every hookrun entry from the scope's file, restoring the original bytes."""
    path = files.settings_path(scope, project=project, environ=environ)
    merged, written = _edit(path, lambda data, text: merge.uninstall(
        text, path=path, original=original(path)) if data is not None else Merged(None, ()))
    return Report("uninstall", scope, path, merged.changes, _tidy_backup(path, written))


def _edit(path: str, compute: Callable[[bytes | None, str], Merged]) -> tuple[Merged, Written]:
    """Compute the new text; only when it differs, lock, compute again from a fresh read, save.

    A broken file or an edit that changes nothing therefore takes no lock and creates no
    directory.
    """
    data, text = load(path)
    merged = compute(data, text)
    if data is None and merged.text == "":
        merged = Merged(None, merged.changes)  # nothing to write into a file that is not there
    if _encoded(merged) == data:
        backup = files.backup_path(path)
        return merged, Written(backup=backup if os.path.exists(backup) else "")
    with files.locked(path):
        data, text = load(path)
        merged = compute(data, text)
        return merged, save(path, data, merged, pristine=pristine(text, path))


def load(path: str) -> tuple[bytes | None, str]:
    """The file's bytes (None if missing) and text; a file that does not parse raises."""
    data = files.read(path)
    text = decode(data, path) if data is not None else ""
    parse(text, path)
    return data, text


def original(path: str) -> Document | None:
    """The backup of the file as it was before hookrun first changed it, if usable."""
    data = files.read(files.backup_path(path))
    if data is None:
        return None
    try:
        return parse(decode(data, path), path)
    except SettingsError:  # a damaged backup only costs the restoration of empty containers
        return None


def reference(path: str, data: bytes | None, text: str) -> Document | None:
    """The file before hookrun: the backup, or the file itself while it has no entry yet."""
    backup = original(path)
    if backup is not None or data is None or not pristine(text, path):
        return backup
    return parse(text, path)


def pristine(text: str, path: str) -> bool:
    """Does the file hold no hookrun entry yet, so that it is the original to back up?"""
    return not any(merge.hookrun_groups(parse(text, path)))


def save(path: str, data: bytes | None, merged: Merged, *, pristine: bool) -> Written:
    """Write the merged text if it differs; back up an original (pristine) file first."""
    new = _encoded(merged)
    backup = files.backup_path(path)
    if new == data:
        return Written(backup=backup if os.path.exists(backup) else "")
    wrote_backup = data is not None and pristine and not os.path.exists(backup)
    if wrote_backup and data is not None:
        files.write(backup, data, like=path)
    if new is None:
        files.remove(path)
    else:
        files.write(path, new)
    return Written(changed=True, deleted=new is None,
                   backup=backup if os.path.exists(backup) else "", backup_written=wrote_backup)


def _encoded(merged: Merged) -> bytes | None:
    return merged.text.encode() if merged.text is not None else None


def _tidy_backup(path: str, written: Written) -> Written:
    """Drop the backup when the file holds exactly its bytes again: nothing left to undo."""
    if not written.backup or files.read(written.backup) != files.read(path):
        return written
    files.remove(written.backup)
    return Written(changed=written.changed, deleted=written.deleted, backup_removed=True)


def label(path: str, project: str) -> str:
    """A path as people read it: relative inside the project, absolute elsewhere."""
    inside = os.path.abspath(path).startswith(os.path.abspath(project) + os.sep)
    return os.path.relpath(path, project) if inside else path
