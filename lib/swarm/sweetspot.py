"""Concurrency ``auto``: each endpoint's parallel sweet spot for a model, measured on a warm model.

Throughput is measured at 1, 2, 4, ... concurrent requests; the search stops when the next
level gains less than ``min_gain`` or its median latency passes ``max_latency_ratio`` times
the single request's. Requests sent together that finish strictly one after another mean the
server runs the model one request at a time (Ollama does so for some architectures and for
embedding models, without saying so): the answer is 1, with that reason. The choice is
remembered in ``.swarm/sweetspot.json`` per backend, endpoint and model.

``choose`` and ``serial`` are pure; ``settle`` and ``measure`` do the requests.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from hookswarm.lib.swarm.chat import stream_answer, url_for
from hookswarm.lib.swarm.task import Task

if TYPE_CHECKING:
    from pathlib import Path

    from hookswarm.lib.swarm.endpoints import AutoSettings, PoolSettings
    from hookswarm.lib.swarm.wire import Wire


class Speaker(Protocol):
    """What measuring needs of an HTTP backend: its name, its wire format and its client."""

    name: str
    wire: Wire

    @property
    def client(self) -> Any: ...

MEMORY = "sweetspot.json"
PROMPT = "Count from 1 to 30, separated by spaces."


@dataclass(frozen=True, slots=True)
class Span:
    """One request as the client saw it: sent, first token, last byte (monotonic seconds)."""

    sent: float
    first: float
    end: float

    @property
    def latency(self) -> float:
        return self.end - self.sent


@dataclass(frozen=True, slots=True)
class Level:
    """The requests of one concurrency level."""

    concurrency: int
    spans: tuple[Span, ...]

    @property
    def wall(self) -> float:
        return max(s.end for s in self.spans) - min(s.sent for s in self.spans)

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return len(self.spans) / self.wall if self.wall > 0 else float("inf")

    @property
    def latency(self) -> float:
        return statistics.median(s.latency for s in self.spans)


def serial(level: Level) -> bool:
    """Whether requests sent together each started answering only after the previous ended."""
    if level.concurrency < 2 or len(level.spans) < 2:
        return False
    ordered = sorted(level.spans, key=lambda s: s.first)
    return all(b.first >= a.end for a, b in itertools.pairwise(ordered))


SERIAL_REASON = ("requests sent together finished strictly one after another: the server runs "
                 "this model one request at a time (Ollama does so for some architectures and "
                 "for embedding models)")


def choose(levels: Sequence[Level], *, min_gain: float,
           max_latency_ratio: float) -> tuple[int, str]:
    """The concurrency to use, and why, from levels measured in increasing order."""
    best = levels[0]
    for level in levels[1:]:
        if serial(level):
            return 1, SERIAL_REASON
        gain = level.throughput / best.throughput - 1
        if gain < min_gain:
            return best.concurrency, (f"{level.concurrency} concurrent requests gained "
                                      f"{gain:+.0%} throughput over {best.concurrency} "
                                      f"(less than {min_gain:.0%})")
        ratio = level.latency / levels[0].latency
        if ratio > max_latency_ratio:
            return best.concurrency, (f"at {level.concurrency} concurrent requests the median "
                                      f"latency was {ratio:.1f}x a single request's (limit "
                                      f"{max_latency_ratio:g}x)")
        best = level
    return best.concurrency, (f"throughput still rose at {best.concurrency} concurrent "
                              f"requests, the largest level tried")


def levels_up_to(limit: int) -> list[int]:
    """1, 2, 4, ... up to ``limit`` (``limit`` itself included)."""
    found, level = [], 1
    while level < limit:
        found.append(level)
        level *= 2
    return [*found, limit]


Send = Callable[[], Awaitable[Span]]


async def measure(send: Send, concurrency: int, count: int) -> Level:
    """Send ``count`` requests, ``concurrency`` at a time."""
    spans: list[Span] = []
    limiter = anyio.Semaphore(concurrency)

    async def one() -> None:
        async with limiter:
            spans.append(await send())

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)
    return Level(concurrency, tuple(spans))


async def search(send: Send, auto: AutoSettings) -> tuple[int, str, list[Level]]:
    """Measure level after level until ``choose`` settles; the choice, why, and the data."""
    measured: list[Level] = []
    for concurrency in levels_up_to(auto.max):
        count = max(auto.requests_per_level, concurrency)
        measured.append(await measure(send, concurrency, count))
        if len(measured) > 1:
            limit, why = choose(measured, min_gain=auto.min_gain,
                                max_latency_ratio=auto.max_latency_ratio)
            if limit < concurrency:
                return limit, why, measured
    limit, why = choose(measured, min_gain=auto.min_gain, max_latency_ratio=auto.max_latency_ratio)
    return limit, why, measured


async def settle(backend: Speaker, settings: PoolSettings, base: str, model: str, *,
                 root: Path | None) -> tuple[int, str]:
    """The remembered choice for this endpoint and model, or a fresh measurement."""
    key = f"{backend.name} {base} {model}"
    memory = recall(root)
    if key in memory:
        entry = memory[key]
        return int(entry["concurrency"]), f"{entry['why']} (measured {entry['when']})"
    send = sender(backend, base, model, prompt=PROMPT, keep_alive=settings.keep_alive,
                  options={"max_tokens": settings.auto.max_tokens, "temperature": 0, "seed": 1})
    limit, why, measured = await search(send, settings.auto)
    if root is not None:
        remember(root, key, {"concurrency": limit, "why": why,
                             "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                             "levels": [_level_json(level) for level in measured]})
    return limit, why


def sender(backend: Speaker, base: str, model: str, *, prompt: str,
           options: dict[str, Any], keep_alive: str | None) -> Send:
    """One streamed request to ``base`` per call, timed as a :class:`Span`."""
    task = Task.model_validate({"id": "measure", "backend": backend.name, "model": model,
                                "prompt": prompt, "options": options})
    path, body = backend.wire.chat(task, prompt, keep_alive=keep_alive)
    url = url_for(backend.wire, base, path)

    async def send() -> Span:
        sent = time.monotonic()
        first: list[float] = []

        def on_text(_chunk: bytes) -> None:
            if not first:
                first.append(time.monotonic())

        await stream_answer(backend.client, backend.wire, url, body, on_text)
        end = time.monotonic()
        return Span(sent, first[0] if first else end, end)

    return send


def _level_json(level: Level) -> dict[str, Any]:
    return {"concurrency": level.concurrency, "requests": len(level.spans),
            "wall_s": round(level.wall, 4), "per_s": round(level.throughput, 3),
            "median_latency_s": round(level.latency, 4)}


def recall(root: Path | None) -> dict[str, Any]:
    """What ``.swarm/sweetspot.json`` remembers (nothing when absent or unreadable)."""
    if root is None:
        return {}
    try:
        data = json.loads((root / MEMORY).read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(root: Path, key: str, entry: dict[str, Any]) -> None:
    memory = {**recall(root), key: entry}
    tmp = root / f".{MEMORY}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(json.dumps(memory, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, root / MEMORY)
