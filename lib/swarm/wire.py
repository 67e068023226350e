"""What a local-model server says, as plain data: the requests to send and the lines it streams.

Pure: the two wire formats (Ollama's native NDJSON and the OpenAI-compatible SSE) turn a task
into a request body and each streamed line into a :class:`Piece`. ``http.py`` does the I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.swarm.task import Task


@dataclass(frozen=True, slots=True)
class Piece:
    """One streamed line: text to show, whether the answer is complete, and any error."""

    text: str = ""
    done: bool = False
    error: str = ""
    stats: Mapping[str, Any] = field(default_factory=dict)
    finish: str = ""


@dataclass(frozen=True, slots=True)
class Inventory:
    """An endpoint's answer to a probe: up or not, which models it has and which are loaded."""

    ok: bool
    detail: str
    models: frozenset[str] = frozenset()
    loaded: frozenset[str] = frozenset()


class Wire(Protocol):
    name: str
    needs_finish: bool  # a stream that ends without a finish reason was cut off

    def chat(self, task: Task, prompt: str, *,
             keep_alive: str | None) -> tuple[str, dict[str, Any]]:
        """The path and JSON body of a streaming chat request."""
        ...

    def warm(self, model: str, *, keep_alive: str | None) -> tuple[str, dict[str, Any]]:
        """A short request that loads ``model``."""
        ...

    def parse(self, line: str) -> Piece | None:
        """One line of the stream; None for lines that carry nothing (blank, comments)."""
        ...

    def has_model(self, models: frozenset[str], model: str) -> bool: ...


def messages(task: Task, prompt: str) -> list[dict[str, str]]:
    system = [{"role": "system", "content": task.system}] if task.system else []
    return [*system, {"role": "user", "content": prompt}]


class OllamaWire:
    """Ollama's native API: ``/api/chat`` streaming NDJSON, ``options`` and ``keep_alive``."""

    name = "ollama"
    needs_finish = False

    def chat(self, task: Task, prompt: str, *,
             keep_alive: str | None) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": task.model, "messages": messages(task, prompt),
                                "stream": True}
        options = task.options.model_dump(exclude_none=True)
        if "max_tokens" in options:
            options["num_predict"] = options.pop("max_tokens")
        if options:
            body["options"] = options
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return "/api/chat", body

    def warm(self, model: str, *, keep_alive: str | None) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": model, "messages": []}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return "/api/chat", body

    def parse(self, line: str) -> Piece | None:
        if not line.strip():
            return None
        data = _json_object(line)
        if data is None:
            return Piece(error=f"not an NDJSON object: {line[:200]!r}")
        if "error" in data:
            return Piece(error=str(data["error"]))
        text = str((data.get("message") or {}).get("content") or "")
        if data.get("done"):
            stats = {k: v for k, v in data.items() if k.endswith(("_duration", "_count"))}
            return Piece(text, done=True, stats={**stats, "done_reason": data.get("done_reason")})
        return Piece(text)

    def has_model(self, models: frozenset[str], model: str) -> bool:
        return model in models or f"{model}:latest" in models


class OpenAIWire:
    """Any OpenAI-compatible server: ``/v1/chat/completions`` with ``stream: true`` (SSE)."""

    name = "openai"
    needs_finish = True

    def chat(self, task: Task, prompt: str, *,
             keep_alive: str | None) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": task.model, "messages": messages(task, prompt),
                                "stream": True}
        options = task.options
        for key in ("temperature", "seed", "max_tokens"):
            value = getattr(options, key)
            if value is not None:
                body[key] = value
        return "/chat/completions", body

    def warm(self, model: str, *, keep_alive: str | None) -> tuple[str, dict[str, Any]]:
        return "/chat/completions", {"model": model, "max_tokens": 1, "stream": False,
                                     "messages": [{"role": "user", "content": "hi"}]}

    def parse(self, line: str) -> Piece | None:
        if not line.startswith("data:"):
            return None  # blank separators, ": ping" comments, "event:" lines
        payload = line[5:].strip()
        if payload == "[DONE]":
            return Piece(done=True)
        data = _json_object(payload)
        if data is None:
            return Piece(error=f"not a JSON event: {payload[:200]!r}")
        if "error" in data:
            error = data["error"]
            return Piece(error=str(error.get("message", error) if isinstance(error, dict)
                                   else error))
        choices = data.get("choices") or [{}]
        delta = choices[0].get("delta") or {}
        return Piece(str(delta.get("content") or ""), finish=str(choices[0].get("finish_reason")
                                                                 or ""))

    def has_model(self, models: frozenset[str], model: str) -> bool:
        # llama.cpp's server lists its model file's path and answers any name; trust a
        # single-model server to serve the one model it has.
        return model in models or len(models) == 1


def openai_url(base: str, path: str) -> str:
    """``base`` may end in ``/v1`` (the OpenAI convention) or be the server's root."""
    base = base.rstrip("/")
    return f"{base}{path}" if base.endswith("/v1") else f"{base}/v1{path}"


def error_text(status: int, body: bytes) -> str:
    """An HTTP error's message: the server's ``error`` field when it has one."""
    data = _json_object(body.decode(errors="replace"))
    error: Any = data.get("error") if data else None
    if isinstance(error, dict):
        error = error.get("message")
    text = str(error) if error else body.decode(errors="replace").strip()[:200]
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


WIRES: dict[str, Wire] = {"ollama": OllamaWire(), "openai": OpenAIWire()}
