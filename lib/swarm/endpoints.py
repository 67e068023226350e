"""Settings for local-model endpoints: ``[pools.NAME]`` and ``[[servers]]`` in the config.

```toml
[pools.local]
backend = "openai"
endpoints = [{ url = "http://gpu-box:8000/v1", concurrency = 4 },
             { server = "llama", concurrency = "auto" }]

[[servers]]
name = "llama"
command = ["python", "-m", "llama_cpp.server", "--port", "{port}", "--model", "m.gguf"]
ready = "/v1/models"
```
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
_URL = re.compile(r"https?://[^\s/]+\S*")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class EndpointSettings(_Section):
    """One server a pool sends tasks to: a URL, or a ``[[servers]]`` entry swarm runs."""

    url: str = ""
    server: str = ""
    concurrency: Annotated[int, Field(ge=1)] | Literal["auto"] = 1

    @model_validator(mode="after")
    def _one_target(self) -> EndpointSettings:
        if bool(self.url) == bool(self.server):
            raise ValueError("an endpoint needs 'url' or 'server' (the name of a [[servers]] "
                             "entry), not both")
        if self.url and not _URL.fullmatch(self.url):
            raise ValueError(f"'{self.url}' is not an http:// or https:// URL")
        return self


class AutoSettings(_Section):
    """How ``concurrency = "auto"`` measures: levels 1, 2, 4, ... up to ``max``."""

    max: int = Field(default=8, ge=1)
    min_gain: float = Field(default=0.10, ge=0)
    max_latency_ratio: float = Field(default=3.0, gt=1)
    requests_per_level: int = Field(default=0, ge=0)
    max_tokens: int = Field(default=16, ge=1)


class PoolSettings(_Section):
    """Endpoints that serve one backend's tasks; a task goes to the least-loaded healthy one."""

    backend: Literal["ollama", "openai"]
    endpoints: tuple[EndpointSettings, ...] = Field(min_length=1)
    keep_alive: str | None = None
    warm_up: bool = True
    retries: int = Field(default=3, ge=0)
    pause: float = Field(default=2.0, gt=0)
    auto: AutoSettings = AutoSettings()


class ServerSettings(_Section):
    """A model server swarm starts when a task needs it and restarts when it dies."""

    name: str = Field(pattern=_NAME)
    command: tuple[str, ...] = Field(min_length=1)
    port: int = Field(default=0, ge=0, le=65535)
    url: str = "http://127.0.0.1:{port}"
    ready: str = "/v1/models"  # a path from the server's root (not from its url's path)
    ready_timeout: float = Field(default=120.0, gt=0)
    cwd: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    backoff: tuple[float, float] = (0.5, 30.0)
    max_restarts: int = Field(default=5, ge=0)

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return shlex.split(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _port_placeholder(self) -> ServerSettings:
        if self.port == 0 and not any("{port}" in part for part in self.command):
            raise ValueError("the command needs a '{port}' placeholder (or give a fixed 'port')")
        if not self.ready.startswith("/"):
            raise ValueError(f"'ready' is a path on the server, like /v1/models (got "
                             f"'{self.ready}')")
        return self


def unknown_servers(pools: dict[str, PoolSettings], servers: tuple[ServerSettings, ...]) -> str:
    """The first ``pools.NAME`` endpoint naming a server that is not configured, as a message."""
    names = {s.name for s in servers}
    for pool_name, pool in pools.items():
        for endpoint in pool.endpoints:
            if endpoint.server and endpoint.server not in names:
                return (f"pools.{pool_name}: no [[servers]] entry is named '{endpoint.server}' "
                        f"(configured: {', '.join(sorted(names)) or 'none'})")
    return ""
