"""Run records: one JSON line per ``hookrun run`` under ``.swarm/hooks/``, size-bounded."""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any

from hookswarm.lib.swarmdir import make_dirs

if TYPE_CHECKING:
    from collections.abc import Iterator

RECORDS_FILE = "runs.jsonl"
MAX_BYTES = 4 << 20
KEEP_ROTATED = 2
RECORD_VERSION = 1
_NUMBER = frozenset({int, float})  # exact types: a bool is not a time
_NO_HOOKS: list[Any] = []


def records_dir(project: str) -> str:
    return os.path.join(project, ".swarm", "hooks")


def append(directory: str, record: dict[str, Any], *, max_bytes: int = MAX_BYTES) -> None:
    """Append one record with a single O_APPEND write, rotating when the file is full."""
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    path = os.path.join(directory, RECORDS_FILE)
    try:
        make_dirs(directory)
        if _size(path) + len(line) > max_bytes:
            _rotate(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # records are diagnostics: never fail a hook run for them


def read(directory: str) -> Iterator[dict[str, Any]]:
    """Every record, oldest first, skipping lines that do not parse or have the wrong shape.

    Only the record's own fields are checked here; ``stats`` skips a malformed hook entry,
    which costs nothing while the entries are well formed (checking each here would cost a
    quarter of the time ``hookrun stats`` takes).
    """
    import orjson  # the readers' speed-up; hookrun run only appends

    names = [f"{RECORDS_FILE}.{n}" for n in range(KEEP_ROTATED, 0, -1)] + [RECORDS_FILE]
    for name in names:
        with contextlib.suppress(FileNotFoundError), open(
                os.path.join(directory, name), "rb") as handle:
            for line in handle:
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if (type(record) is dict and type(record.get("hooks", _NO_HOOKS)) is list
                        and type(record.get("ts", 0)) in _NUMBER):
                    yield record


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _rotate(path: str) -> None:
    """runs.jsonl -> runs.jsonl.1 -> runs.jsonl.2; the oldest falls off."""
    for n in range(KEEP_ROTATED - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}.{n}", f"{path}.{n + 1}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, f"{path}.1")
