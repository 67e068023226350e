"""The coordinator's settings: ``.swarm/config.toml`` (every key optional), flags on top.

Unknown keys are rejected with the key named. ``limits_for`` folds a task's own overrides into
the timeout and heartbeat policies, as a pure function.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hookswarm.lib.swarm.endpoints import PoolSettings, ServerSettings, unknown_servers
from hookswarm.lib.swarm.errors import TaskFileError, first_problem
from hookswarm.lib.swarm.heartbeat import HeartbeatPolicy
from hookswarm.lib.swarm.task import Backend, Task, read_text
from hookswarm.lib.swarm.timeouts import TimeoutPolicy, initial_deadline

CLAUDE_BIN_ENV = "HOOKSWARM_CLAUDE_BIN"
# The pinned Claude Code (2.1.x) has no MultiEdit or LS tool; its init event lists the rest.
DEFAULT_ALLOWED_TOOLS = ("Read", "Write", "Edit", "Glob", "Grep")


_Seconds = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TimeoutSettings(_Section):
    initial: tuple[_Seconds, _Seconds, _Seconds] = (60.0, 120.0, 180.0)
    extend: float = Field(default=60.0, ge=0)
    cap: float = Field(default=240.0, gt=0)
    grace: float = Field(default=5.0, ge=0)


class HeartbeatSettings(_Section):
    warn: float = Field(default=45.0, gt=0)
    kill: float = Field(default=90.0, gt=0)


class HealthSettings(_Section):
    ttl: float = Field(default=30.0, gt=0)
    probe_timeout: float = Field(default=3.0, gt=0)
    on_unhealthy: Literal["wait", "fail"] = "wait"
    wait_limit: float = Field(default=600.0, ge=0)


class ClaudeSettings(_Section):
    bin: str = ""
    model: str = "sonnet"
    max_retries: int = Field(default=2, ge=0)
    allowed_tools: tuple[str, ...] = DEFAULT_ALLOWED_TOOLS
    extra_args: tuple[str, ...] = ()
    max_line: int = Field(default=16 * 1024 * 1024, ge=1024)

    def binary(self) -> str:
        """The configured path, else ``$HOOKSWARM_CLAUDE_BIN``, else ``claude`` on PATH."""
        return self.bin or os.environ.get(CLAUDE_BIN_ENV) or "claude"


class SwarmConfig(_Section):
    """Every knob of the coordinator, with the documented defaults."""

    max_parallel: int = Field(default=5, ge=1)
    caps: dict[Backend, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    inline_context: int = Field(default=500, ge=0)
    retention_days: float = Field(default=7.0, ge=0)
    max_attempts: int = Field(default=2, ge=1)
    poll_interval: float = Field(default=0.05, gt=0)
    log_max: int = Field(default=64 * 1024 * 1024, ge=4096)
    timeouts: TimeoutSettings = TimeoutSettings()
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    health: HealthSettings = HealthSettings()
    claude: ClaudeSettings = ClaudeSettings()
    pools: dict[str, PoolSettings] = Field(default_factory=dict)
    servers: tuple[ServerSettings, ...] = ()

    @model_validator(mode="after")
    def _servers_exist(self) -> SwarmConfig:
        problem = unknown_servers(self.pools, self.servers)
        if problem:
            raise ValueError(problem)
        return self

    def cap(self, backend: str) -> int:
        caps: dict[str, int] = dict(self.caps.items())
        return min(caps.get(backend, self.max_parallel), self.max_parallel)


def load_config(path: str | Path | None, *, required: bool = False) -> SwarmConfig:
    """Read a config file; ``None`` or a missing file gives the defaults, unless ``required``."""
    if path is None or (not required and not Path(path).exists()):
        return SwarmConfig()
    text = read_text(Path(path), what="config")
    try:
        return SwarmConfig.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise TaskFileError(f"cannot read the config: {exc}", path=str(path)) from None
    except ValidationError as exc:
        raise _config_error(exc, str(path)) from None


def _config_error(exc: ValidationError, path: str) -> TaskFileError:
    key, reason = first_problem(exc, SwarmConfig)
    loc = [str(part) for part in exc.errors()[0]["loc"]]  # a cap's name may hold a dot
    if loc[:1] == ["caps"] and loc[-1] == "[key]":
        return TaskFileError("unknown backend (caps are per backend: claude, command, ollama, "
                             "openai)", path=path, key=".".join(loc[:2]))
    return TaskFileError(reason, path=path, key=key)


@dataclass(frozen=True, slots=True)
class Limits:
    """The time limits one worker runs under."""

    timeouts: TimeoutPolicy
    heartbeat: HeartbeatPolicy
    grace: float
    initial: float


def limits_for(config: SwarmConfig, task: Task) -> Limits:
    """The config's limits with the task's overrides applied."""
    over = task.timeouts
    base = config.timeouts
    cap = over.cap if over.cap is not None else base.cap
    policy = TimeoutPolicy(initial=base.initial, extend=_pick(over.extend, base.extend), cap=cap)
    initial = (min(over.initial, cap) if over.initial is not None
               else initial_deadline(policy, task.level()))
    heartbeat = HeartbeatPolicy(warn=_pick(over.silence_warn, config.heartbeat.warn),
                                kill=_pick(over.silence_kill, config.heartbeat.kill))
    return Limits(policy, heartbeat, _pick(over.grace, base.grace), initial)


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value
