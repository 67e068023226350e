"""PreToolUse hook for swarm workers: deny file writes outside the task's ``owns`` globs.

The coordinator injects it into each ``claude`` worker through ``--settings``::

    python -m hookswarm.hooks.ownership_guard --cwd /task/dir --own '/task/dir/src/**' ...

A write to an owned path passes through untouched (the normal permission rules still apply);
any other Write / Edit / MultiEdit / NotebookEdit is denied with a reason the model reads. A
payload that cannot be read is denied too: this guard fails closed.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from hookswarm.lib.protocol import deny
from hookswarm.lib.swarm.ownership import WRITE_TOOLS, may_write

if TYPE_CHECKING:
    from collections.abc import Sequence

USAGE = "usage: python -m hookswarm.hooks.ownership_guard --cwd DIR [--own GLOB]..."


def decide(payload: Any, *, cwd: str, owns: Sequence[str]) -> dict[str, Any] | None:
    """The hook's answer for one PreToolUse payload: None to let the call through."""
    if not isinstance(payload, dict):
        return deny("swarm ownership guard: unreadable tool call; write denied")
    if payload.get("tool_name") not in WRITE_TOOLS:
        return None
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        return deny(f"swarm ownership guard: the {payload.get('tool_name')} call's tool_input "
                    "is not an object; write denied")
    path = tool_input.get("file_path") or tool_input.get("notebook_path")
    if not isinstance(path, str) or not path:
        return deny("swarm ownership guard: the write names no file; write denied")
    if may_write(path, cwd=cwd, owns=owns):
        return None
    allowed = ", ".join(owns) if owns else "nothing (this task owns no files)"
    return deny(f"swarm ownership guard: this task may not write {path}. It owns only: "
                f"{allowed}. Do not retry this write; finish within the files you own or "
                "report that the change needs another task.")


def parse_args(args: Sequence[str]) -> tuple[str, list[str]] | None:
    cwd = ""
    owns: list[str] = []
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("--cwd", "--own") or not rest:
            return None
        value = rest.pop(0)
        if flag == "--cwd":
            cwd = value
        else:
            owns.append(value)
    return (cwd, owns) if cwd else None


def main(argv: Sequence[str] | None = None) -> int:
    parsed = parse_args(sys.argv[1:] if argv is None else argv)
    if parsed is None:
        print(f"ownership_guard: bad arguments\n{USAGE}", file=sys.stderr)
        return 2
    try:
        payload = json.loads(sys.stdin.buffer.read() or b"null")
    except (ValueError, RecursionError):  # nested past the parser's depth: malformed too
        payload = None
    answer = decide(payload, cwd=parsed[0], owns=parsed[1])
    if answer is not None:
        sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
