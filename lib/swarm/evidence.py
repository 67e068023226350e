"""Evidence: a task succeeds only on a clean end AND every expected file, fresh and non-empty.

"Fresh" compares each file with a snapshot taken just before the worker started: it did not
exist then, or its mtime, ctime or inode has changed since. File timestamps come from a clock
that ticks every few milliseconds, so comparing an mtime with the start time alone cannot tell
a file written just after the start from one written just before it.

``verdict`` is pure; ``file_facts`` is the one edge that looks at the disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


class Status(Enum):
    """How a task ended. Only ``succeeded`` is a success."""

    SUCCEEDED = "succeeded"
    UNVERIFIED = "unverified"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    KILLED_SILENT = "killed_silent"
    DAMAGED = "damaged"  # only read back: a result file that cannot be read


class Stop(Enum):
    """Why the coordinator stopped a worker, if it did."""

    NONE = "none"
    TIMEOUT = "timeout"
    SILENCE = "silence"


@dataclass(frozen=True, slots=True)
class FileFact:
    """What the disk says about one expected file."""

    path: str
    exists: bool
    size: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    ino: int = 0

    def same_version(self, other: FileFact) -> bool:
        return other.exists and self.exists and (self.mtime_ns, self.ctime_ns, self.ino) == (
            other.mtime_ns, other.ctime_ns, other.ino)


@dataclass(frozen=True, slots=True)
class Ending:
    """How the worker ended: who stopped it, whether it claims success, and why not."""

    stop: Stop
    clean: bool
    reason: str = ""
    denials: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: str


def verdict(ending: Ending, files: Sequence[FileFact], *,
            before: Mapping[str, FileFact]) -> Verdict:
    """Judge a finished task; ``before`` holds the expected files as they were at its start.

    Denied tool calls are named in any verdict: they often explain a missing file, and a
    success despite them deserves a look at the log.
    """
    judged = _judge(ending, files, before)
    if not ending.denials:
        return judged
    calls = "tool call" if ending.denials == 1 else "tool calls"
    return Verdict(judged.status, f"{judged.reason}; {ending.denials} {calls} denied (see the log)")


def _judge(ending: Ending, files: Sequence[FileFact], before: Mapping[str, FileFact]) -> Verdict:
    if ending.stop is Stop.SILENCE:
        return Verdict(Status.KILLED_SILENT, ending.reason or "no output: killed for silence")
    if ending.stop is Stop.TIMEOUT:
        return Verdict(Status.TIMED_OUT, ending.reason or "ran past its deadline")
    if not ending.clean:
        return Verdict(Status.FAILED, ending.reason or "the worker did not end cleanly")
    problems = [p for p in (_problem(f, before.get(f.path)) for f in files) if p]
    if problems:
        return Verdict(Status.UNVERIFIED, "claimed success but " + "; ".join(problems))
    if ending.reason:
        return Verdict(Status.SUCCEEDED, ending.reason)
    if not files:
        return Verdict(Status.SUCCEEDED, "ended cleanly")
    return Verdict(Status.SUCCEEDED, f"ended cleanly; all {len(files)} expected file(s) written")


def fresh(fact: FileFact, before: FileFact | None) -> bool:
    """Whether ``fact`` shows a file written after the snapshot ``before`` was taken."""
    return fact.exists and (before is None or not fact.same_version(before))


def _problem(fact: FileFact, before: FileFact | None) -> str:
    if not fact.exists:
        return f"{fact.path} does not exist"
    if fact.size == 0:
        return f"{fact.path} is empty"
    if not fresh(fact, before):
        return f"{fact.path} was not written after the task started"
    return ""


def file_facts(paths: Iterable[str]) -> list[FileFact]:
    """Stat each expected file; anything that is not a regular file counts as missing."""
    facts = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            facts.append(FileFact(path, exists=False))
            continue
        regular = (st.st_mode & 0o170000) == 0o100000
        facts.append(FileFact(path, regular, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                              st.st_ino))
    return facts
