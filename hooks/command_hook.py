"""The guards' shared shell: notes on stderr, fail-open state updates, the command-hook entry."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from hookswarm.hooks import agent_guard_state as state
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.protocol import Block

Note = Callable[[str], None]
Check = Callable[[dict[str, Any]], dict[str, Any] | None]


def noter(prefix: str) -> Note:
    """A note writer: one line on stderr, e.g. ``hookswarm agent guard: <text>``."""
    def note(text: str) -> None:
        sys.stderr.write(f"{prefix}: {text}\n")
        sys.stderr.flush()
    return note


def update(place: state.Place, change: state.Change[state.T], note: Note) -> state.T | None:
    """Apply ``change`` to the session state; ``None`` with a note when it cannot be used."""
    try:
        return state.update(place.directory, place.name, change, note=note, now=time.time())
    except state.StateUnavailable as error:
        note(f"{error}; allowing")
        return None


def main(check: Check, note: Note) -> int:
    """Payload on stdin, answer on stdout: exit 0, 1 on a config error, 2 when ``check`` blocks."""
    try:
        payload = json.loads(sys.stdin.buffer.read() or b"{}")
    except (ValueError, RecursionError):  # nested past the parser's depth: not a payload either
        payload = None
    if not isinstance(payload, dict):
        note("stdin is not a hook payload (a JSON object); allowing")
        return 0
    try:
        answer = check(payload)
    except ConfigError as error:
        note(f"{error}; allowing")
        return 1
    except Block as refused:
        sys.stderr.write(refused.reason + "\n")
        return 2
    if answer is not None:
        sys.stdout.write(json.dumps(answer) + "\n")
    return 0
