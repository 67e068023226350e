"""Summaries of run records: per hook runs, failures, timeouts, p50/p95, timeout pressure."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

FAILED = frozenset({"error", "garbled", "oversize", "not_found"})
NOT_RUN = frozenset({"cancelled", "skipped"})  # cut short or never started: no timing
NEAR_TIMEOUT = 0.8
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class HookStats(NamedTuple):
    """What the records say about one hook; timings cover only the runs it finished."""

    name: str
    runs: int
    failures: int
    timeouts: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    near_timeout: int
    cancelled: int = 0
    skipped: int = 0
    context_bytes: float = 0.0  # mean context per finished run
    context_cut: int = 0

    def as_json(self) -> dict[str, Any]:
        """The JSON form, times and means rounded to 0.01."""
        return {key: round(value, 2) if isinstance(value, float) else value
                for key, value in self._asdict().items()}


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` to seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 90s, 30m, 12h or 7d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[rank]


def summarize(records: Iterable[Mapping[str, Any]], *,
              since: float | None = None) -> list[HookStats]:
    """Per-hook statistics over ``records`` newer than the epoch ``since``, slowest p95 first."""
    durations: dict[str, list[float]] = {}
    tallies: dict[str, list[float]] = {}  # see _TALLY
    for record in records:
        if since is not None and record.get("ts", 0) < since:
            continue
        for hook in record.get("hooks", ()):
            try:
                _count(hook, durations, tallies)
            except (AttributeError, TypeError):
                continue  # an entry of the wrong shape: skipped like a line that does not parse
    summary = [_stats(name, sorted(values), tallies[name]) for name, values in durations.items()]
    return sorted(summary, key=lambda s: (-s.p95_ms, s.name))


def _count(hook: Mapping[str, Any], durations: dict[str, list[float]],
           tallies: dict[str, list[float]]) -> None:
    """Add one hook entry; a field of the wrong type raises TypeError before anything changes."""
    name = hook.get("name", "?")
    elapsed = hook.get("end_ms", 0) - hook.get("start_ms", 0)
    status = hook.get("status")
    failed = status != "ok" and status in FAILED
    timeout = hook.get("timeout")
    near = timeout and elapsed > NEAR_TIMEOUT * 1000 * timeout
    context = hook.get("context_bytes")
    if context:
        context += 0  # TypeError on a value that is not a number
    if type(name) is not str:
        raise TypeError(f"hook name {name!r} is not a string")
    values = durations.get(name)
    if values is None:
        values = durations[name] = []
        tallies[name] = [0.0] * len(_TALLY)
    tally = tallies[name]
    if status != "ok" and status in NOT_RUN:
        tally[_TALLY.index(status)] += 1
        return
    values.append(elapsed)
    if context:
        tally[3] += context
        tally[4] += hook.get("context_cut") is True
    if failed or near or status == "timeout":
        tally[0] += failed
        tally[1] += status == "timeout"
        tally[2] += bool(near)


_TALLY = ("failures", "timeouts", "near_timeout", "context_bytes", "context_cut", "cancelled",
          "skipped")


def _stats(name: str, values: list[float], tally: list[float]) -> HookStats:
    counts = dict(zip(_TALLY, tally, strict=True))
    runs = len(values)
    return HookStats(name=name, runs=runs, failures=int(counts["failures"]),
                     timeouts=int(counts["timeouts"]), p50_ms=percentile(values, 0.5),
                     p95_ms=percentile(values, 0.95), max_ms=values[-1] if values else 0.0,
                     near_timeout=int(counts["near_timeout"]),
                     cancelled=int(counts["cancelled"]), skipped=int(counts["skipped"]),
                     context_bytes=counts["context_bytes"] / runs if runs else 0.0,
                     context_cut=int(counts["context_cut"]))
