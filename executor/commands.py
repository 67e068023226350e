"""The click group behind every ``hookrun`` verb except the hot ``run`` path.

Exit codes: 0 success; 1 the check failed (validate found errors, a golden file differs);
2 usage or config errors, and files that cannot be read or written. ``--json`` output is
``{"version": 1, "command": ..., ...}``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Any, NoReturn

import click

from hookswarm.executor import config as configuration
from hookswarm.executor.cli import stdout_diverted
from hookswarm.executor.commands_settings import import_hooks, install, uninstall
from hookswarm.lib.errors import ConfigError, HookswarmError

JSON_VERSION = 1
config_option = click.option("--config", "config_path", type=click.Path(),
                             help="hookrun.toml to use (default: $HOOKRUN_CONFIG, then "
                                  "$CLAUDE_PROJECT_DIR/.claude/hookrun.toml, then "
                                  "./.claude/hookrun.toml).")
json_option = click.option("--json", "as_json", is_flag=True, help="Versioned JSON output.")


def emit(command: str, body: dict[str, Any]) -> None:
    click.echo(json.dumps({"version": JSON_VERSION, "command": command, **body}, indent=2))


def _config_path(config_path: str | None) -> str:
    return configuration.find(config_path, environ=os.environ, cwd=os.getcwd())


@click.group(help="Run Claude Code hooks as one dependency graph, and see where time goes.")
@click.version_option(package_name="hookswarm")
def cli() -> None:
    # Hook output and file names may hold lone surrogates; a report must not die on them.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


@cli.command(help="Run the hooks for one event (payload on stdin). Claude Code calls this.")
@click.argument("event", required=False)
@config_option
@click.option("--if-configured", is_flag=True,
              help="Print nothing when there is no hookrun.toml (the plugin passes this).")
def run(event: str | None, config_path: str | None, if_configured: bool) -> None:
    from hookswarm.executor.cli import run as run_fast

    args = [a for a in (event,) if a] + (["--config", config_path] if config_path else [])
    sys.exit(run_fast(args + (["--if-configured"] if if_configured else [])))


@cli.command(help="Check hookrun.toml: errors (exit 1) and warnings.")
@config_option
@json_option
def validate(config_path: str | None, as_json: bool) -> None:
    from hookswarm.executor.validate import validate as check

    path = _config_path(config_path)
    findings = check(path, environ=os.environ, cwd=os.getcwd())
    errors = [f for f in findings if f.level == "error"]
    if as_json:
        emit("validate", {"config": path, "ok": not errors,
                          "findings": [f._asdict() for f in findings]})
    else:
        for finding in findings:
            click.echo(finding.line(path), err=finding.level == "error")
        if not findings:
            hooks = configuration.load(path).hooks
            click.echo(f"{path}: OK, {len(hooks)} hook{'' if len(hooks) == 1 else 's'}")
    sys.exit(1 if errors else 0)


def _known_event(name: str) -> str:
    """A Claude Code event name, or a usage error that suggests the right spelling."""
    if name in configuration.EVENTS:
        return name
    near = [e for e in configuration.EVENTS if e.lower() == name.lower()]
    hint = f"did you mean {near[0]}?" if near else "event names are like PreToolUse, Stop"
    raise click.BadParameter(f"unknown event {name!r}; {hint}")


@cli.command(help="Run one event's hooks N times: per-hook spread, critical path, timeline.")
@click.argument("event", callback=lambda _ctx, _param, value: _known_event(value))
@click.option("--payload", "payload_path", type=click.Path(exists=True, dir_okay=False),
              help="A hook payload (JSON) to replay; default: a plausible one for EVENT.")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False), help="Write the timeline.")
@config_option
@json_option
def profile(event: str, payload_path: str | None, runs: int, svg_path: str | None,
            config_path: str | None, as_json: bool) -> None:
    from hookswarm.executor import timeline
    from hookswarm.executor.profile import load_payload, run_profile

    _require_config(config_path)
    try:
        payload = load_payload(payload_path, event)
        if svg_path:
            _check_writable(svg_path)
    except HookswarmError as exc:
        _fail("profile", str(exc))
    with stdout_diverted():  # what call hooks print must not end up in the report
        result = run_profile(event, payload, runs=runs, config_path=config_path,
                             environ=os.environ, cwd=os.getcwd())
    title = f"hookrun profile {event}: median run {result.wall_p50_ms:.1f} ms"
    if svg_path:
        _write_svg(svg_path, timeline.svg(result.timeline, title=title))
    if as_json:
        emit("profile", result.as_json())
        return
    _print_profile(result, title)


def _check_writable(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):  # found before the runs, not after them
        raise HookswarmError(f"cannot write {path}: the directory {directory} does not exist")


def _write_svg(path: str, svg: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(svg)
    except OSError as exc:
        _fail("profile", f"cannot write {path} ({exc.strerror}); choose another --svg path")


def _fail(command: str, message: str) -> NoReturn:
    click.echo(f"hookrun {command}: {message}", err=True)
    sys.exit(2)


def _print_profile(result: Any, title: str) -> None:
    from hookswarm.executor import timeline

    if not result.hooks:
        click.echo(f"no hook matches {result.event}")
        return
    click.echo(f"{'hook':24} {'min':>8} {'p50':>8} {'p95':>8} {'max':>8}  (ms, {result.runs} runs)")
    for hook in result.hooks:
        click.echo(f"{hook.name:24} {hook.min_ms:8.1f} {hook.p50_ms:8.1f} {hook.p95_ms:8.1f} "
                   f"{hook.max_ms:8.1f}  {_statuses(hook.statuses)}")
    click.echo(f"\ncritical path: {' -> '.join(result.critical_path)} "
               f"({result.critical_ms:.1f} ms)")
    click.echo(f"sequential equivalent: {result.sequential_ms:.1f} ms; median run: "
               f"{result.wall_p50_ms:.1f} ms; speedup {result.speedup:.1f}x\n")
    click.echo(timeline.text(result.timeline, title=title))


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} x{n}" for status, n in sorted(counts.items()))


@cli.command(help="Per-hook statistics from the run records under .swarm/hooks/.")
@click.option("--since", default=None, help="Only runs newer than this (90s, 30m, 12h, 7d).")
@click.option("--project", type=click.Path(file_okay=False), default=None,
              help="Project whose records to read (default: $CLAUDE_PROJECT_DIR or .).")
@click.option("--top", default=5, show_default=True,
              help="How many slowest hooks to list (text output; --json lists every hook).")
@json_option
def stats(since: str | None, project: str | None, top: int, as_json: bool) -> None:
    from hookswarm.executor import records
    from hookswarm.executor.stats import parse_duration, summarize

    try:
        cutoff = time.time() - parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    root = project or os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    summary = summarize(records.read(records.records_dir(root)), since=cutoff)
    if as_json:
        emit("stats", {"project": root, "since": since,
                       "hooks": [hook.as_json() for hook in summary]})
        return
    _print_stats(summary, top)


def _print_stats(summary: list[Any], top: int) -> None:
    if not summary:
        click.echo("no run records yet: they appear under .swarm/hooks/ after `hookrun run`")
        return
    width = max(len("hook"), *(len(h.name) for h in summary))
    click.echo(f"{'hook':{width}} {'runs':>7} {'fail':>5} {'t/o':>5} {'cancel':>6} {'skip':>6} "
               f"{'p50 ms':>8} {'p95 ms':>8} {'ctx B':>7} {'cut':>5}")
    for hook in sorted(summary, key=lambda h: h.name):
        click.echo(f"{hook.name:{width}} {hook.runs:7} {hook.failures:5} {hook.timeouts:5} "
                   f"{hook.cancelled:6} {hook.skipped:6} {hook.p50_ms:8.1f} {hook.p95_ms:8.1f} "
                   f"{hook.context_bytes:7.0f} {hook.context_cut:5}")
    click.echo("\nslowest (p95): " + ", ".join(f"{h.name} {h.p95_ms:.1f} ms"
                                               for h in summary[:top]))
    pressed = [h for h in summary if h.near_timeout]
    if pressed:
        click.echo("over 80% of their timeout: " + ", ".join(
            f"{h.name} ({h.near_timeout} of {h.runs} runs)" for h in pressed))


@cli.command(name="test", help="Replay payload fixtures and compare with golden files.")
@click.argument("fixtures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--update", is_flag=True, help="Rewrite the golden files from what runs now.")
@config_option
@json_option
def test_fixtures(fixtures: tuple[str, ...], update: bool, config_path: str | None,
                  as_json: bool) -> None:
    from hookswarm.executor.golden import FAIL, MISSING, check

    _require_config(config_path)
    with stdout_diverted():  # what call hooks print must not end up in the report
        verdicts = [check(f, update=update, config_path=config_path, environ=os.environ,
                          cwd=os.getcwd()) for f in fixtures if not f.endswith(".expected.json")]
    failed = [v for v in verdicts if v.status in (FAIL, MISSING)]
    if as_json:
        emit("test", {"ok": not failed, "results": [v._asdict() for v in verdicts]})
    else:
        for verdict in verdicts:
            click.echo(f"{verdict.status.upper():8} {verdict.fixture}")
            if verdict.diff:
                click.echo(verdict.diff)
        click.echo(f"{len(verdicts) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


@cli.command(help="Run 21 example hooks sequentially, as separate processes and via hookrun.")
@click.option("--project", type=click.Path(file_okay=False, exists=True), default=None,
              help="Run the example hooks against this project (default: a scratch one).")
def demo(project: str | None) -> None:
    from hookswarm.executor.demo import run_demo

    click.echo(run_demo(project))


def _require_config(config_path: str | None) -> None:
    path = _config_path(config_path)
    try:
        configuration.load(path)
    except ConfigError as exc:
        click.echo(f"hookrun: {exc}; run `hookrun validate` to see every problem", err=True)
        sys.exit(2)


for _command in (install, uninstall, import_hooks):
    cli.add_command(_command)
