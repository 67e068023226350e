"""``hookrun import``: the file side of moving native hooks into hookrun.toml.

The plan is computed by the pure ``migration.plan`` from plain reads, so a dry run leaves
no trace. With ``write`` the files are locked, read and planned again, and written:
hookrun.toml first, then the settings; if the settings cannot be written, hookrun.toml is
put back, so no hook ends up configured twice or not at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError, SettingsError
from hookswarm.settings import entries, files, manifest, migration
from hookswarm.settings.document import Document, decode, parse
from hookswarm.settings.install import (
    Written,
    change_json,
    label,
    load,
    reference,
    save,
)
from hookswarm.settings.manifest import Imported, Manifest
from hookswarm.settings.merge import Merged

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hookswarm.settings.migration import Moved, Plan


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of ``hookrun import``: the plan, and what was written when ``write``."""

    scope: str
    plan: Plan
    write: bool
    written: Written
    config_written: bool = False

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "ok": True, "write": self.write,
            "scope": self.scope, "settings": plan.settings, "config": plan.config,
            "events": list(plan.events), "changed": plan.changed,
            "written": {"settings": self.written.changed, "config": self.config_written,
                        "backup": self.written.backup or None},
            "moved": [moved_json(m) for m in plan.moved],
            "kept": [{"event": k.hook.event, "matcher": k.hook.matcher, "type": k.hook.kind,
                      "hook": k.hook.describe(), "reason": k.reason} for k in plan.kept],
            "entries": [change_json(c) for c in plan.changes],
            "appended": plan.appended, "notes": list(plan.notes),
        }


def moved_json(moved: Moved) -> dict[str, Any]:
    return {"name": moved.name, "event": moved.event, "matcher": moved.matcher,
            "command": moved.command, "timeout": moved.timeout, "on_error": moved.on_error,
            "copies": len(moved.sources), "existing": moved.existing, "notes": list(moved.notes)}


def import_hooks(*, scope: str, project: str, environ: Mapping[str, str],
                 config_path: str | None, events: Sequence[str] | None, write: bool,
                 executable: str | None = None) -> ImportReport:
    """Plan (and with ``write`` carry out) moving native command hooks into hookrun.toml."""
    if scope == "user" and not config_path:
        raise SettingsError("user settings apply to every project: pass --config (for example "
                            "~/.claude/hookrun.toml) so the imported hooks stay user-wide")
    path = files.settings_path(scope, project=project, environ=environ)
    found = configuration.find(config_path, environ=environ, cwd=project)
    program = executable or entries.hookrun_executable()
    explicit = os.path.abspath(config_path) if config_path else None

    def make_plan() -> tuple[bytes | None, Plan]:
        data, text = load(path)
        plan = migration.plan(
            parse(text, path), _read_config(found), config_path=found, events=events,
            entries_for=lambda config: entries.desired(config, executable=program,
                                                       config_path=explicit),
            original=reference(path, data, text),
            others=_other_scopes(scope, project, environ), source=label(path, project))
        return data, plan

    data, plan = make_plan()  # unlocked: a dry run, or broken files, create no directory
    if not write or not plan.changed:
        return ImportReport(scope, plan, write, Written())
    with files.locked(path, found):
        data, plan = make_plan()
        return _carry_out(scope, plan, data)


def _carry_out(scope: str, plan: Plan, data: bytes | None) -> ImportReport:
    """Write hookrun.toml, then the settings; if the settings fail, put the config back."""
    config_written = plan.config_after != (plan.config_before or "")
    if config_written:
        files.write(plan.config, plan.config_after.encode())
    state = manifest.read(plan.settings)
    try:
        written = save(plan.settings, data, Merged(plan.settings_after, plan.changes),
                       state=state, after=recorded(state, plan, data))
    except SettingsError:
        if plan.config_before is None:
            files.remove(plan.config)
        elif config_written:
            files.write(plan.config, plan.config_before.encode())
        raise
    return ImportReport(scope, plan, True, written, config_written)


def recorded(state: Manifest, plan: Plan, data: bytes | None) -> Manifest:
    """The manifest with this import in it, so that uninstall can undo it."""
    imports = state.imports
    if plan.cuts or plan.appended:
        imports += (Imported(config=os.path.realpath(plan.config),
                             config_created=plan.config_before is None,
                             appended=plan.appended, cuts=plan.cuts),)
    return Manifest(created=state.created or data is None, imports=imports)


def _read_config(path: str) -> str | None:
    data = files.read(path)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path) from None


def _other_scopes(scope: str, project: str, environ: Mapping[str, str]) -> dict[str, Document]:
    """The other settings files that parse, for the duplicate check."""
    others = {}
    for other in files.SCOPES:
        path = files.settings_path(other, project=project, environ=environ)
        try:
            data = files.read(path) if other != scope else None
            if data is not None:
                others[label(path, project)] = parse(decode(data, path), path)
        except SettingsError:
            continue  # unreadable or broken: Claude Code ignores it too
    return others
