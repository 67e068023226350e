"""Helpers for the swarm tests: process liveness, file-synchronised waits, record peaks, the CLI."""

from __future__ import annotations

import ctypes
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from click.testing import CliRunner

from hookswarm.lib.swarm.cli import cli
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.metrics import peak_concurrency
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.processes import gone

if TYPE_CHECKING:
    from pathlib import Path

    from hookswarm.lib.swarm.store import Store


@dataclass
class SwarmRun:
    """What one coordinator run produced."""

    ids: list[str]
    results: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    coordinator: Coordinator
    store: Store
    intervals: dict[str, tuple[int, int]] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]

    def event_peak(self) -> int:
        """Most workers running at once, from the coordinator's started/ended sequence."""
        spans: dict[str, list[int]] = {}
        for event in self.events:
            if event["kind"] in ("started", "ended") and event["id"] in self.ids:
                spans.setdefault(event["id"], []).append(event["seq"])
        return peak_concurrency([(s[0], s[-1]) for s in spans.values() if len(s) == 2])

    def status(self, task_id: str | None = None) -> str:
        return str(self.results[task_id or self.ids[0]]["status"])


Runner = Callable[..., SwarmRun]
Background = Callable[[list[dict[str, Any]], SwarmConfig], Callable[[], SwarmRun]]
"""Starts a coordinator run in the background; the returned call waits for it."""


def recorded_peak(path: Path) -> int:
    """Most workers between their own ``start`` and ``end`` lines in an O_APPEND record file."""
    current = peak = 0
    for line in path.read_text().splitlines():
        current += 1 if line.startswith("start") else -1
        peak = max(peak, current)
    return peak


def pids_alive(pids: Sequence[int]) -> list[int]:
    return [p for p in pids if not gone(p)]



def coordinate(store: Store, entries: list[dict[str, object]], tmp_path: Path, *,
               config: SwarmConfig | None = None, only: bool = True,
               on_event: Callable[[dict[str, Any], Coordinator], None] | None = None,
               **options: Any) -> tuple[Coordinator, list[dict[str, Any]], list[str]]:
    """Submit ``entries`` and run one coordinator over them (``only`` them, or the queue)."""
    ids = store.submit(build_tasks(entries, base=str(tmp_path)))
    events: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event, coordinator)

    coordinator = Coordinator(store, config or SwarmConfig(), on_event=record, **options)
    anyio.run(lambda: coordinator.run(only=ids if only else None))
    return coordinator, events, ids


RECORD = 'echo "start $SWARM_TASK_ID" >> {rec}; sleep {secs}; echo "end $SWARM_TASK_ID" >> {rec}'


# The first ``gate`` workers to start wait until ``gate`` have started: a barrier on the record.
GATED = ('echo "start $SWARM_TASK_ID" >> {rec}; '
         'if [ "$(grep -c start {rec})" -le {gate} ]; then '
         'until [ "$(grep -c start {rec})" -ge {gate} ]; do sleep 0.01; done; fi; '
         'echo "end $SWARM_TASK_ID" >> {rec}')


def recording_task(rec: Path, secs: float = 0.1, **extra: object) -> dict[str, object]:
    return {"backend": "command", "argv": ["sh", "-c", RECORD.format(rec=rec, secs=secs)],
            **extra}


def gated_task(rec: Path, gate: int, **extra: object) -> dict[str, object]:
    """A recording task whose first ``gate`` instances only end once all of them have started,
    so that they are proven to have run at once (a barrier, not a stopwatch)."""
    return {"backend": "command", "argv": ["sh", "-c", GATED.format(rec=rec, gate=gate)],
            **extra}


# Capabilities that let root read, write and search files whatever their mode
# (linux/capability.h): CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER.
_OVERRIDES = (1 << 1) | (1 << 2) | (1 << 3)
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_overrides() -> None:
    """Drop the capabilities that let root ignore file modes, in this (single) thread."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[0].effective &= ~_OVERRIDES
    data[0].permitted &= ~_OVERRIDES
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def unprivileged(work: Callable[[], object]) -> int:
    """Run ``work`` in a forked child for which file modes count; its exit status.

    Tests run as root, which reads files of mode 000; the permission errors a user meets need
    a process without root's overrides. The child keeps uid 0 (so it still reads the checkout
    and the interpreter, wherever they are) but drops the capabilities that ignore file
    modes, so a file of mode 000 is as closed to it as to any user.
    """
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _drop_overrides()
            work()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def swarm(
    project: Path, *args: str, env: Mapping[str, str | None] | None = None,
) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--dir", str(project), *args], env=env,
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def server_log(store: Store, name: str) -> str:
    path = store.root / "servers" / f"{name}.log"
    return path.read_text() if path.exists() else ""
