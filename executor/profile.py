"""``hookrun profile``: where one event's hooks spend their time, run live or from the records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor.results import HookResult
from hookswarm.executor.run import Invocation, execute
from hookswarm.executor.stats import NOT_RUN, percentile
from hookswarm.executor.timeline import Bar
from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import HookswarmError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


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
        data["timeline"] = [_bar_ms(bar) for bar in self.timeline]
        return data


def _bar_ms(bar: Bar) -> dict[str, Any]:
    """A timeline bar in milliseconds, like every other figure of the report."""
    return {"name": bar.name, "start_ms": bar.start * 1000, "end_ms": bar.end * 1000,
            "status": bar.status}


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


def from_records(event: str, records: Iterable[Mapping[str, Any]],
                 after: Mapping[str, Sequence[str]]) -> list[tuple[str, Profile]]:
    """Profiles of the recorded runs of ``event``, one per tool on tool events. Runs nothing."""
    groups: dict[str, list[list[HookResult]]] = {}
    for record in records:
        run = _recorded_run(record) if record.get("event") == event else None
        if run:
            tool = record.get("tool")
            label = f"recorded runs, tool {tool}" if isinstance(tool, str) else "recorded runs"
            groups.setdefault(label, []).append(run)
    return [(label, summarize(event, runs, after)) for label, runs in groups.items()]


def _recorded_run(record: Mapping[str, Any]) -> list[HookResult] | None:
    """One record's hooks as results, or None when an entry has the wrong shape."""
    try:
        return [HookResult(position=int(h.get("index", 0)), name=_name(h["name"]),
                           status=str(h.get("status", "")),
                           start=float(h.get("start_ms", 0)) / 1000,
                           end=float(h.get("end_ms", 0)) / 1000)
                for h in record.get("hooks", ())]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a hook name is not a string")
    return value


def summarize(event: str, samples: Sequence[Sequence[HookResult]],
              after: Mapping[str, Sequence[str]]) -> Profile:
    """Per-hook spread, the critical path and the sequential equivalent. Pure.

    A cancelled or skipped hook counts in its statuses but not in the timings.
    """
    names = list(dict.fromkeys(r.name for run in samples for r in run))
    durations = {name: sorted(_ms(r) for run in samples for r in run
                              if r.name == name and r.status not in NOT_RUN)
                 for name in names}
    hooks = [HookProfile(name, values[0] if values else 0.0, percentile(values, 0.5),
                         percentile(values, 0.95), values[-1] if values else 0.0,
                         _statuses(samples, name))
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


def _ms(result: HookResult) -> float:
    return (result.end - result.start) * 1000


def _wall(run: Sequence[HookResult]) -> float:
    return max((r.end for r in run), default=0.0) * 1000


def _statuses(samples: Sequence[Sequence[HookResult]], name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in samples:
        for status in (r.status for r in run if r.name == name):
            counts[status] = counts.get(status, 0) + 1
    return counts


def load_payload(path: str) -> dict[str, Any]:
    """The ``--payload`` file's JSON object."""
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
