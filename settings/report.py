"""What install, uninstall and import print for people (``--json`` prints ``to_json()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookswarm.settings.install import Report, label
from hookswarm.settings.merge import KEEP, REMOVE, Change

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hookswarm.settings.importer import ImportReport
    from hookswarm.settings.migration import Kept, Moved


def install_lines(report: Report, *, project: str) -> list[str]:
    where = f"{label(report.settings, project)} ({report.scope} scope)"
    if not report.changes:
        return [f"hookrun install: {label(report.config, project)} has no hooks, so "
                f"{where} needs no hookrun entry"]
    notes = [*_guard_lines(report, project), *(f"  note: {note}" for note in report.notes)]
    if not report.written.changed:
        events = ", ".join(c.event for c in report.changes)
        return [f"hookrun install: {where} is up to date ({events})", *notes]
    return [f"hookrun install: {where}", *entry_lines(report.changes),
            *_backup_lines(report, project), *notes]


def guard_removal_lines(report: Report, *, project: str) -> list[str]:
    """``uninstall --agent-guard``: the guard's block went, the entries follow the config."""
    config = label(report.config, project) if report.config else "hookrun.toml"
    if not report.guards:
        return ["hookrun uninstall: no guard block install wrote in " + config + "; nothing to do"]
    lines = [f"hookrun uninstall: removed {', '.join(report.guards)} from {config}"]
    if report.written.changed:
        lines += entry_lines([c for c in report.changes if c.action != KEEP])
    return lines


def _guard_lines(report: Report, project: str) -> list[str]:
    config = label(report.config, project)
    return [f"  {name}: its hooks are in {config} (mode {report.mode}); `hookrun uninstall` "
            "removes them" for name in report.guards]


def uninstall_lines(report: Report, *, project: str) -> list[str]:
    where = label(report.settings, project)
    if not report.changes and not report.restored + report.regrouped and not report.guards:
        return [f"hookrun uninstall: no hookrun entries in {where}; nothing to do"]
    events = ", ".join(c.event for c in report.changes) or "no event"
    lines = [f"hookrun uninstall: removed hookrun's entries for {events} from {where}"]
    if report.restored + report.regrouped:
        lines.append(f"  put back {report.restored + report.regrouped} imported hook(s)"
                     + (f", {report.regrouped} as group(s) of their own at the end of their "
                        "event (their place had changed)" if report.regrouped else
                        " where they were"))
    lines += [f"  note: {note}" for note in report.notes]
    lines += [f"  removed {name}'s hooks from hookrun.toml" for name in report.guards]
    if report.written.deleted:
        lines.append(f"  {where} held nothing else, and hookrun had created it: deleted")
    elif report.written.backup_removed:
        lines.append("  the file is byte for byte what it was before install; backup removed")
    elif report.written.backup:
        backup = label(report.written.backup, project)
        lines += [f"  later changes (an import, other edits) are kept; the file as it was before "
                  f"hookrun stays in {backup}",
                  f"  to go back to it entirely: cp {backup} {where}"]
    return lines


def entry_lines(changes: Sequence[Change]) -> list[str]:
    lines = []
    width = max((len(c.event) for c in changes), default=0)
    for change in changes:
        text = f"  {change.action:<7} {change.event:<{width}}"
        if change.group is not None and change.action != REMOVE:
            handler = change.group["hooks"][0]
            matcher = f"  matcher {change.group['matcher']}" if change.group.get("matcher") else ""
            action = handler.get("command") or handler["url"]
            text += f"  timeout {handler['timeout']}{matcher}  {action}"
        lines.append(text.rstrip())
    return lines


def import_lines(report: ImportReport, *, project: str) -> list[str]:
    plan = report.plan
    config = label(plan.config, project)
    lines = [_import_headline(report), f"  from {label(plan.settings, project)} "
             f"({report.scope} scope)", f"  into {config}"
             + (" (new file)" if plan.config_before is None else "")]
    lines += _section(f"moves {len(plan.moved)} command hook(s), in settings order:",
                      _moved_lines(plan.moved))
    lines += _section(f"stays native, {len(plan.kept)} hook(s):", _kept_lines(plan.kept))
    if plan.appended:
        lines += _section(f"appends to {config}:", ["  " + line if line else ""
                                                    for line in plan.appended.splitlines()])
    shown = [c for c in plan.changes if c.action != KEEP]
    lines += _section(f"hookrun entries in {label(plan.settings, project)}:", entry_lines(shown))
    lines += _section("notes:", [f"  - {note}" for note in plan.notes])
    if report.written.backup_written:
        lines.append(f"backup of the original settings: "
                     f"{label(report.written.backup, project)}")
    return lines


def _import_headline(report: ImportReport) -> str:
    if not report.plan.moved and not report.plan.changed:
        return "hookrun import: no native command hooks to move"
    if report.write:
        return "hookrun import: done"
    return "hookrun import (dry run: nothing was written; add --write to apply)"


def _moved_lines(moved: Sequence[Moved]) -> list[str]:
    names = max((len(m.name) for m in moved), default=0)
    wheres = max((len(_where(m.event, m.matcher)) for m in moved), default=0)
    lines = []
    for item in moved:
        extra = ", on_error block" if item.on_error == "block" else ""
        lines.append(f"  {item.name:<{names}}  {_where(item.event, item.matcher):<{wheres}}  "
                     f"timeout {item.timeout:g}{extra}: {item.command}")
        lines += [f"      {note}" for note in item.notes]
    return lines


def _where(event: str, matcher: str) -> str:
    return f"{event} [{matcher}]" if matcher else event


def _kept_lines(kept: Iterable[Kept]) -> list[str]:
    lines = []
    for item in kept:
        lines.append(f"  {_where(item.hook.event, item.hook.matcher)}: {item.hook.describe()}")
        lines.append(f"      {item.reason}")
    return lines


def _section(title: str, body: list[str]) -> list[str]:
    return ["", title, *body] if body else []


def _backup_lines(report: Report, project: str) -> list[str]:
    if report.written.backup_written:
        return [f"backup of the original: {label(report.written.backup, project)}"]
    return []
