"""The ``swarm`` command line: parse, call, map to an exit code. No logic lives here.

Exit codes: 0 every task succeeded (``health``: every backend is healthy); 1 some task did
not succeed (``health``: a backend is down); 2 bad input (a malformed task file, an unknown
id, a bad flag).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import click

from hookswarm.lib import fanout
from hookswarm.lib.errors import HookswarmError
from hookswarm.lib.json_report import json_report
from hookswarm.lib.swarm import bench as measure
from hookswarm.lib.swarm import review as reviews
from hookswarm.lib.swarm.batch import StoreRunner
from hookswarm.lib.swarm.chat import EndpointFailed, Refused
from hookswarm.lib.swarm.config import SwarmConfig, load_config
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.council import CouncilRun, load_council
from hookswarm.lib.swarm.plan import load_plan
from hookswarm.lib.swarm.plan_report import markdown, plan_report
from hookswarm.lib.swarm.plan_run import PlanRun
from hookswarm.lib.swarm.progress import Progress, summary_table
from hookswarm.lib.swarm.report import (
    finished_tasks,
    health_lines,
    probe_all,
    status_report,
    used_backends,
)
from hookswarm.lib.swarm.result import TaskResult
from hookswarm.lib.swarm.servers import ServerFailed
from hookswarm.lib.swarm.store import SWARM_DIR, Store
from hookswarm.lib.swarm.task import Task, build_tasks, load_tasks, read_text, valid_id
from hookswarm.lib.swarm.tasklog import LogFollower

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


class _Env:
    def __init__(self, project: Path, config_path: Path | None, overrides: dict[str, Any]) -> None:
        self.project = project
        self.config_given = config_path is not None
        self.config_path = config_path or project / ".swarm" / "config.toml"
        self.overrides = overrides

    def config(self) -> SwarmConfig:
        config = load_config(self.config_path, required=self.config_given)
        update: dict[str, Any] = {}
        if self.overrides.get("max_parallel"):
            update["max_parallel"] = self.overrides["max_parallel"]
        if self.overrides.get("claude_bin"):
            claude_bin = self.overrides["claude_bin"]
            update["claude"] = config.claude.model_copy(update={"bin": claude_bin})
        return config.model_copy(update=update)

    def store(self) -> Store:
        return Store.for_project(self.project)

    def existing_store(self) -> Store | None:
        """The store for a verb that creates nothing, or None when there is no ``.swarm/``."""
        if not (self.project / SWARM_DIR).is_dir():
            return None
        return Store.for_project(self.project, create=False)


pass_env = click.make_pass_decorator(_Env)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hookswarm")
@click.option("--dir", "project", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=".", help="Project directory holding .swarm/ (default: the current one).")
@click.option("--config", "config_path",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Config file (default: .swarm/config.toml, if it exists).")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Global cap on running workers.")
@click.option("--claude-bin", help="The claude executable (default: $HOOKSWARM_CLAUDE_BIN, "
                                   "else claude on PATH).")
@click.pass_context
def cli(ctx: click.Context, project: Path, config_path: Path | None, max_parallel: int | None,
        claude_bin: str | None) -> None:
    """Coordinate claude -p agents and command workers under .swarm/."""
    ctx.obj = _Env(project.resolve(), config_path,
                   {"max_parallel": max_parallel, "claude_bin": claude_bin})


def _task_options(func: Any) -> Any:
    options = [
        click.option("--backend", type=click.Choice(["claude", "command", "ollama", "openai"]),
                     default=None),
        click.option("--prompt", default=None, help="What the worker should do."),
        click.option("--context", default=None, help="Context text (long text goes to a file)."),
        click.option("--context-file", type=click.Path(exists=True, dir_okay=False), default=None),
        click.option("--model", default=None),
        click.option("--cwd", default=None),
        click.option("--owns", multiple=True, help="A glob the task may write (repeatable)."),
        click.option("--expects", multiple=True, help="A file the task must produce (repeatable)."),
        click.option("--complexity", type=click.IntRange(1, 3), default=None),
        click.option("--max-turns", type=click.IntRange(min=1), default=None),
        click.option("--endpoint", default=None, help="A model server's URL (ollama, openai)."),
        click.option("--pool", default=None, help="A [pools.NAME] of the config."),
        click.option("--system", default=None, help="The model's system prompt."),
        click.option("--output", type=click.Choice(["text", "files"]), default=None,
                     help="files: write the answer's fenced blocks inside --owns."),
        click.option("--env", "env_pairs", multiple=True, callback=_env_pairs,
                     help="NAME=VALUE (repeatable)."),
        click.option("--id", "task_id", default=None),
        click.argument("argv", nargs=-1),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _env_pairs(ctx: click.Context, param: click.Parameter,
               pairs: tuple[str, ...]) -> dict[str, str]:
    bad = next((pair for pair in pairs if "=" not in pair), None)
    if bad is not None:
        raise click.BadParameter(f"'{bad}' has no '='; write NAME=VALUE", ctx=ctx, param=param)
    return dict(pair.split("=", 1) for pair in pairs)


def _flag_task(flags: dict[str, Any], *, base: str) -> list[Task]:
    entry: dict[str, Any] = {}
    if flags.get("context_file"):
        entry["context"] = read_text(Path(flags["context_file"]), what="context file")
    for key in ("backend", "prompt", "context", "model", "cwd", "complexity", "max_turns",
                "endpoint", "pool", "system", "output"):
        if flags.get(key) is not None:
            entry[key] = flags[key]
    for key in ("owns", "expects", "argv"):
        if flags.get(key):
            entry[key] = list(flags[key])
    if flags.get("argv") and "backend" not in entry:
        entry["backend"] = "command"
    if flags.get("task_id"):
        entry["id"] = flags["task_id"]
    entry["env"] = flags.get("env_pairs") or {}
    return build_tasks([entry], source="flags", base=base)


def _fail_input(error: Exception) -> NoReturn:
    click.echo(f"swarm: {error}", err=True)
    sys.exit(EXIT_INPUT)


@contextlib.contextmanager
def _input_errors() -> Iterator[None]:
    """Bad input (a task file, the config) ends the command with one line and exit 2."""
    try:
        yield
    except HookswarmError as exc:
        _fail_input(exc)


@cli.command()
@click.argument("taskfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_env
def run(env: _Env, taskfile: Path, as_json: bool) -> None:
    """Run every task in TASKFILE (TOML or JSON) and wait for all of them."""
    with _input_errors():
        tasks = load_tasks(taskfile, base=str(env.project))
        config = env.config()
    sys.exit(_run_tasks(env, config, tasks, as_json=as_json))


@cli.command()
@_task_options
@click.option("--json", "as_json", is_flag=True)
@pass_env
def spawn(env: _Env, /, as_json: bool, **flags: Any) -> None:
    """Run one task given by flags (command tasks: swarm spawn -- ARGV...)."""
    with _input_errors():
        tasks = _flag_task(flags, base=str(env.project))
        config = env.config()
    sys.exit(_run_tasks(env, config, tasks, as_json=as_json))


def _run_tasks(env: _Env, config: SwarmConfig, tasks: Sequence[Task], *,
               as_json: bool) -> int:
    store = env.store()
    with _input_errors():
        ids = store.submit(tasks)
    progress = Progress(total=len(ids), stream=sys.stderr, quiet=as_json)
    coordinator = Coordinator(store, config, on_event=progress.on_event)
    anyio.run(_until_signalled, lambda: coordinator.run(only=ids))
    progress.close()
    rows = [r.to_json() if (r := coordinator.results.get(i)) else _stored_result(store, i)
            for i in ids]
    if as_json:
        click.echo(json_report(click.get_current_context().info_name or "run",
                               {"results": rows}))
    else:
        click.echo(summary_table(rows, base=str(env.project)))
    succeeded = all(TaskResult.from_json(row).succeeded for row in rows)
    return EXIT_OK if succeeded else EXIT_FAILED


def _stored_result(store: Store, task_id: str) -> dict[str, Any]:
    """A result another coordinator wrote; a stand-in when the task has none."""
    found = store.result(task_id)
    return found or {"id": task_id, "status": "failed", "reason": "no result"}


async def _until_signalled(work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work``; SIGTERM or SIGINT cancels it (the coordinator then stops its workers).

    The receiver stays open until ``work`` has unwound, so a second signal during the
    workers' shutdown grace is absorbed instead of aborting the cleanup.
    """
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with anyio.create_task_group() as group:
            async def stop_on_signal() -> None:
                async for _ in signals:
                    group.cancel_scope.cancel()
                    return

            group.start_soon(stop_on_signal)
            await work()
            group.cancel_scope.cancel()


@cli.command()
@click.option("--exit-when-idle", is_flag=True, help="Stop once the queue is empty.")
@pass_env
def serve(env: _Env, exit_when_idle: bool) -> None:
    """Work through .swarm/requests/ until stopped (SIGTERM/SIGINT requeue running tasks).

    Exits 1 when a task it ended did not succeed.
    """
    with _input_errors():
        config = env.config()
    progress = Progress(total=0, stream=sys.stderr, quiet=False, lines=True)
    coordinator = Coordinator(env.store(), config, on_event=progress.on_event)

    async def work() -> None:
        click.echo("swarm serve: ready", err=True)
        await coordinator.run(until_idle=exit_when_idle)

    anyio.run(_until_signalled, work)
    if coordinator.halted:
        click.echo(f"swarm serve: stopped admitting: {coordinator.halted}", err=True)
    sys.exit(EXIT_FAILED if progress.unsuccessful or coordinator.halted else EXIT_OK)


@cli.command()
@click.option("-f", "--file", "taskfile", type=click.Path(dir_okay=False, path_type=Path),
              help="A task file (TOML or JSON) instead of flags.")
@_task_options
@click.option("--json", "as_json", is_flag=True, help="Print the ids as JSON.")
@pass_env
def submit(env: _Env, /, taskfile: Path | None, as_json: bool, **flags: Any) -> None:
    """Queue tasks for `swarm serve`: -f TASKFILE, or one task from flags. Prints the ids."""
    with _input_errors():
        tasks = (load_tasks(taskfile, base=str(env.project)) if taskfile
                 else _flag_task(flags, base=str(env.project)))
        ids = env.store().submit(tasks)
    if as_json:
        click.echo(json_report("submit", {"ids": ids}))
        return
    for task_id in ids:
        click.echo(task_id)


_EMPTY_STATUS: dict[str, Any] = {"active": 0, "queued": 0, "finished": 0, "efficiency": None,
                                 "running": [], "orphaned": [], "by_status": {}, "damaged": []}


@cli.command()
@click.option("--all", "everything", is_flag=True, help="List every finished task.")
@click.option("--last", type=click.IntRange(min=1), default=None,
              help="List the N finished tasks that ended last.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def status(env: _Env, everything: bool, last: int | None, as_json: bool) -> None:
    """Active, queued and finished counts, and the last session's parallel efficiency.

    Parallel efficiency is ideal wall time over measured wall time.
    """
    with _input_errors():
        config = env.config()
    store = env.existing_store()
    report = (status_report(store, max_parallel=config.max_parallel) if store is not None
              else {**_EMPTY_STATUS, "max_parallel": config.max_parallel})
    if everything or last:
        report["tasks"] = finished_tasks(store, last=last) if store is not None else []
    if as_json:
        click.echo(json_report("status", report))
        return
    eff = report["efficiency"]
    click.echo(f"active {report['active']}  queued {report['queued']}  "
               f"finished {report['finished']}  parallel efficiency "
               f"{'-' if eff is None else f'{eff:.1%}'} (cap {report['max_parallel']})")
    for task in report["running"]:
        click.echo(f"  running {task['id']}  pid {task.get('pid', '-')}  {task['backend']}")
    for task in report["orphaned"]:
        click.echo(f"  orphaned {task['id']}  {task['backend']}  ({task['reason']})")
    for line in report["damaged"]:
        click.echo(f"  damaged: {line}")
    for name, count in sorted(report["by_status"].items()):
        click.echo(f"  {name}: {count}")
    for task in report.get("tasks", ()):
        click.echo(f"  {task['status']:10} {task['id']}  {task.get('reason') or ''}".rstrip())


@cli.command()
@click.argument("task_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the task has a result.")
@click.option("--json", "as_json", is_flag=True,
              help="The whole log (with -f: once the task has a result) as JSON.")
@pass_env
def logs(env: _Env, task_id: str, follow: bool, as_json: bool) -> None:
    """Print what the worker of TASK_ID printed."""
    store = env.existing_store()
    if (store is None or not valid_id(task_id)
            or (not store.known(task_id) and not store.log_path(task_id).exists())):
        _fail_input(HookswarmError(f"no task '{task_id}' in {env.project / '.swarm'}; "
                                   "`swarm status --all` lists every finished task"))
    if as_json:
        click.echo(json_report("logs", _log_report(store, task_id, follow=follow)))
        return
    follower = LogFollower(store.log_path(task_id))
    try:
        while True:
            final = not follow or not _may_print(store, task_id)
            sys.stdout.buffer.write(follower.read(final=final))
            sys.stdout.flush()
            if final:
                break
            time.sleep(0.2)
    finally:
        follower.close()
    if follow and store.result(task_id) is None:
        click.echo(_GONE.format(task_id), err=True)
        sys.exit(EXIT_FAILED)


_GONE = ("swarm: task '{}' left .swarm/ before it had a result (removed by `swarm clean` or by "
         "hand); its log ends here")


def _may_print(store: Any, task_id: str) -> bool:
    """Whether a followed task may print more: no result yet, and still in the store.

    A requeue writes the request before it drops the claim, so a task that seems gone is
    looked for once more before a follower gives up on it.
    """
    for look in range(2):
        if store.result(task_id) is not None:
            return False
        if store.known(task_id):
            return True
        if not look:
            time.sleep(0.05)
    return False


def _log_report(store: Any, task_id: str, *, follow: bool) -> dict[str, Any]:
    while follow and _may_print(store, task_id):
        time.sleep(0.2)
    result = store.result(task_id)
    path = store.log_path(task_id)
    follower = LogFollower(path)
    try:
        text = follower.read(final=True).decode("utf-8", "replace")
    finally:
        follower.close()
    return {"id": task_id, "log": str(path), "status": result and result.get("status"),
            "text": text}


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_env
def health(env: _Env, as_json: bool) -> None:
    """Probe every backend now, concurrently.

    Exits 1 when a backend that a queued or running task, the config or a flag uses is down.
    """
    with _input_errors():
        config = env.config()
    store = env.existing_store()
    answers = anyio.run(lambda: probe_all(config, root=store.root if store else None))
    used = used_backends(config, store)
    for name, answer in answers.items():
        answer["used"] = name in used or "endpoints" in answer  # a pool: the config names it
    if as_json:
        click.echo(json_report("health", {"backends": answers}))
    else:
        for line in health_lines(answers):
            click.echo(line)
    down = [a for a in answers.values() if a["used"] and not a["ok"]]
    sys.exit(EXIT_FAILED if down else EXIT_OK)


@cli.command()
@click.option("--older-than", type=click.FloatRange(min=0), default=None,
              help="Days to keep finished tasks (default: retention_days from the config).")
@click.option("--all", "everything", is_flag=True, help="Remove every finished task.")
@click.option("--json", "as_json", is_flag=True, help="Print the removed ids as JSON.")
@pass_env
def clean(env: _Env, older_than: float | None, everything: bool, as_json: bool) -> None:
    """Apply the retention policy to results, logs and context files."""
    with _input_errors():
        config = env.config()
    days = 0.0 if everything else (config.retention_days if older_than is None else older_than)
    store = env.existing_store()
    removed = store.clean(older_than=days * 86400) if store is not None else []
    if as_json:
        click.echo(json_report("clean", {"removed": removed or [], "skipped": removed is None}))
    if removed is None:
        click.echo("swarm clean: the store is busy; skipped", err=True)
    elif not as_json:
        click.echo(f"removed {len(removed)} finished task(s)")


def _levels(ctx: click.Context, param: click.Parameter, text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",")]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise click.BadParameter(f"'{text}' is not a comma-separated list of counts like 1,2,4,8",
                                 ctx=ctx, param=param)
    return levels


@cli.command()
@click.option("--backend", type=click.Choice(["ollama", "openai"]), required=True)
@click.option("--endpoint", "target", help="The server's URL (or use --pool).")
@click.option("--pool", help="A pool from .swarm/config.toml; its first endpoint is measured.")
@click.option("--model", required=True)
@click.option("--levels", default="1,2,4,8", callback=_levels, show_default=True,
              help="Parallel levels to measure.")
@click.option("-n", "--tasks", type=click.IntRange(min=1), default=8, show_default=True,
              help="Requests per level (at least the level).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--cold/--no-cold", default=True, help="Also measure after unloading the model "
                                                      "(Ollama only).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an SVG chart of throughput against concurrency here.")
@pass_env
def bench(env: _Env, backend: str, target: str | None, pool: str | None, model: str,
          levels: list[int], tasks: int, max_tokens: int, cold: bool, as_json: bool,
          chart: Path | None) -> None:
    """Measure an endpoint's throughput at several parallel levels, warm and cold."""
    if bool(target) == bool(pool):
        _fail_input(HookswarmError("give --endpoint URL or --pool NAME"))
    with _input_errors():
        config = env.config()
        try:
            base, rows = anyio.run(lambda: measure.bench_target(
                config, env.store().root, backend=backend, target=str(target or pool),
                model=model, levels=levels, tasks=tasks, max_tokens=max_tokens, cold=cold))
        except (EndpointFailed, Refused, ServerFailed) as exc:
            click.echo(f"swarm bench: {exc}", err=True)
            sys.exit(EXIT_FAILED)
    if chart is not None:
        chart.write_text(measure.svg(rows, title=f"{model} on {base} ({backend})"))
    if as_json:
        click.echo(json_report("bench", measure.as_json(rows, backend=backend, endpoint=base,
                                                         model=model)))
    else:
        click.echo(measure.table(rows))


@cli.group()
def plan() -> None:
    """Phased plans: tasks in phases, contracts checksummed and gates run between phases."""


@plan.command("run")
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_env
def plan_run(env: _Env, planfile: Path, as_json: bool) -> None:
    """Run PLANFILE from its first phase (a previous run's state is replaced)."""
    sys.exit(_plan(env, planfile, as_json=as_json, resume=False))


@plan.command("resume")
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_env
def plan_resume(env: _Env, planfile: Path, as_json: bool) -> None:
    """Continue PLANFILE after its last passed gate, rerunning only what did not succeed."""
    sys.exit(_plan(env, planfile, as_json=as_json, resume=True))


def _plan(env: _Env, planfile: Path, *, as_json: bool, resume: bool) -> int:


    progress = Progress(total=0, stream=sys.stderr, quiet=as_json, lines=True)
    with _input_errors():
        config = env.config()
        store = env.store()
        run = PlanRun(load_plan(planfile, base=str(env.project)), store.root,
                      StoreRunner(store, config, on_event=progress.on_event))
        run.load() if resume else run.fresh()

    async def work() -> None:
        await run.run()

    anyio.run(_until_signalled, work)
    report = plan_report(run.state)
    click.echo(json_report("plan", report) if as_json else markdown(report))
    return EXIT_OK if report["status"] == "passed" else EXIT_FAILED


@cli.command()
@click.argument("reviewfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_env
def review(env: _Env, reviewfile: Path, as_json: bool) -> None:
    """Map subtasks to findings, then reduce over only the verified ones."""

    store, runner = _pattern_runner(env, quiet=as_json)
    with _input_errors():
        loaded = reviews.load_review(reviewfile, base=str(env.project))
    report = _run_pattern(lambda: reviews.run_review(loaded, runner, store.root))
    click.echo(json_report("review", report) if as_json else reviews.markdown(report))
    sys.exit(EXIT_OK if report["reduce"]["status"] == "succeeded" else EXIT_FAILED)


@cli.command()
@click.argument("councilfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--speculate/--no-speculate", default=None,
              help="Start the next round while the arbiter works (default: the file's).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_env
def council(env: _Env, councilfile: Path, speculate: bool | None, as_json: bool) -> None:
    """Personas answer in rounds, an arbiter synthesizes, until they converge."""


    store, runner = _pattern_runner(env, quiet=as_json)
    with _input_errors():
        loaded = load_council(councilfile, base=str(env.project))
    if speculate is not None:
        loaded = dataclasses.replace(loaded, speculate=speculate)
    report = _run_pattern(CouncilRun(loaded, runner, store.root).run)
    if as_json:
        click.echo(json_report("council", report))
    else:
        click.echo(f"{report['result']}\n\n({report['decision']} after {report['rounds']} "
                   f"round(s); transcript: {report['transcript']})")
    sys.exit(EXIT_OK if report["decision"].startswith("converged") else EXIT_FAILED)


def _pattern_runner(env: _Env, *, quiet: bool) -> tuple[Any, Any]:

    progress = Progress(total=0, stream=sys.stderr, quiet=quiet, lines=True)
    with _input_errors():
        store = env.store()
        return store, StoreRunner(store, env.config(), on_event=progress.on_event)


def _run_pattern(work: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:

    box: list[dict[str, Any]] = []

    async def keep() -> None:
        box.append(await work())

    anyio.run(_until_signalled, keep)
    if not box:
        click.echo("swarm: stopped by a signal before the end; results so far are in .swarm/",
                   err=True)
        sys.exit(EXIT_FAILED)
    return box[0]


@cli.command("map")
@click.argument("url")
@click.option("--items", "items_file", type=click.File("r"), default="-", show_default=True,
              help="One item a line ('-': stdin); with POST each line is a JSON value.")
@click.option("--method", type=click.Choice(["GET", "POST", "PUT"]), default="GET",
              show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--retries", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds per request.")
@click.option("--fail-fast", is_flag=True, help="Skip the remaining items after a failure.")
@click.option("--json", "as_json", is_flag=True, help="One report instead of JSON lines.")
def map_items(url: str, items_file: Any, method: str, workers: int, retries: int,
              timeout: float, fail_fast: bool, as_json: bool) -> None:
    """Call URL once per item ({item} in URL is the item); results in input order."""


    lines = [line.rstrip("\n") for line in items_file if line.strip()]
    try:
        items = [json.loads(line) for line in lines] if method != "GET" else lines
    except ValueError as exc:
        _fail_input(HookswarmError(f"--items: a line is not JSON ({exc}); with {method} each "
                                   "line is a JSON value"))
    try:
        call = fanout.HttpCall(url, method=method, timeout=timeout)
    except ValueError as exc:
        _fail_input(HookswarmError(f"{exc}; give the URL to call, like "
                                   "http://127.0.0.1:8080/items/{item}"))
    with call:
        outcomes, seconds = fanout.timed(lambda: fanout.fanout(
            call, items, workers=workers, retries=retries, fail_fast=fail_fast))
    if as_json:
        click.echo(json_report("map", {**fanout.summary(outcomes, seconds),
                                       "results": [o.as_json() for o in outcomes]}))
    else:
        for outcome in outcomes:
            click.echo(json.dumps(outcome.as_json()))
    sys.exit(EXIT_OK if all(o.state is fanout.State.OK for o in outcomes) else EXIT_FAILED)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="swarm")
    except OSError as exc:  # a file of .swarm/ itself: one line naming it, not a traceback
        _fail_input(HookswarmError(
            f"cannot use {exc.filename or '.swarm/'} ({exc.strerror or exc}); fix it (its owner "
            "and permissions, or a file where a folder belongs)"))


if __name__ == "__main__":
    main()
