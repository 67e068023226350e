"""One streamed chat request to a model server, and what an endpoint says it serves.

The HTTP primitives that the ``ollama``/``openai`` backends, the concurrency measurement and
``swarm bench`` share: no pools, no tasks' bookkeeping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from hookswarm.lib.swarm.wire import Inventory, Wire, error_text, openai_url

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.swarm.backend import OnOutput

# llama-cpp-python's server ends a running stream with [DONE] when another request arrives
# (its --interrupt_requests, on by default); only the missing finish_reason tells.
CUT_OFF = ("the stream ended without a finish_reason: the server cut the answer off (a "
           "llama-cpp-python server does so when another request arrives; start it with "
           "--interrupt_requests False, or give its endpoint concurrency 1)")


class EndpointFailed(Exception):
    """The endpoint broke (unreachable, dropped the stream, 5xx): retry elsewhere."""


class Refused(Exception):
    """The server answered, but not with an answer (unknown model, bad request): no retry."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete streamed answer and how it went."""

    text: str
    ttft_s: float | None
    seconds: float
    chunks: int
    stats: Mapping[str, Any] = field(default_factory=dict)


def url_for(wire: Wire, base: str, path: str) -> str:
    return openai_url(base, path) if wire.name == "openai" else base.rstrip("/") + path


async def stream_answer(client: Any, wire: Wire, url: str, body: Mapping[str, Any],
                        on_text: OnOutput) -> Answer:
    """POST a streaming chat request; each piece of text goes to ``on_text`` as it arrives."""
    started = time.monotonic()
    first: float | None = None
    parts: list[str] = []
    done: Answer | None = None
    finish = ""
    try:
        async with client.stream("POST", url, json=body) as response:
            if response.status_code >= 400:
                message = error_text(response.status_code, await response.aread())
                raise (EndpointFailed if response.status_code >= 500 else Refused)(message)
            async for line in response.aiter_lines():  # read to the end: the connection is reused
                piece = wire.parse(line)
                if piece is None or done is not None:
                    continue
                if piece.error:
                    raise EndpointFailed(f"the server reported: {piece.error}")
                if piece.text:
                    first = time.monotonic() if first is None else first
                    parts.append(piece.text)
                    on_text(piece.text.encode())
                finish = piece.finish or finish
                if piece.done and wire.needs_finish and not finish:
                    raise EndpointFailed(CUT_OFF)
                if piece.done:
                    done = Answer("".join(parts), None if first is None else first - started,
                                  time.monotonic() - started, len(parts), piece.stats)
    except httpx.TransportError as exc:
        if done is None:
            raise EndpointFailed(f"{type(exc).__name__}: {exc or 'connection lost'}") from None
    if done is None:
        raise EndpointFailed("the stream ended before the answer was complete")
    return done


async def inventory(client: Any, wire: Wire, base: str, *, timeout: float) -> Inventory:
    """Ask an endpoint whether it is up and which models it has (and has loaded)."""
    try:
        if wire.name == "ollama":
            return await _ollama_inventory(client, base, timeout)
        response = await client.get(openai_url(base, "/models"), timeout=timeout)
        if response.status_code != 200:
            return Inventory(False, f"{base}: /v1/models answered HTTP {response.status_code}")
        names = frozenset(str(m.get("id")) for m in response.json().get("data", []))
        return Inventory(True, f"{base} serves {len(names)} model(s)", names, names)
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return Inventory(False, f"{base} unreachable: {type(exc).__name__}: {exc}")


async def _ollama_inventory(client: Any, base: str, timeout: float) -> Inventory:
    base = base.rstrip("/")
    version = await client.get(base + "/api/version", timeout=timeout)
    if version.status_code != 200:
        return Inventory(False, f"{base}: /api/version answered HTTP {version.status_code}")
    tags = (await client.get(base + "/api/tags", timeout=timeout)).json()
    ps = (await client.get(base + "/api/ps", timeout=timeout)).json()
    models = frozenset(str(m.get("name")) for m in tags.get("models") or [])
    loaded = frozenset(str(m.get("name")) for m in ps.get("models") or [])
    detail = f"Ollama {version.json().get('version', '?')} at {base}, {len(models)} model(s)"
    return Inventory(True, detail, models, loaded)
