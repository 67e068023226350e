"""``swarm bench``: an endpoint's throughput at several parallel levels, warm and cold apart.

At each level, N requests run with that many at once through swarm's own HTTP client and wire
formats. Warm rows come after a warm-up request; cold rows unload the model before the level
where the server allows it (Ollama: ``keep_alive: 0``); an OpenAI-compatible server keeps its
model loaded, so it has no cold rows. ``rows`` and ``svg`` are pure.
"""

from __future__ import annotations

import html
import statistics
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import httpx

from hookswarm.lib.swarm.chat import EndpointFailed, Refused, url_for
from hookswarm.lib.swarm.errors import SwarmError
from hookswarm.lib.swarm.http import HttpBackend, http_backends
from hookswarm.lib.swarm.servers import ServerFailed, serving
from hookswarm.lib.swarm.sweetspot import Level, measure, sender
from hookswarm.lib.swarm.task import Task
from hookswarm.lib.swarm.wire import error_text

if TYPE_CHECKING:
    from collections.abc import Sequence

PROMPT = "Write one sentence about the sea."


@dataclass(frozen=True, slots=True)
class Row:
    """One level's figures; ``speedup`` is throughput over the sequential level's."""

    mode: str
    concurrency: int
    tasks: int
    wall_s: float
    per_s: float
    speedup: float
    min_s: float
    max_s: float
    ttft_s: float


def rows(mode: str, levels: Sequence[Level]) -> list[Row]:
    """Table rows; the first level (normally 1) is the sequential baseline."""
    base = levels[0].throughput if levels else 0.0
    return [Row(mode, lv.concurrency, len(lv.spans), round(lv.wall, 3), round(lv.throughput, 3),
                round(lv.throughput / base, 2) if base else 0.0,
                round(min(s.latency for s in lv.spans), 3),
                round(max(s.latency for s in lv.spans), 3),
                round(statistics.median(s.first - s.sent for s in lv.spans), 3))
            for lv in levels]


def table(found: Sequence[Row]) -> str:
    head = ("MODE", "LEVEL", "TASKS", "WALL_S", "TASKS/S", "VS_SEQ", "TASK_MIN_S", "TASK_MAX_S",
            "TTFT_S")
    lines = [head] + [(r.mode, str(r.concurrency), str(r.tasks), f"{r.wall_s:.2f}",
                       f"{r.per_s:.2f}", f"{r.speedup:.2f}x", f"{r.min_s:.2f}",
                       f"{r.max_s:.2f}", f"{r.ttft_s:.2f}") for r in found]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def as_json(found: Sequence[Row], **about: Any) -> dict[str, Any]:
    return {**about, "rows": [asdict(r) for r in found]}


_W, _H, _PAD = 560, 320, 48
_COLOURS = {"warm": "#1f77b4", "cold": "#d62728"}


def svg(found: Sequence[Row], *, title: str) -> str:
    """A line chart of throughput (tasks/s) against concurrency, one line per mode."""
    levels = sorted({r.concurrency for r in found}) or [1]
    top = max([r.per_s for r in found] + [1e-9]) * 1.1

    def x(level: int) -> float:
        return _PAD + (levels.index(level) / max(1, len(levels) - 1)) * (_W - 2 * _PAD)

    def y(value: float) -> float:
        return _H - _PAD - value / top * (_H - 2 * _PAD)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
             f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{_W}" height="{_H}" fill="white"/>',
             f'<text x="{_W / 2}" y="20" text-anchor="middle">{html.escape(title)}</text>',
             f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" '
             'stroke="black"/>',
             f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="black"/>',
             f'<text x="{_W / 2}" y="{_H - 10}" text-anchor="middle">concurrent requests</text>',
             f'<text x="14" y="{_H / 2}" transform="rotate(-90 14 {_H / 2})" '
             'text-anchor="middle">tasks per second</text>']
    for level in levels:
        parts.append(f'<text x="{x(level):.1f}" y="{_H - _PAD + 16}" '
                     f'text-anchor="middle">{level}</text>')
    for tick in (0.0, top / 2.2, top / 1.1):
        parts.append(f'<text x="{_PAD - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f'{tick:.2f}</text>')
    for index, mode in enumerate(sorted({r.mode for r in found}, reverse=True)):
        mine = sorted((r for r in found if r.mode == mode), key=lambda r: r.concurrency)
        colour = _COLOURS.get(mode, "#2ca02c")
        points = " ".join(f"{x(r.concurrency):.1f},{y(r.per_s):.1f}" for r in mine)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"/>')
        parts += [f'<circle cx="{x(r.concurrency):.1f}" cy="{y(r.per_s):.1f}" r="3" '
                  f'fill="{colour}"/>' for r in mine]
        parts.append(f'<text x="{_W - _PAD - 60}" y="{_PAD + 16 * index}" '
                     f'fill="{colour}">{html.escape(mode)}</text>')
    return "\n".join([*parts, "</svg>"]) + "\n"


async def run_bench(backend: HttpBackend, base: str, model: str, *, levels: Sequence[int],
                    tasks: int, max_tokens: int, cold: bool) -> list[Row]:
    """Measure warm levels (after a warm-up), then cold ones where the model can be unloaded."""
    send = sender(backend, base, model, prompt=PROMPT, keep_alive=None,
                  options={"max_tokens": max_tokens, "temperature": 0})
    await _post(backend, base, backend.wire.warm(model, keep_alive=None))
    found = rows("warm", [await measure(send, c, max(tasks, c)) for c in levels])
    if cold and backend.name == "ollama":
        measured = []
        for concurrency in levels:
            await _post(backend, base, ("/api/chat", {"model": model, "messages": [],
                                                      "keep_alive": 0}))
            measured.append(await measure(send, concurrency, max(tasks, concurrency)))
        found += rows("cold", measured)
    return found


async def _post(backend: HttpBackend, base: str, request: tuple[str, dict[str, Any]]) -> None:
    path, body = request
    try:
        response = await backend.client.post(url_for(backend.wire, base, path), json=body)
    except httpx.TransportError as exc:
        raise EndpointFailed(f"{base} unreachable: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        raise EndpointFailed(error_text(response.status_code, response.content))


async def bench_target(config: Any, root: Any, *, backend: str, target: str, model: str,
                       levels: Sequence[int], tasks: int, max_tokens: int,
                       cold: bool) -> tuple[str, list[Row]]:
    """Bench ``target`` (a URL, or a pool whose first endpoint is used): its URL and rows."""
    chosen = http_backends(config)[backend]
    key = "endpoint" if "://" in target else "pool"
    probe = Task.model_validate({"id": "bench", "backend": backend, "model": model,
                                 "prompt": "p", key: target})
    settings = chosen.pool_settings(chosen.pool_name(probe))
    if settings is None:
        raise SwarmError(chosen.no_pool(probe))
    failed: Exception | None = None
    async with serving([chosen], root):
        first = settings.endpoints[0]
        try:
            if first.server:
                await chosen.servers.get(first.server).ensure()
            base = chosen.base_url(settings, 0)
            found = await run_bench(chosen, base, model, levels=levels, tasks=tasks,
                                    max_tokens=max_tokens, cold=cold)
        except (EndpointFailed, Refused, ServerFailed) as exc:
            failed = exc  # raised outside the serving block, not wrapped in its task group
    if failed is not None:
        raise failed
    return base, found
