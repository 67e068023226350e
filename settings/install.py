"""``hookrun install`` and ``uninstall``: the file side, around the pure ``merge``.

Each verb computes the new text from a plain read; only if a byte would change does it take
the lock, read again, compute again and write. Before hookrun first writes a file it did not
create, it keeps that file as ``<file>.hookrun-backup``, so no edit (none removes anything
but hookrun's own entries and the hooks import moves) goes without a backup; uninstall deletes
the backup once the file holds exactly those bytes again. What the entries cannot say about
themselves (hookrun created the file; where import took hooks from) is in the manifest.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import HookswarmError, SettingsError
from hookswarm.settings import entries, files, guarding, manifest, merge, restore, serving
from hookswarm.settings.document import Document, decode, parse
from hookswarm.settings.guards import GUARDS
from hookswarm.settings.manifest import Imported, Manifest
from hookswarm.settings.merge import Change, Merged
from hookswarm.settings.migration import IMPORTED_BY

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence


@dataclass(frozen=True, slots=True)
class Written:
    """What happened on disk."""

    changed: bool = False
    deleted: bool = False
    backup: str = ""  # the backup's path while one exists
    backup_written: bool = False
    backup_removed: bool = False


@dataclass(frozen=True, slots=True)
class Edit:
    """A computed change: the new settings text, the manifest after it, and what uninstall put
    back of earlier imports."""

    merged: Merged
    manifest: Manifest
    restored: restore.Restored | None = None
    undone: tuple[Imported, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of install or uninstall, for people and for ``--json``."""

    command: str
    scope: str
    settings: str
    changes: tuple[Change, ...]
    written: Written
    config: str = ""
    notes: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()  # guards whose block install added / uninstall removed
    mode: str = ""
    restored: int = 0  # imported hooks put back in their place...
    regrouped: int = 0  # ...and as groups of their own, their place having changed

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "scope": self.scope, "settings": self.settings, "config": self.config or None,
            "changed": self.written.changed, "deleted": self.written.deleted,
            "backup": self.written.backup or None,
            "backup_written": self.written.backup_written,
            "backup_removed": self.written.backup_removed,
            "entries": [change_json(c) for c in self.changes],
            "restored": self.restored, "regrouped": self.regrouped, "notes": list(self.notes),
            "guards": list(self.guards), "mode": self.mode or None,
        }


def change_json(change: Change) -> dict[str, Any]:
    handler = change.group["hooks"][0] if change.group else {}
    described = {"event": change.event, "action": change.action,
                 "matcher": change.group.get("matcher", "") if change.group else None,
                 "command": handler.get("command"), "timeout": handler.get("timeout")}
    return {**described, "url": handler["url"]} if "url" in handler else described


def install(*, scope: str, project: str, environ: Mapping[str, str], config_path: str | None,
            executable: str | None = None, guards: Sequence[str] = (),
            mode: str = "block", serve: bool = False) -> Report:
    """Give every event hookrun.toml uses exactly one ``hookrun run`` entry in the scope's file
    (``serve``: http entries for ``hookrun serve`` where they can say everything); first add
    the ``guards``' hooks to hookrun.toml (taken out again if that fails)."""
    found = configuration.find(config_path, environ=environ, cwd=project)
    if not guards:
        return _install(scope=scope, project=project, environ=environ, config_path=config_path,
                        executable=executable, found=found, serve=serve)
    load(files.settings_path(scope, project=project, environ=environ))  # parses, or stops here
    before = guarding.add(found, guards, mode)
    try:
        report = _install(scope=scope, project=project, environ=environ,
                          config_path=config_path, executable=executable, found=found,
                          serve=serve)
    except HookswarmError:
        guarding.put_back(found, before)
        raise
    return replace(report, guards=tuple(guards), mode=mode)


def remove_guards(*, scope: str, project: str, environ: Mapping[str, str],
                  config_path: str | None, guards: Sequence[str],
                  executable: str | None = None) -> Report:
    """Take the ``guards``' hooks out of hookrun.toml and bring the entries in line."""
    found = configuration.find(config_path, environ=environ, cwd=project)
    removed = guarding.remove(found, guards)
    if os.path.exists(found):
        report = _install(scope=scope, project=project, environ=environ,
                          config_path=config_path, executable=executable, found=found)
    else:
        report = uninstall(scope=scope, project=project, environ=environ, keep_imported=True)
    return replace(report, command="uninstall", guards=removed)


def _install(*, scope: str, project: str, environ: Mapping[str, str], config_path: str | None,
             executable: str | None, found: str, serve: bool = False) -> Report:
    config = configuration.load(found)
    path = files.settings_path(scope, project=project, environ=environ)
    port = (serving.stored_port(path) or serving.free_port()) if serve else 0
    wanted = entries.desired(config, executable=executable or entries.hookrun_executable(),
                             config_path=os.path.abspath(config_path) if config_path else None,
                             if_configured=scope == "user" and not config_path,
                             port=port, user=scope == "user")
    token_file = serving.token_file(scope, project=project, environ=environ)
    if serve:
        _keep_token(token_file)
    else:
        _drop_token(token_file)

    def compute(data: bytes | None, text: str, state: Manifest) -> Edit:
        merged = merge.install(text, wanted, path=path, original=reference(path, data, text),
                               created=state.created)
        return Edit(merged, created(state, data, merged))

    done, written = _edit(path, compute)
    return Report("install", scope, path, done.merged.changes, written, config=found,
                  notes=done.merged.notes)


def uninstall(*, scope: str, project: str, environ: Mapping[str, str],
              keep_imported: bool = False, config_path: str | None = None) -> Report:
    """Remove every entry install wrote and, unless ``keep_imported``, put back what import
    moved: with nothing else changed, the file is back to its original bytes. The guards'
    blocks leave hookrun.toml."""
    path = files.settings_path(scope, project=project, environ=environ)
    done, written = _edit(path, lambda data, text, state: _uninstalled(
        path, data, text, state, keep_imported=keep_imported))
    _drop_token(serving.token_file(scope, project=project, environ=environ))
    found = configuration.find(config_path, environ=environ, cwd=project)
    notes = undo_config(done.undone) if written.changed or done.undone else ()
    if written.changed and not done.undone and not keep_imported:
        notes += _unrecorded_imports(found)
    restored = done.restored or restore.Restored("")
    removed = guarding.remove(found, tuple(GUARDS))
    return Report("uninstall", scope, path, done.merged.changes, _tidy_backup(path, written),
                  notes=notes, restored=restored.exact, regrouped=restored.moved, guards=removed)


def _keep_token(path: str) -> None:
    """Give ``hookrun serve`` its token in ``path``'s ``env``, keeping one already there."""
    token = serving.stored_token(path) or serving.new_token()
    _edit(path, lambda data, text, state: _token_edit(
        data, serving.put_token(text, token, path=path), state))


def _drop_token(path: str) -> None:
    if serving.stored_token(path):
        _edit(path, lambda data, text, state: _token_edit(
            data, serving.drop_token(text, path=path), state))


def _token_edit(data: bytes | None, text: str, state: Manifest) -> Edit:
    """The token file after an edit: one hookrun created and left empty goes again."""
    root = parse(text, "").root
    gone = state.created and (root is None or not root.members)
    merged = Merged(None if gone else text, ())
    return Edit(merged, created(state, data, merged))


def _uninstalled(path: str, data: bytes | None, text: str, state: Manifest, *,
                 keep_imported: bool) -> Edit:
    if data is None:
        return Edit(Merged(None, ()), state)
    imports = () if keep_imported else state.imports
    merged = merge.uninstall(text, path=path, original=original(path), created=state.created,
                             keep=restore.emptied_lists(imports))
    if not imports:
        return Edit(merged, Manifest(created=state.created and merged.text is not None))
    restored = restore.put_back(merged.text if merged.text is not None else merge.CREATED,
                                imports, path=path)
    return Edit(Merged(restored.text, merged.changes), Manifest(created=state.created),
                restored, imports)


def created(state: Manifest, data: bytes | None, merged: Merged) -> Manifest:
    """The manifest after writing ``merged``: a file hookrun made is hookrun's to delete."""
    if merged.text is None:
        return Manifest()
    return Manifest(created=state.created or data is None, imports=state.imports)


def _edit(path: str, compute: Callable[[bytes | None, str, Manifest], Edit]
          ) -> tuple[Edit, Written]:
    """Compute the new text; only when it differs, lock, compute again from a fresh read, save.

    A broken file or an edit that changes nothing therefore takes no lock and creates no
    directory.
    """
    data, text = load(path)
    state = manifest.read(path)
    done = compute(data, text, state)
    if data is None and done.merged.text == "":
        done = Edit(Merged(None, done.merged.changes), state)  # nothing to write into no file
    if _encoded(done.merged, path) == data and done.manifest == state:
        backup = files.backup_path(path)
        return done, Written(backup=backup if os.path.exists(backup) else "")
    with files.locked(path):
        data, text = load(path)
        state = manifest.read(path)
        done = compute(data, text, state)
        return done, save(path, data, done.merged, state=state, after=done.manifest)


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


def save(path: str, data: bytes | None, merged: Merged, *, state: Manifest,
         after: Manifest) -> Written:
    """Write the merged text and the manifest if they differ; back up the file first, unless a
    backup exists or hookrun created the file. A failed manifest write undoes the text's."""
    new = _encoded(merged, path)
    backup = files.backup_path(path)
    if new == data and after == state:
        return Written(backup=backup if os.path.exists(backup) else "")
    wrote_backup = (new != data and data is not None and not state.created
                    and not os.path.exists(backup))
    if wrote_backup and data is not None:
        files.write(backup, data, like=path)
    _put(path, new)
    try:
        manifest.write(path, after)
    except SettingsError:
        _put(path, data)
        raise
    return Written(changed=new != data, deleted=new is None and data is not None,
                   backup=backup if os.path.exists(backup) else "", backup_written=wrote_backup)


def undo_config(undone: Sequence[Imported]) -> tuple[str, ...]:
    """Take out of hookrun.toml what each undone import appended; say where it cannot."""
    notes = []
    for imported in reversed(undone):
        if imported.appended:
            with files.locked(imported.config):
                notes += _cut_appended(imported)
    return tuple(notes)


def _unrecorded_imports(config: str) -> tuple[str, ...]:
    """Hooks an import moved into hookrun.toml that no manifest says how to put back."""
    data = files.read(config)
    if data is None or IMPORTED_BY.encode() not in data:
        return ()
    return (f"{config} holds hooks `hookrun import` moved, and there is no record of where they "
            "came from: they no longer run; run hookrun install again, or move them back into "
            "the settings file by hand",)


def _cut_appended(imported: Imported) -> list[str]:
    data = files.read(imported.config)
    text = data.decode("utf-8", "surrogateescape") if data is not None else ""
    if text.count(imported.appended) != 1:
        names = ", ".join(h.get("name", "?") for h in tomllib.loads(imported.appended)["hooks"])
        return [f"{imported.config} changed since the import, so the imported hooks ({names}) "
                "stay in it: remove them by hand, or they run twice once hookrun is installed "
                "again"]
    rest = text.replace(imported.appended, "", 1)
    if not rest and imported.config_created:
        files.remove(imported.config)
    else:
        files.write(imported.config, rest.encode("utf-8", "surrogateescape"))
    return []


def _put(path: str, data: bytes | None) -> None:
    if data is None:
        files.remove(path)
    else:
        files.write(path, data)


def _encoded(merged: Merged, path: str) -> bytes | None:
    if merged.text is None:
        return None
    try:
        return merged.text.encode()
    except UnicodeEncodeError as exc:
        bad = merged.text[exc.start:exc.end]
        raise SettingsError(f"{path}: the new text would hold {bad!r}, which is not valid "
                            "Unicode and cannot be written; nothing was changed") from None


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
