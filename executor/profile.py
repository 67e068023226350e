"""``hookrun profile``: run one event's hooks repeatedly and show where the time goes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from hookswarm.executor import config as configuration
from hookswarm.executor.results import HookResult
from hookswarm.executor.run import Invocation, execute
from hookswarm.executor.stats import percentile
from hookswarm.executor.timeline import Bar
from hookswarm.lib.errors import HookswarmError


class HookProfile(NamedTuple):
    name: str
    min_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    statuses: dict[str, int]


class Profile(NamedTuple):
    """The figures ``hookrun profile`` prints, also its ``--json`` form."""

    event: str
    runs: int
    hooks: list[HookProfile]
    critical_path: list[str]
    critical_ms: float
    sequential_ms: float
    wall_p50_ms: float
    speedup: float
    timeline: list[Bar]

    def as_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["hooks"] = [hook._asdict() for hook in self.hooks]
        data["timeline"] = [bar._asdict() for bar in self.timeline]
        return data


def default_payload(event: str, cwd: str) -> dict[str, Any]:
    """A plausible payload for ``event`` when the user gives none."""
    payload: dict[str, Any] = {"hook_event_name": event, "session_id": "hookrun-profile",
                               "cwd": cwd, "transcript_path": ""}
    if "Tool" in event or event.startswith("Permission"):
        payload.update(tool_name="Bash", tool_input={"command": "true"}, tool_use_id="toolu_p")
    if event == "UserPromptSubmit":
        payload["prompt"] = "hookrun profile"
    if event == "PostToolBatch":
        payload["tool_calls"] = []
    return payload


def run_profile(event: str, payload: Mapping[str, Any], *, runs: int, config_path: str | None,
                environ: Mapping[str, str], cwd: str) -> Profile:
    """Run ``event``'s hooks ``runs`` times (no run records) and summarize them."""
    raw = json.dumps({**payload, "hook_event_name": event}).encode()
    invocation = Invocation(raw=raw, event=event, config_path=config_path, environ=environ,
                            cwd=cwd, record=False)
    samples = [execute(invocation).results for _ in range(runs)]
    path = configuration.find(config_path, environ=environ, cwd=cwd)
    after = {h.name: h.after for h in configuration.load(path).for_event(event)}
    return summarize(event, samples, after)


def summarize(event: str, samples: Sequence[Sequence[HookResult]],
              after: Mapping[str, Sequence[str]]) -> Profile:
    """Per-hook spread, the critical path and the sequential equivalent. Pure."""
    names = [r.name for r in samples[0]] if samples else []
    durations = {name: sorted(_ms(run, name) for run in samples) for name in names}
    hooks = [HookProfile(name, values[0], percentile(values, 0.5), percentile(values, 0.95),
                         values[-1], _statuses(samples, name))
             for name, values in durations.items()]
    p50 = {hook.name: hook.p50_ms for hook in hooks}
    path, critical = critical_path(names, p50, after)
    walls = sorted(_wall(run) for run in samples)
    wall = percentile(walls, 0.5)
    sequential = sum(p50.values())
    typical = min(samples, key=lambda run: abs(_wall(run) - wall)) if samples else []
    return Profile(event=event, runs=len(samples), hooks=hooks, critical_path=path,
                   critical_ms=critical, sequential_ms=sequential, wall_p50_ms=wall,
                   speedup=sequential / wall if wall else 0.0,
                   timeline=[Bar(r.name, r.start, r.end, r.status) for r in typical])


def critical_path(names: Sequence[str], durations: Mapping[str, float],
                  after: Mapping[str, Sequence[str]]) -> tuple[list[str], float]:
    """The chain of dependencies with the largest total duration (names in dependency order)."""
    best: dict[str, tuple[float, list[str]]] = {}
    for name in names:  # ``names`` is already dependency-respecting
        deps = [best[d] for d in after.get(name, ()) if d in best]
        length, chain = max(deps, default=(0.0, []), key=lambda item: item[0])
        best[name] = (length + durations.get(name, 0.0), [*chain, name])
    length, chain = max(best.values(), default=(0.0, []), key=lambda item: item[0])
    return chain, length


def _ms(run: Sequence[HookResult], name: str) -> float:
    result = next(r for r in run if r.name == name)
    return (result.end - result.start) * 1000


def _wall(run: Sequence[HookResult]) -> float:
    return max((r.end for r in run), default=0.0) * 1000


def _statuses(samples: Sequence[Sequence[HookResult]], name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in samples:
        status = next(r.status for r in run if r.name == name)
        counts[status] = counts.get(status, 0) + 1
    return counts


def load_payload(path: str | None, event: str) -> dict[str, Any]:
    """The ``--payload`` file's JSON object, or a plausible payload for ``event`` without one."""
    if path is None:
        return default_payload(event, os.getcwd())
    fix = "give --payload a hook payload (a JSON object) as Claude Code sends it"
    try:
        with open(path, "rb") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise HookswarmError(f"cannot read {path} ({exc.strerror})") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise HookswarmError(f"{path} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise HookswarmError(f"{path} is JSON but not an object; {fix}")
    return data
