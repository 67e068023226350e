"""What ``swarm run`` shows while it works (a live bar on a terminal, lines otherwise) and after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence

_BAR = 24


class Progress:
    """Turns coordinator events into progress output on ``stream`` (stderr)."""

    def __init__(self, *, total: int, stream: TextIO, quiet: bool, lines: bool = False) -> None:
        self.total = total
        self.done = 0
        self.running = 0
        self.unsuccessful = 0  # tasks that ended with any status but succeeded
        self._stream = stream
        self._quiet = quiet
        self._live = not lines and stream.isatty()

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "started":
            self.running += 1
        elif kind == "ended":
            self.done += 1
            self.unsuccessful += event.get("status") != "succeeded"
            self.running = max(0, self.running - 1)
        if self._quiet:
            return
        if self._live:
            self._bar()
        elif kind in ("started", "ended", "warned", "extended", "waiting", "recovered", "requeued",
                      "halted"):
            self._line(event)

    def close(self) -> None:
        if self._live and not self._quiet:
            self._stream.write("\n")
            self._stream.flush()

    def _bar(self) -> None:
        filled = _BAR * self.done // max(self.total, 1)
        self._stream.write(f"\r[{'#' * filled}{'.' * (_BAR - filled)}] {self.done}/{self.total} "
                           f"done, {self.running} running ")
        self._stream.flush()

    def _line(self, event: dict[str, Any]) -> None:
        extra = {k: v for k, v in event.items() if k not in ("seq", "t", "kind", "id")}
        details = " ".join(f"{k}={v}" for k, v in extra.items())
        self._stream.write(f"swarm: {event['kind']} {event['id']} {details}".rstrip() + "\n")
        self._stream.flush()


def summary_table(results: Sequence[dict[str, Any]], *, base: str = "") -> str:
    """One row per task: id, status, seconds queued (for a slot or a backend), run, log, reason.

    Log paths under ``base`` are shown relative to it; reasons are never shortened.
    """
    rows = [("TASK", "STATUS", "QUEUED", "SECONDS", "LOG", "REASON")]
    for result in results:
        rows.append((str(result["id"]), str(result["status"]),
                     f"{float(result.get('queued_s', 0.0)):.1f}",
                     f"{float(result.get('duration_s', 0.0)):.1f}",
                     _shown_path(str(result.get("log") or "-"), base),
                     str(result.get("reason", ""))))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)), row[5]])
             for row in rows]
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result["status"])] = counts.get(str(result["status"]), 0) + 1
    lines.append(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return "\n".join(line.rstrip() for line in lines)


def _shown_path(path: str, base: str) -> str:
    if base and path.startswith(base.rstrip("/") + "/"):
        return path[len(base.rstrip("/")) + 1:]
    return path
