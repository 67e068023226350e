"""``hookrun install``, ``uninstall`` and ``import``: click commands over ``hookswarm.settings``.

Exit codes (as for every verb in ``commands``): 0 done (for a dry-run import: planned); 2 a
settings file, hookrun.toml or an option that cannot be used — nothing was changed, and the
message says what to fix.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from hookswarm.lib.errors import HookswarmError
from hookswarm.lib.json_report import json_report
from hookswarm.settings import importer, report
from hookswarm.settings import install as settings
from hookswarm.settings.files import SCOPES
from hookswarm.settings.guards import GUARDS, MODES
from hookswarm.settings.migration import parse_events

if TYPE_CHECKING:
    from collections.abc import Callable


class _Report(Protocol):
    def to_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=_Report)


_scope = click.option(
    "--scope", type=click.Choice(SCOPES), default="project", show_default=True,
    help="Settings file: project = .claude/settings.json, local = .claude/settings.local.json, "
         "user = ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR/settings.json).")
_config = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False),
    help="hookrun.toml to use (default: $HOOKRUN_CONFIG, then $CLAUDE_PROJECT_DIR/.claude/"
         "hookrun.toml, then ./.claude/hookrun.toml); the entries then run `hookrun run "
         "--config` with its absolute path.")
_hookrun = click.option(
    "--hookrun", "executable", metavar="PATH",
    help="The hookrun the entries run (default: this installation's, as an absolute path).")
_json = click.option("--json", "as_json", is_flag=True,
                     help="Print a JSON report (versioned envelope) instead of text.")


def _guard_flags(command: Callable[..., None]) -> Callable[..., None]:
    """One flag per built-in guard (``--agent-guard``, ...), from the table in ``guards``."""
    for name, guard in reversed(list(GUARDS.items())):
        command = click.option(f"--{name}", _flag(name), is_flag=True, help=guard.help)(command)
    return command


def _flag(name: str) -> str:
    return "guard_" + name.replace("-", "_")


def _chosen(flags: dict[str, bool]) -> tuple[str, ...]:
    return tuple(name for name in GUARDS if flags.get(_flag(name)))


@click.command(help="Add one `hookrun run` entry per event hookrun.toml uses to a Claude Code "
                    "settings file. Idempotent; other keys and hooks keep their bytes. A guard "
                    "flag first adds that guard's hooks to hookrun.toml.",
               epilog="\b\nExamples:\n  hookrun install\n  hookrun install --scope local --json\n"
                      "  hookrun install --scope user --config ~/.claude/hookrun.toml\n"
                      "  hookrun install --agent-guard --mode warn\n  hookrun install --serve")
@_scope
@_config
@_hookrun
@_guard_flags
@click.option("--mode", type=click.Choice(MODES),
              help="The guards' mode: block (default), warn (allow, with a note to the model) "
                   "or off.")
@click.option("--serve", is_flag=True,
              help="Write type \"http\" entries that reach a warm `hookrun serve` (started by "
                   "the SessionStart entry) instead of starting hookrun per event.")
@_json
def install(scope: str, config_path: str | None, executable: str | None, mode: str | None,
            serve: bool, as_json: bool, **flags: bool) -> None:
    project = _project()
    chosen = _chosen(flags)
    if mode and not chosen:
        raise click.UsageError("--mode goes with a guard flag, such as --agent-guard")
    _respond("install", as_json, lambda: settings.install(
        scope=scope, project=project, environ=os.environ, config_path=config_path,
        executable=executable, guards=chosen, mode=mode or "block", serve=serve),
        lambda r: report.install_lines(r, project=project))


@click.command(help="Remove exactly the entries `hookrun install` added and put back the hooks "
                    "`hookrun import` moved; with nothing else changed the file is back to its "
                    "original bytes.",
               epilog="\b\nExamples:\n  hookrun uninstall\n  hookrun uninstall --scope user\n"
                      "  hookrun uninstall --keep-imported")
@_scope
@_config
@click.option("--keep-imported", is_flag=True,
              help="Leave the imported hooks in hookrun.toml instead of putting them back into "
                   "the settings file.")
@_guard_flags
@_hookrun
@_json
def uninstall(scope: str, config_path: str | None, keep_imported: bool,
              executable: str | None, as_json: bool, **flags: bool) -> None:
    project = _project()
    chosen = _chosen(flags)
    if chosen:
        _respond("uninstall", as_json, lambda: settings.remove_guards(
            scope=scope, project=project, environ=os.environ, config_path=config_path,
            guards=chosen, executable=executable),
            lambda r: report.guard_removal_lines(r, project=project))
        return
    _respond("uninstall", as_json, lambda: settings.uninstall(
        scope=scope, project=project, environ=os.environ, keep_imported=keep_imported,
        config_path=config_path), lambda r: report.uninstall_lines(r, project=project))


@click.command(name="import",
               help="Move native command hooks from a settings file into hookrun.toml and "
                    "replace them with hookrun's entries. Without --write, only show the plan.",
               epilog="\b\nExamples:\n  hookrun import\n  hookrun import --write\n"
                      "  hookrun import --events PreToolUse,Stop --write --json\n"
                      "  hookrun import --scope user --config ~/.claude/hookrun.toml --write")
@_scope
@_config
@click.option("--events", metavar="E1,E2",
              help="Events to move (default: every event that has command hooks).")
@click.option("--write", is_flag=True, help="Carry the plan out (a backup is kept).")
@_hookrun
@_json
def import_hooks(scope: str, config_path: str | None, events: str | None, write: bool,
                 executable: str | None, as_json: bool) -> None:
    project = _project()
    _respond("import", as_json, lambda: importer.import_hooks(
        scope=scope, project=project, environ=os.environ, config_path=config_path,
        events=parse_events(events), write=write, executable=executable),
        lambda r: report.import_lines(r, project=project))


def _project() -> str:
    return os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()


def _respond(command: str, as_json: bool, act: Callable[[], R],
             render: Callable[[R], list[str]]) -> None:
    try:
        result = act()
    except HookswarmError as exc:
        if as_json:
            click.echo(json_report(command, {"ok": False, "error": str(exc)}))
        else:
            click.echo(f"hookrun {command}: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json_report(command, result.to_json()))
    else:
        click.echo("\n".join(render(result)))
