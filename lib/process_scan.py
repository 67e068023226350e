"""The process layer's ``/proc`` side: what a task or a dead coordinator left running.

A coordinator killed with SIGKILL leaves its workers running in their own sessions; the next
one finds them by the marker in their environment, or by the session of a recorded worker
whose leader is gone (its pid stays reserved while the session lives). A live coordinator is a
child subreaper, so a worker's descendant that starts its own session comes back to it when
its parent dies; when a task ends, whatever still carries the task's marker is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
STARTED: set[int] = set()  # children process_async started and has not reaped: never reaped here


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def session_members(sid: int) -> list[int]:
    """Every live process in session ``sid``."""
    return [pid for pid in _pids() if (f := _stat_fields(pid)) and int(f[3]) == sid]


def processes_with_env(entry: str, *, any_of: Collection[str] = (), since: int = 0,
                       skip: Collection[int] = ()) -> list[int]:
    """Every live process whose initial environment holds ``entry`` (``NAME=value``).

    With ``any_of``, only those that also hold at least one of its entries. With ``since``,
    only processes started after the process ``since`` (a pid): pids are handed out in
    increasing order, so older ones are skipped unless the pid counter has wrapped since.
    The pids in ``skip`` are not read at all.
    """
    needle = entry.encode()
    others = {e.encode() for e in any_of}
    floor = since if since and _last_pid() >= since else 0
    found = []
    for pid in _pids():
        if pid < floor or pid in skip:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = set(fh.read().split(b"\0"))
        except OSError:
            continue
        if needle in env and (not others or not others.isdisjoint(env)):
            found.append(pid)
    return found


def child_subreaper(on: bool) -> bool:
    """Make this process the reaper of its orphaned descendants (or stop); the previous setting.

    A worker's descendant that starts its own session escapes the worker's group, but not
    its ancestry: once its parent is gone it becomes this process's child instead of init's.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    was = ctypes.c_int(0)
    libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(was), 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)
    return bool(was.value)


def sweep(entry: str, *, any_of: Collection[str] = (), since: int = 0) -> int:
    """Kill every process marked as :func:`processes_with_env` finds it, then reap orphans.

    Returns how many marked processes were killed.
    """
    marked = processes_with_env(entry, any_of=any_of, since=since, skip=STARTED)
    kill_pids(marked)
    for pid in marked:
        _reap(pid, 0)  # killed: an adopted one is reaped at once, others are not ours
    reap_adopted()
    return len(marked)


def reap_adopted() -> None:
    """Reap the exited children this process adopted as a subreaper (not the ones it started)."""
    for pid in _children():
        if pid not in STARTED and (fields := _stat_fields(pid)) and fields[0] == "Z":
            _reap(pid, os.WNOHANG)


def _reap(pid: int, flags: int) -> None:
    if pid in STARTED:
        return  # its owner waits for it
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, flags)


def _children() -> list[int]:
    """The main thread's children: orphans are handed to a live subreaper's leader thread."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as fh:
            return [int(pid) for pid in fh.read().split()]
    except OSError:
        return []


def kill_pids(pids: Sequence[int]) -> None:
    """SIGKILL each pid; ones already gone are fine."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _last_pid() -> int:
    try:
        with open("/proc/sys/kernel/ns_last_pid", "rb") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return 0


def _pids() -> list[int]:
    me = os.getpid()
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != me]


def _stat_fields(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode(errors="replace")
    except OSError:
        return []
    return raw[raw.rfind(")") + 2:].split()
