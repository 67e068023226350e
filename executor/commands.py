"""The click group behind every ``hookrun`` verb except the hot ``run`` path.

Exit codes: 0 success; 1 the check failed (validate found errors, a golden file differs);
2 usage or config errors, and files that cannot be read or written. ``--json`` output is
``{"version": 1, "command": ..., ...}``.
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

import click

from hookswarm.executor import records
from hookswarm.executor.commands_serve import serve
from hookswarm.executor.commands_settings import import_hooks, install, uninstall
from hookswarm.executor.entry import run as run_fast
from hookswarm.executor.entry import stdout_diverted
from hookswarm.executor.profile_plan import Plan
from hookswarm.executor.profile_plan import plan as make_plan
from hookswarm.executor.stats import parse_duration, summarize
from hookswarm.executor.validate import validate as check
from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError, HookswarmError
from hookswarm.lib.json_report import json_report

if TYPE_CHECKING:
    from hookswarm.executor.profile import Profile
    from hookswarm.executor.timeline import Bar

Labelled = list[tuple[str, "Profile"]]  # each profile with the payload it ran with
config_option = click.option("--config", "config_path", type=click.Path(),
                             help="hookrun.toml to use (default: $HOOKRUN_CONFIG, then "
                                  "$CLAUDE_PROJECT_DIR/.claude/hookrun.toml, then "
                                  "./.claude/hookrun.toml).")
json_option = click.option("--json", "as_json", is_flag=True, help="Versioned JSON output.")


def emit(command: str, body: dict[str, Any]) -> None:
    click.echo(json_report(command, body))


def _config_path(config_path: str | None) -> str:
    return configuration.find(config_path, environ=os.environ, cwd=os.getcwd())


@click.group(help="Run Claude Code hooks as one dependency graph, and see where time goes.",
             context_settings={"help_option_names": ["-h", "--help"]})
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
    args = [a for a in (event,) if a] + (["--config", config_path] if config_path else [])
    sys.exit(run_fast(args + (["--if-configured"] if if_configured else [])))


@cli.command(help="Check hookrun.toml: errors (exit 1) and warnings.")
@config_option
@json_option
def validate(config_path: str | None, as_json: bool) -> None:
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


@cli.command(help="Where one event's hooks spend their time: runs them N times for real "
                  "(after listing them and asking), or reads the recorded runs.")
@click.argument("event", callback=lambda _ctx, _param, value: _known_event(value))
@click.option("--payload", "payload_path", type=click.Path(exists=True, dir_okay=False),
              help="A hook payload (JSON) to replay; default: one built per matcher.")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--yes", is_flag=True,
              help="Run the hooks without asking (required when stdin is not a terminal).")
@click.option("--from-records", is_flag=True,
              help="Profile the runs recorded under .swarm/hooks/ instead; runs nothing.")
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False), help="Write the timeline.")
@config_option
@json_option
def profile(event: str, payload_path: str | None, runs: int, yes: bool, from_records: bool,
            svg_path: str | None, config_path: str | None, as_json: bool) -> None:
    if from_records and payload_path:
        raise click.BadParameter("--payload replays a payload; --from-records runs nothing",
                                 param_hint="--from-records")
    if svg_path:
        _check_writable(svg_path)
    if from_records:
        profiles, plan = _recorded_profiles(event, config_path), None
    else:
        profiles, plan = _live_profiles(event, payload_path, runs=runs, yes=yes,
                                        config_path=config_path)
    _report_profiles(event, profiles, plan, svg_path=svg_path, as_json=as_json)


def _live_profiles(event: str, payload_path: str | None, *, runs: int, yes: bool,
                   config_path: str | None) -> tuple[Labelled, Plan]:
    # lazy: call hooks named like its stdlib imports must load as under `hookrun run`
    from hookswarm.executor.profile import load_payload, run_profile

    config = _require_config(config_path)
    try:
        payload = load_payload(payload_path) if payload_path else None
    except HookswarmError as exc:
        _fail("profile", str(exc))
    plan = make_plan(event, config.for_event(event), cwd=os.getcwd(), payload=payload)
    if plan.runs or plan.skipped:
        click.echo("\n".join(plan.lines(runs)), err=True)
    if plan.runs:
        _confirm(yes)
    with stdout_diverted():  # what call hooks print must not end up in the report
        profiles = [(planned.label, run_profile(event, planned.payload, runs=runs,
                                                config_path=config_path, environ=os.environ,
                                                cwd=os.getcwd()))
                    for planned in plan.runs]
    return profiles, plan


def _confirm(yes: bool) -> None:
    """Running hooks has their side effects: ask on a terminal, else require --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        _fail("profile", "it runs the hooks listed above for real; pass --yes to run them "
                         "without a terminal, or --from-records to profile recorded runs")
    if not click.confirm("Run them?", err=True):
        click.echo("hookrun profile: nothing ran", err=True)
        sys.exit(1)


def _recorded_profiles(event: str, config_path: str | None) -> Labelled:
    # lazy: call hooks named like its stdlib imports must load as under `hookrun run`
    from hookswarm.executor.profile import from_records

    try:
        hooks = configuration.load(_config_path(config_path)).for_event(event)
    except ConfigError:
        hooks = ()  # the records alone still tell the timings, without the dependencies
    root = os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    return from_records(event, records.read(records.records_dir(root)),
                        {h.name: h.after for h in hooks})


def _report_profiles(event: str, profiles: Labelled, plan: Plan | None, *,
                     svg_path: str | None, as_json: bool) -> None:
    # lazy: call hooks named like its stdlib imports must load as under `hookrun run`
    from hookswarm.executor import timeline

    if svg_path:
        _write_svg(svg_path, timeline.svg(_bars(profiles), title=f"hookrun profile {event}"))
    if as_json:
        emit("profile", {"event": event, "plan": plan.as_json() if plan else None,
                         "profiles": [{"label": label, **result.as_json()}
                                      for label, result in profiles]})
        return
    if not profiles:
        click.echo(f"no {event} hook ran: nothing to profile" if plan else
                   f"no recorded {event} runs yet: they appear under .swarm/hooks/ after "
                   "`hookrun run`")
    for label, result in profiles:
        _print_profile(result, f"hookrun profile {event} with {label}: median run "
                               f"{result.wall_p50_ms:.1f} ms")


def _bars(profiles: Labelled) -> list[Bar]:
    """Every profile's timeline; with several, each bar is labelled with its payload."""
    if len(profiles) == 1:
        return list(profiles[0][1].timeline)
    return [bar._replace(name=f"{label}: {bar.name}") for label, result in profiles
            for bar in result.timeline]


def _check_writable(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):  # found before the runs, not after them
        _fail("profile", f"cannot write {path}: the directory {directory} does not exist")


def _write_svg(path: str, svg: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(svg)
    except OSError as exc:
        _fail("profile", f"cannot write {path} ({exc.strerror}); choose another --svg path")


def _fail(command: str, message: str) -> NoReturn:
    click.echo(f"hookrun {command}: {message}", err=True)
    sys.exit(2)


def _print_profile(result: Profile, title: str) -> None:
    # lazy: call hooks named like its stdlib imports must load as under `hookrun run`
    from hookswarm.executor import timeline

    width = max(len("hook"), *(len(hook.name) for hook in result.hooks))
    click.echo(f"{title}\n\n{'hook':{width}} {'min':>8} {'p50':>8} {'p95':>8} {'max':>8}  "
               f"(ms, {result.runs} runs)")
    for hook in result.hooks:
        click.echo(f"{hook.name:{width}} {hook.min_ms:8.1f} {hook.p50_ms:8.1f} {hook.p95_ms:8.1f} "
                   f"{hook.max_ms:8.1f}  {_statuses(hook.statuses)}")
    click.echo(f"\ncritical path: {' -> '.join(result.critical_path)} "
               f"({result.critical_ms:.1f} ms)")
    click.echo(f"sequential equivalent: {result.sequential_ms:.1f} ms; median run: "
               f"{result.wall_p50_ms:.1f} ms; speedup {result.speedup:.1f}x\n")
    click.echo(timeline.text(result.timeline) + "\n")


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
    # lazy: call hooks named like its stdlib imports must load as under `hookrun run`
    from hookswarm.executor import golden

    _require_config(config_path)
    with stdout_diverted():  # what call hooks print must not end up in the report
        verdicts = [golden.check(f, update=update, config_path=config_path, environ=os.environ,
                          cwd=os.getcwd()) for f in fixtures if not f.endswith(".expected.json")]
    failed = [v for v in verdicts if v.status in (golden.FAIL, golden.MISSING, golden.INVALID)]
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
    # lazy: call hooks named like its stdlib imports must load as under `hookrun run`
    from hookswarm.executor.demo import run_demo

    click.echo(run_demo(project))


def _require_config(config_path: str | None) -> configuration.Config:
    path = _config_path(config_path)
    try:
        return configuration.load(path)
    except ConfigError as exc:
        click.echo(f"hookrun: {exc}; run `hookrun validate` to see every problem", err=True)
        sys.exit(2)


for _command in (install, uninstall, import_hooks, serve):
    cli.add_command(_command)
