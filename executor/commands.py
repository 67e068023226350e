"""The click group behind every ``hookrun`` verb except the hot ``run`` path."""

from __future__ import annotations

import sys

import click

from hookswarm.executor import config as configuration
from hookswarm.lib.errors import ConfigError


@click.group(help="Run Claude Code hooks as one dependency graph, and see where time goes.")
def cli() -> None:
    pass


@cli.command(help="Run the hooks for one event (payload on stdin). Claude Code calls this.")
@click.argument("event", required=False)
@click.option("--config", "config_path", type=click.Path(), help="hookrun.toml to use.")
def run(event: str | None, config_path: str | None) -> None:
    from hookswarm.executor.cli import run as run_fast

    args = [a for a in (event,) if a] + (["--config", config_path] if config_path else [])
    sys.exit(run_fast(args))


@cli.command(help="Check hookrun.toml and report every problem.")
@click.option("--config", "config_path", type=click.Path(), help="hookrun.toml to check.")
def validate(config_path: str | None) -> None:
    import os

    path = configuration.find(config_path, environ=os.environ, cwd=os.getcwd())
    try:
        config = configuration.load(path)
    except ConfigError as exc:
        click.echo(f"hookrun: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{path}: {len(config.hooks)} hooks on {', '.join(config.events()) or 'no events'}")
