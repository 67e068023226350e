"""``hookrun serve``: the click command over ``serve`` and ``serve_start``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import NamedTuple, NoReturn

import click

from hookswarm.executor.entry import run as run_fast
from hookswarm.lib import hookconfig as configuration
from hookswarm.settings import files, serving
from hookswarm.settings.entries import hookrun_executable

IDLE_HELP = "Exit after this many seconds without an event."
STOP_WITHIN = 10.0  # seconds `--stop` waits for the server to close its port


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
@click.option("--replacing", is_flag=True, hidden=True,
              help="Started by a server whose call hook modules changed, to take its place.")
@click.option("--user", is_flag=True,
              help="The one server of a user-scope install (`install --serve --scope user`), "
                   "serving every project; its state is kept in the user's Claude directory.")
def serve(port: int | None, config_path: str | None, idle: float, status: bool, stop: bool,
          session_start: bool, replacing: bool, user: bool) -> None:
    project = os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    home = os.path.dirname(files.settings_path("user", project=project, environ=os.environ))
    found_port, token = serving.find(project=project, environ=os.environ,
                                     scopes=("user",) if user else serving.SCOPES)
    port = port or found_port
    if not port or not token:
        _exit(2, "hookrun serve: no port or token installed for this project; run "
                 "`hookrun install --serve` first")
    if status or stop:
        _exit(_status(port, token, stop=stop))
    config = (config_path or os.path.join(home, "hookrun.toml") if user
              else configuration.find(config_path, environ=os.environ, cwd=project))
    served = Served(home if user else project, config, idle, user)
    if session_start:
        _exit(_session_start(port, token, served))
    _foreground(port, token, served, replacing=replacing)


class Served(NamedTuple):
    """Whose server: its state directory's owner, the config, idle time, user scope or not."""

    owner: str
    config: str
    idle: float
    user: bool


def _status(port: int, token: str, *, stop: bool) -> int:
    # the server's modules load only for this verb: validate and test import
    # call hooks, which must meet the same loaded modules as under hookrun run
    from hookswarm.executor.serve import STATUS_ROUTE, STOP_ROUTE, call

    state = call(port, token, STATUS_ROUTE)
    if state is None:
        click.echo(f"hookrun serve: not running on port {port}")
        return 1
    if stop:
        call(port, token, STOP_ROUTE, method="POST")
        # Until the port closes, a session starting now would find the server and rely on it.
        deadline = time.monotonic() + STOP_WITHIN
        while call(port, token, STATUS_ROUTE) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        click.echo(f"hookrun serve: stopped (pid {state['pid']}, port {port})")
    else:
        click.echo(json.dumps(state, indent=2))
    return 0


def _server_argv(port: int, served: Served) -> list[str]:
    return [hookrun_executable(), "serve", "--port", str(port), "--config", served.config,
            "--idle", f"{served.idle:g}", *(["--user"] if served.user else [])]


def _session_start(port: int, token: str, served: Served) -> int:
    # the server's modules load only for this verb: validate and test import
    # call hooks, which must meet the same loaded modules as under hookrun run
    from hookswarm.executor.serve_start import ensure

    argv = _server_argv(port, served)
    problem = ensure(argv, project=served.owner, port=port, token=token, environ=os.environ)
    note = (f"{problem}; this session's http hooks fail open (blocking where "
            "on_error = \"block\") until it runs: start it with `hookrun serve`"
            if problem else "")
    return run_fast(["SessionStart", "--config", served.config, "--if-configured"], note=note)


def _foreground(port: int, token: str, served: Served, *, replacing: bool) -> None:
    # the server's modules load only for this verb: validate and test import
    # call hooks, which must meet the same loaded modules as under hookrun run
    from hookswarm.executor.serve import ServeOptions
    from hookswarm.executor.serve import serve as run_server  # likewise

    def ready(bound: int) -> None:
        # The starter may have gone (Claude Code ended a slow SessionStart entry): its pipe
        # refuses the line, and the server is what the session's http hooks still need.
        with contextlib.suppress(OSError):
            os.write(1, f"ready {bound}\n".encode())
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)  # stdout was the starter's pipe; call hooks' prints go nowhere
        os.close(null)

    environ = dict(os.environ)
    if served.user:  # each event's project is its payload's, as for `hookrun run`
        environ.pop("CLAUDE_PROJECT_DIR", None)
    options = ServeOptions(project=served.owner, config_path=served.config, port=port,
                           token=token, environ=environ, idle=served.idle,
                           restart_argv=tuple(_server_argv(port, served)), replacing=replacing)
    try:
        run_server(options, ready=ready, on_sigterm=True)
    except OSError as exc:
        _exit(2, f"hookrun serve: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")


def _exit(code: int, message: str = "") -> NoReturn:
    if message:
        click.echo(message, err=True)
    sys.exit(code)
