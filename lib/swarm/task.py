"""The typed task and task files (TOML or JSON; one task, a list, or ``{defaults, tasks}``).

A malformed file names the task (its position and id) and the offending key, and no task is
returned, so nothing starts.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from hookswarm.lib.swarm.complexity import complexity_score
from hookswarm.lib.swarm.errors import TaskFileError, first_problem
from hookswarm.lib.swarm.ownership import outside

BACKENDS = ("claude", "command", "ollama", "openai")
Backend = Literal["claude", "command", "ollama", "openai"]
HTTP_BACKENDS = ("ollama", "openai")
_ID_ALPHABET = string.ascii_lowercase + string.digits
_FILE_KEYS = frozenset({"defaults", "tasks"})
_MERGED_KEYS = ("env", "timeouts")  # tables merged key by key with [defaults]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ID_MAX = 128
DEFAULTS_LABEL = "[defaults]"


def valid_id(text: str) -> bool:
    """Whether ``text`` is a well-formed task id (safe as a file name under ``.swarm/``)."""
    return len(text) <= ID_MAX and re.fullmatch(ID_PATTERN, text) is not None


def new_id(prefix: str = "task", *, epoch_ms: int | None = None, rand: str | None = None) -> str:
    """``{prefix}-{epoch_ms}-{6 random chars}``."""
    ms = int(time.time() * 1000) if epoch_ms is None else epoch_ms
    tail = rand if rand is not None else "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))
    return f"{prefix}-{ms}-{tail}"


class Timeouts(BaseModel):
    """Per-task overrides of the coordinator's time limits, in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    initial: float | None = Field(default=None, gt=0)
    extend: float | None = Field(default=None, ge=0)
    cap: float | None = Field(default=None, gt=0)
    silence_warn: float | None = Field(default=None, gt=0)
    silence_kill: float | None = Field(default=None, gt=0)
    grace: float | None = Field(default=None, ge=0)


class ModelOptions(BaseModel):
    """Sampling options for a local model (``ollama`` and ``openai`` tasks)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    num_ctx: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    seed: int | None = None
    max_tokens: int | None = Field(default=None, ge=1)


class Task(BaseModel):
    """One unit of work for one worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)
    prompt: str = ""
    context: str = ""
    backend: Backend = "claude"
    model: str = ""
    cwd: str = "."
    owns: tuple[str, ...] = ()
    expects: tuple[str, ...] = ()
    complexity: int | None = Field(default=None, ge=1, le=3)
    timeouts: Timeouts = Timeouts()
    env: dict[str, str] = Field(default_factory=dict)
    max_turns: int | None = Field(default=None, ge=1)
    argv: tuple[str, ...] = ()
    allowed_tools: tuple[str, ...] | None = None
    endpoint: str = ""
    pool: str = ""
    system: str = ""
    options: ModelOptions = ModelOptions()
    output: Literal["text", "files"] = "text"
    allow_outside: bool = False

    @model_validator(mode="after")
    def _backend_needs(self) -> Task:
        if self.backend == "command" and not self.argv:
            raise _needs("argv", "a command task needs 'argv' (the program and its arguments)")
        if self.backend in ("claude", *HTTP_BACKENDS) and not self.prompt.strip():
            article = "an" if self.backend in HTTP_BACKENDS else "a"
            raise _needs("prompt", f"{article} {self.backend} task needs a non-empty 'prompt'")
        http_problem = model_fields_problem(self)
        if http_problem:
            raise _invalid(*http_problem)
        return self

    @model_validator(mode="after")
    def _env_names(self) -> Task:
        for name, value in self.env.items():
            if not name or "=" in name or "\0" in name:
                raise _invalid(f"env.{name}", f"'{name}' is not an environment variable name "
                                              "(it must be non-empty, without '=' or NUL)")
            if "\0" in value:
                raise _invalid(f"env.{name}", "an environment value cannot contain NUL")
        return self

    @property
    def write_globs(self) -> tuple[str, ...]:
        """What the task may write: ``owns``, or its ``expects`` files when ``owns`` is empty."""
        return self.owns or self.expects

    def outside(self, root: str, *, root_is_real: bool = False) -> list[tuple[str, str]]:
        """``(key, path)`` for its cwd, expects and owns that reach past the project ``root``."""
        paths = [*(("expects", p) for p in self.expects), *(("owns", g) for g in self.owns)]
        return outside(root, self.cwd, paths, root_is_real=root_is_real)

    def expected_paths(self) -> list[str]:
        return [os.path.normpath(os.path.join(self.cwd, p)) for p in self.expects]

    def level(self) -> int:
        """The complexity the timeouts use: the given one, or a computed score."""
        if self.complexity is not None:
            return self.complexity
        return complexity_score(text_chars=len(self.prompt) + len(self.context),
                                expects=len(self.expects), owns=len(self.owns),
                                recursive_owns=any("**" in g for g in self.owns))


def model_fields_problem(task: Task) -> tuple[str, str] | None:
    """(key, message) when a model-only field is misused, or a model task lacks its model."""
    http = task.backend in HTTP_BACKENDS
    if http and not task.model:
        return "model", f"an {task.backend} task needs 'model' (the model's name on the server)"
    if task.endpoint and task.pool:
        return "pool", "give 'endpoint' or 'pool', not both"
    if task.endpoint and not re.fullmatch(r"https?://[^\s/]+\S*", task.endpoint):
        return "endpoint", (f"'{task.endpoint}' is not an http:// or https:// URL "
                            "(like http://127.0.0.1:11434)")
    if http and task.output == "files" and not task.write_globs:
        return "output", ("output = 'files' needs 'owns' or 'expects' (the files the model's "
                          "answer may write)")
    if http:
        return None
    used = [k for k in ("endpoint", "pool", "system") if getattr(task, k)]
    if task.options != ModelOptions():
        used.append("options")
    if task.output != "text":
        used.append("output")
    if used:
        return used[0], (f"'{used[0]}' is for ollama and openai tasks; this task's backend is "
                         f"'{task.backend}'")
    return None


def _needs(key: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("missing_for_backend", message, {"key": key})


def _invalid(key: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_value", message, {"key": key})


def load_tasks(path: str | Path, *, prefix: str = "task", base: str | None = None) -> list[Task]:
    """Read a TOML or JSON task file; raise :class:`TaskFileError` naming task and key."""
    path = Path(path)
    raw = _parse(path)
    defaults, entries = _split(raw, str(path))
    if not entries:
        raise TaskFileError("no tasks in this file; add one ([[tasks]] in TOML)", path=str(path))
    return build_tasks(entries, defaults=defaults, prefix=prefix, base=base, source=str(path))


def build_tasks(entries: Sequence[Any], *, defaults: Mapping[str, Any] | None = None,
                prefix: str = "task", base: str | None = None, source: str = "") -> list[Task]:
    """Validate task mappings (with ``defaults`` under each); ids are filled in when absent.

    ``env`` and ``timeouts`` merge key by key with the defaults' (the task's keys win); any
    other key of a task replaces the default. Each task's ``cwd`` must be a directory.
    """
    root = os.path.abspath(base or os.getcwd())
    defaults = dict(defaults or {})
    prefix = str(defaults.pop("prefix", prefix))
    tasks = [_build(i, entry, defaults, prefix, root, source) for i, entry in enumerate(entries)]
    _reject_duplicates(tasks, source)
    return tasks


def read_text(path: Path, *, what: str) -> str:
    """A UTF-8 file's text; :class:`TaskFileError` naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(f"cannot read the {what}: {exc.strerror or exc}",
                            path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise TaskFileError(f"the {what} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                            f"at offset {exc.start}); save it as UTF-8", path=str(path)) from None


def _parse(path: Path) -> Any:
    text = read_text(path, what="task file")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (ValueError, RecursionError, tomllib.TOMLDecodeError) as exc:
        raise TaskFileError(f"not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}",
                            path=str(path)) from None


def _split(raw: Any, source: str) -> tuple[dict[str, Any], list[Any]]:
    if isinstance(raw, list):
        return {}, raw
    if not isinstance(raw, dict):
        raise TaskFileError("expected a task, a list of tasks or {defaults, tasks}", path=source)
    if "tasks" not in raw and isinstance(raw.get("task"), list):
        raise TaskFileError("unknown top-level key; did you mean [[tasks]] (plural)?",
                            path=source, key="task")
    if "tasks" not in raw:
        return {}, [raw]
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise TaskFileError("unknown top-level key (use 'defaults' and 'tasks')",
                            path=source, key=unknown[0])
    defaults, tasks = raw.get("defaults", {}), raw["tasks"]
    if not isinstance(defaults, dict):
        raise TaskFileError("must be a table of task keys", path=source, key="defaults")
    if not isinstance(tasks, list):
        raise TaskFileError("must be a list of tasks ([[tasks]] in TOML)", path=source, key="tasks")
    return defaults, tasks


def _build(index: int, entry: Any, defaults: Mapping[str, Any], prefix: str, root: str,
           source: str) -> Task:
    label = f"task #{index + 1}"
    if not isinstance(entry, dict):
        raise TaskFileError("a task must be a table / object", path=source, task=label)
    data = _merge(defaults, entry)
    if "id" in entry:
        label += f" (id '{entry['id']}')"
    data.setdefault("id", new_id(prefix))
    data["cwd"] = os.path.normpath(os.path.join(root, str(data.get("cwd", "."))))
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        raise _task_error(exc, label, source, defaults=defaults, entry=entry) from None
    if not os.path.isdir(task.cwd):
        raise TaskFileError(f"the cwd {task.cwd} is not a directory (it must exist)",
                            path=source, task=_blame(("cwd",), label, defaults, entry), key="cwd")
    escapes = task.outside(root)
    if escapes and not task.allow_outside:
        key, path = escapes[0]
        raise TaskFileError(f"{path!r} is outside the project {root}; keep the task inside it, "
                            "or set allow_outside = true", path=source,
                            task=_blame((key,), label, defaults, entry), key=key)
    return task


def _merge(defaults: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    data = {**defaults, **entry}
    for key in _MERGED_KEYS:
        below, above = defaults.get(key), entry.get(key)
        if isinstance(below, dict) and isinstance(above, dict):
            data[key] = {**below, **above}
    return data


def _blame(loc: Sequence[str], label: str, defaults: Mapping[str, Any],
           entry: Mapping[str, Any]) -> str:
    """``[defaults]`` when the offending key came from the defaults, else the task's label."""
    return DEFAULTS_LABEL if _has(defaults, loc) and not _has(entry, loc) else label


def _has(data: Any, loc: Sequence[str]) -> bool:
    for part in loc:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _task_error(exc: ValidationError, label: str, source: str, *,
                defaults: Mapping[str, Any], entry: Mapping[str, Any]) -> TaskFileError:
    key, reason = first_problem(exc, Task)
    key = key or str(exc.errors()[0].get("ctx", {}).get("key", ""))
    label = _blame(key.split(".")[:2] if key else (), label, defaults, entry)
    more = len(exc.errors()) - 1
    if more:
        reason += f" (and {more} more problem{'s' if more > 1 else ''} in this task)"
    return TaskFileError(reason, path=source, task=label, key=key)


def _reject_duplicates(tasks: Sequence[Task], source: str) -> None:
    seen: set[str] = set()
    for index, task in enumerate(tasks):
        if task.id in seen:
            raise TaskFileError("the id is used by an earlier task", path=source,
                                task=f"task #{index + 1} (id '{task.id}')", key="id")
        seen.add(task.id)
