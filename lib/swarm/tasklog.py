"""A task's log with a size bound: past it, the head and the tail are kept and the cut marked.

The file never holds more than ``cap`` bytes of this run's output (plus one read chunk,
between a write and the trim that follows it). The first half of the cap is the head, written
once. Output after it goes to a tail region; when that region fills, its newer half moves up
to just after the head and a fixed-width marker says how many bytes were cut, so every byte
is copied at most about once more: linear, and readable (``swarm logs -f``) at any moment.
"""

from __future__ import annotations

import os

MARKER_WIDTH = 160


def marker(cut: int, cap: int) -> bytes:
    """The line that stands where ``cut`` bytes of output were dropped."""
    text = (f"\n[swarm: {cut} bytes of output cut here; the log keeps the first and the last "
            f"part of the output within log_max = {cap} bytes]")
    return text.encode().ljust(MARKER_WIDTH - 1) + b"\n"


class TaskLog:
    """Appends a worker's output to an open log file, holding it to ``cap`` bytes."""

    def __init__(self, fd: int, *, cap: int) -> None:
        self._fd = fd
        self._cap = cap
        self._start = os.lseek(fd, 0, os.SEEK_END)
        self._end = self._start
        self._head = cap // 2
        self._keep = (cap - self._head - MARKER_WIDTH) // 2
        self.written = 0
        self.cut = 0

    def write(self, chunk: bytes) -> None:
        os.pwrite(self._fd, chunk, self._end)
        self._end += len(chunk)
        self.written += len(chunk)
        if self._end - self._start > self._cap:
            self._trim()

    def _trim(self) -> None:
        tail = os.pread(self._fd, self._keep, self._end - self._keep)
        at = self._start + self._head
        os.pwrite(self._fd, tail, at + MARKER_WIDTH)
        self.cut = self.written - self._head - len(tail)
        os.pwrite(self._fd, marker(self.cut, self._cap), at)
        self._end = at + MARKER_WIDTH + len(tail)
        os.ftruncate(self._fd, self._end)
