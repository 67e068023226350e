"""Every backend, by the name a task's ``backend`` field uses: one dict, one line each."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hookswarm.lib.swarm.backend import Backend
from hookswarm.lib.swarm.claude import ClaudeBackend
from hookswarm.lib.swarm.command import CommandBackend
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.http import http_backends

BackendFactory = Callable[[SwarmConfig, Mapping[str, str] | None], Backend]

BACKENDS: dict[str, BackendFactory] = {
    "claude": ClaudeBackend.from_config,
    "command": CommandBackend.from_config,
}


def backends(config: SwarmConfig, *,
             environ: Mapping[str, str] | None = None) -> dict[str, Backend]:
    """One backend of each kind; ``environ`` is what the workers inherit. The HTTP backends
    (``ollama``, ``openai``) come as a pair: they share one set of supervised servers."""
    return {**{name: make(config, environ) for name, make in BACKENDS.items()},
            **http_backends(config, environ=environ)}
