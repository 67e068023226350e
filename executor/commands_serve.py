"""``hookrun serve``: the click command over ``serve`` and ``serve_start``."""

from __future__ import annotations

import json
import os
import sys
from typing import NoReturn

import click

from hookswarm.executor.entry import run as run_fast
from hookswarm.lib import hookconfig as configuration

IDLE_HELP = "Exit after this many seconds without an event."


@click.command(help="A warm hookrun that Claude Code reaches through the type \"http\" entries "
                    "`hookrun install --serve` writes: one server per project, on 127.0.0.1.",
               epilog="\b\nExamples:\n  hookrun serve --status\n  hookrun serve --stop\n"
                      "  hookrun serve --idle 600")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port (default: the one in the installed entries).")
@click.option("--config", "config_path", type=click.Path(), help="hookrun.toml to serve.")
@click.option("--idle", type=click.FloatRange(min=1.0), default=8 * 3600.0, show_default=True,
              help=IDLE_HELP)
@click.option("--status", is_flag=True, help="Say whether the server runs (exit 1 if not).")
@click.option("--stop", is_flag=True, help="Stop the running server.")
@click.option("--session-start", is_flag=True,
              help="What SessionStart's entry runs: start the server unless it runs, then run "
                   "the SessionStart hooks (payload on stdin).")
def serve(port: int | None, config_path: str | None, idle: float, status: bool, stop: bool,
          session_start: bool) -> None:
    from hookswarm.settings import serving

    project = os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    found_port, token = serving.find(project=project, environ=os.environ)
    port = port or found_port
    if not port or not token:
        _exit(2, "hookrun serve: no port or token installed for this project; run "
                 "`hookrun install --serve` first")
    if status or stop:
        _exit(_status(port, token, stop=stop))
    config = configuration.find(config_path, environ=os.environ, cwd=project)
    if session_start:
        _exit(_session_start(port, token, project, config, idle))
    _foreground(port, token, project, config, idle)


def _status(port: int, token: str, *, stop: bool) -> int:
    from hookswarm.executor.serve import STATUS_ROUTE, STOP_ROUTE, call

    state = call(port, token, STATUS_ROUTE)
    if state is None:
        click.echo(f"hookrun serve: not running on port {port}")
        return 1
    if stop:
        call(port, token, STOP_ROUTE, method="POST")
        click.echo(f"hookrun serve: stopped (pid {state['pid']}, port {port})")
    else:
        click.echo(json.dumps(state, indent=2))
    return 0


def _session_start(port: int, token: str, project: str, config: str, idle: float) -> int:
    from hookswarm.executor.serve_start import ensure
    from hookswarm.settings.entries import hookrun_executable

    argv = [hookrun_executable(), "serve", "--port", str(port), "--config", config,
            "--idle", f"{idle:g}"]
    problem = ensure(argv, project=project, port=port, token=token, environ=os.environ)
    if problem:
        os.write(2, f"{problem}; the http hooks fail open until it runs (`hookrun serve`)\n"
                 .encode())
    return run_fast(["SessionStart", "--config", config, "--if-configured"])


def _foreground(port: int, token: str, project: str, config: str, idle: float) -> None:
    from hookswarm.executor.serve import ServeOptions
    from hookswarm.executor.serve import serve as run_server

    def ready(bound: int) -> None:
        sys.stdout.write(f"ready {bound}\n")
        sys.stdout.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)  # stdout was the starter's pipe; call hooks' prints go nowhere
        os.close(null)

    options = ServeOptions(project=project, config_path=config, port=port, token=token,
                           environ=dict(os.environ), idle=idle)
    try:
        run_server(options, ready=ready, on_sigterm=True)
    except OSError as exc:
        _exit(2, f"hookrun serve: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")


def _exit(code: int, message: str = "") -> NoReturn:
    if message:
        click.echo(message, err=True)
    sys.exit(code)
