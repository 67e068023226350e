"""A task's log with a size bound: past it, the head and the tail are kept and the cut marked.

The file never holds more than ``cap`` bytes of this run's output (plus one read chunk,
between a write and the trim that follows it). The first half of the cap is the head, written
once. Output after it goes to a tail region; when that region fills, its newer half moves up
to just after the head and a fixed-width marker says how many bytes were cut, so every byte
is copied a bounded number of times: linear.

While a reader holds the log (a :class:`LogFollower`, ``swarm logs -f``, takes a shared
``flock`` on it), a trim builds the trimmed log in a new file and renames it over the old one,
so every file the reader has open only grows. Before the rename, the old file gets a trailer
saying where its output goes on in the new one: the follower reads the old file to its end and
continues there, so it skips and repeats nothing; when the log was trimmed again meanwhile, it
goes on at the newest tail and says that output was cut. Unread, the log is trimmed in place
under an exclusive lock, which copies a third as much; so is it when its folder takes no new
file (a follower may then skip).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from typing import TYPE_CHECKING

from hookswarm.lib.flock import lock_shared, lock_within, unlock

if TYPE_CHECKING:
    from pathlib import Path

MARKER_WIDTH = 160
_TRAILER = re.compile(rb"\0swarm: continued after (\d{20}) cut at (\d{20}), marked at (\d{20})\0\n")
_TEMPLATE = b"\0swarm: continued after %020d cut at %020d, marked at %020d\0\n" % (0, 0, 0)
TRAILER_WIDTH = len(_TEMPLATE)
_DIGIT, _DIGITS = ord("0"), b"0123456789"
FOLLOW_CUT = b"\n[swarm logs: output was cut from the log while it was being followed]\n"


def marker(cut: int, cap: int) -> bytes:
    """The line that stands where ``cut`` bytes of output were dropped."""
    text = (f"\n[swarm: {cut} bytes of output cut here; the log keeps the first and the last "
            f"part of the output within log_max = {cap} bytes]")
    return text.encode().ljust(MARKER_WIDTH - 1) + b"\n"


def _trailer(cut: int, offset: int, at: int) -> bytes:
    """Ends a replaced log: its output goes on at ``offset`` of the log whose marker, at
    ``at``, counts ``cut`` bytes (counts only grow, so the marker tells that log apart)."""
    return b"\0swarm: continued after %020d cut at %020d, marked at %020d\0\n" % (cut, offset, at)


class TaskLog:
    """Appends a worker's output to its log file, holding it to ``cap`` bytes.

    A log that cannot be opened or written (its folder closed or full, a symlink or a folder
    in its place) does not stop the task: the output is counted but not kept, and
    ``problem`` says why. A symlink is never written through: it may lead anywhere.
    """

    def __init__(self, path: Path, *, cap: int) -> None:
        self._path = path
        self._cap = cap
        self._head = cap // 2
        self._keep = (cap - self._head - MARKER_WIDTH) // 2
        self.written = 0
        self.cut = 0
        self.problem = ""
        self._fd = self._open()
        self._start = os.lseek(self._fd, 0, os.SEEK_END) if self._fd >= 0 else 0
        self._end = self._start

    def _open(self) -> int:
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK,
                         0o600)
        except OSError as exc:
            self._fail(exc)
            return -1
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            self._fail(OSError(errno.EINVAL, "not a regular file"))
            return -1
        return fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def write(self, chunk: bytes) -> None:
        if self._fd >= 0:
            try:
                os.pwrite(self._fd, chunk, self._end)
                self._end += len(chunk)
                if self._end - self._start > self._cap:
                    self._trim(self.written + len(chunk))
            except OSError as exc:
                self.close()
                self._fail(exc)
        self.written += len(chunk)

    def _fail(self, exc: OSError) -> None:
        culprit = "a symlink" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        self.problem = (f"its log {self._path} could not be written ({culprit}); the output "
                        f"after {self.written} bytes is not kept: fix {self._path.parent} (its "
                        "owner and permissions, free space, or what stands at the log's name)")

    def _trim(self, written: int) -> None:
        tail = os.pread(self._fd, self._keep, self._end - self._keep)
        at = self._start + self._head
        self.cut = written - self._head - len(tail)
        if lock_within(self._fd, 0):  # no reader holds it
            try:
                self._in_place(at, tail)
            finally:
                unlock(self._fd)
            return
        try:
            self._fd = self._replace(at, tail)
        except OSError:  # the folder takes no new file: in place, where a follower may skip
            self._in_place(at, tail)

    def _in_place(self, at: int, tail: bytes) -> None:
        self._rewrite(self._fd, at, tail)
        os.ftruncate(self._fd, self._end)

    def _rewrite(self, fd: int, at: int, tail: bytes) -> None:
        os.pwrite(fd, tail, at + MARKER_WIDTH)
        os.pwrite(fd, marker(self.cut, self._cap), at)
        self._end = at + MARKER_WIDTH + len(tail)

    def _replace(self, at: int, tail: bytes) -> int:
        """Write the trimmed log to a new file, point the old one at it, rename it into place."""
        tmp = self._path.with_name(f".{self._path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _copy(self._fd, fd, at)
            old_end = self._end
            self._rewrite(fd, at, tail)
            os.pwrite(self._fd, _trailer(self.cut, self._end, at), old_end)
            os.replace(tmp, self._path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(self._fd)
        return fd


def _copy(source: int, target: int, size: int) -> None:
    """Copy the first ``size`` bytes of ``source`` to ``target``, in the kernel if it can."""
    done = 0
    while done < size:
        try:
            copied = os.copy_file_range(source, target, size - done, done, done)
        except OSError:  # not between these files (another filesystem, an old kernel)
            copied = os.pwrite(target, os.pread(source, min(size - done, 1 << 20), done), done)
        if copied == 0:
            raise OSError(f"the log ended {size - done} bytes early")
        done += copied


class LogFollower:
    """Reads a task's log as it grows, across trims: nothing repeated, and a cut said."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1
        self._offset = 0
        self._held = b""

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read(self, *, final: bool = False) -> bytes:
        """The output written since the last call.

        Bytes that may be the start of a trailer are held back until it is clear they are
        not; with ``final`` (the task has ended), nothing is held.
        """
        out: list[bytes] = []
        while self._open():
            data = self._held + self._read_rest()
            replaced = self._replaced()
            if replaced:
                data += self._read_rest()
            found = _TRAILER.fullmatch(data[-TRAILER_WIDTH:])
            if found is None or not (replaced or final):
                self._held = b"" if final or replaced else data[len(data) - _partial(data):]
                out.append(data[:len(data) - len(self._held)])
                if replaced:
                    self._switch(None)
                    continue
                break
            out.append(data[:-TRAILER_WIDTH])
            self._held = b""
            if not replaced:
                break  # its writer died before the rename: nothing follows
            out.append(self._switch(tuple(int(n) for n in found.groups())))
        return b"".join(out)

    def _open(self) -> bool:
        """Whether a log is open (a folder in its place is no log)."""
        if self._fd < 0:
            try:
                self._fd = os.open(self._path, os.O_RDONLY | os.O_NONBLOCK)
            except FileNotFoundError:
                return False
            if stat.S_ISREG(os.fstat(self._fd).st_mode):
                lock_shared(self._fd)  # from now on it is trimmed by renaming
            else:
                self.close()
        return self._fd >= 0

    def _read_rest(self) -> bytes:
        chunks = []
        while chunk := os.pread(self._fd, 1 << 20, self._offset):
            chunks.append(chunk)
            self._offset += len(chunk)
        return b"".join(chunks)

    def _replaced(self) -> bool:
        try:
            now = os.stat(self._path)
        except FileNotFoundError:
            return False
        return stat.S_ISREG(now.st_mode) and now.st_ino != os.fstat(self._fd).st_ino

    def _switch(self, trailer: tuple[int, ...] | None) -> bytes:
        """Move to the file now at the path; where to start in it comes from the trailer."""
        self.close()
        self._offset = 0
        if trailer is None or not self._open():
            return b""
        cut, offset, at = trailer
        if os.pread(self._fd, MARKER_WIDTH, at).startswith(b"\n[swarm: %d bytes " % cut):
            self._offset = offset
            return b""
        self._offset = at + MARKER_WIDTH  # trimmed again since: its tail is all there is
        return FOLLOW_CUT


def _partial(data: bytes) -> int:
    """How many bytes at the end of ``data`` may begin a trailer (held back until known)."""
    start = data.rfind(b"\0", max(0, len(data) - TRAILER_WIDTH))
    while start >= 0:
        rest = data[start:]
        if len(rest) <= TRAILER_WIDTH and all(
                want == got or (want == _DIGIT and got in _DIGITS)
                for want, got in zip(_TEMPLATE, rest, strict=False)):
            return len(rest)
        start = data.rfind(b"\0", max(0, len(data) - TRAILER_WIDTH), start)
    return 0
