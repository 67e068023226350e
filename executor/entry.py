"""``hookrun run`` as Claude Code calls it: arguments parsed by hand, stdout kept for the answer.

``cli`` sends ``run`` here before anything imports click; ``commands`` and ``validate`` use
``stdout_diverted`` around call hooks.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

from hookswarm.executor.merge import with_note
from hookswarm.executor.run import Invocation, run_event

if TYPE_CHECKING:
    from collections.abc import Iterator

USAGE_RUN = "usage: hookrun run [EVENT] [--config PATH] [--if-configured]"
# Payloads nest as deep as the tool input does (Python's default of 1,000 frames stops json
# short of that); deeper still is one clear line and an answer per on_error.
PAYLOAD_DEPTH = 5000


def run(args: list[str], *, note: str = "") -> int:
    """Run the hooks for one event; the payload arrives on stdin, the response leaves on stdout
    (with ``note`` for the user in its ``systemMessage``)."""
    parsed = _parse_run(args)
    if isinstance(parsed, str):
        os.write(2, f"hookrun: {parsed}\n{USAGE_RUN}\n".encode())
        return 0  # fail open: a mistyped settings entry must not block the session
    event, config_path, if_configured = parsed
    raw = sys.stdin.buffer.read()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), PAYLOAD_DEPTH))
    # Not restored: an abandoned call-hook thread may still print until the process exits.
    real_stdout = divert_stdout()
    response = run_event(Invocation(raw=raw, event=event, config_path=config_path,
                                    environ=os.environ, cwd=os.getcwd(),
                                    if_configured=if_configured))
    if note:
        response = with_note(response, note)
    if response.stderr:
        _write_all(2, response.stderr.encode("utf-8", "backslashreplace"))
    if response.stdout:
        # Hook text may hold lone surrogates (undecodable file names); "?" keeps the JSON valid.
        _write_all(real_stdout, response.stdout.encode("utf-8", "replace"))
    return response.exit_code


def divert_stdout() -> int:
    """Send stdout to stderr, ``sys.stdout`` and fd 1 alike, and return a dup of the real stdout.

    stdout is the protocol channel: whatever a call hook prints, or a process it starts writes
    to the descriptor it inherits, must not land in front of the answer.
    """
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return real


@contextlib.contextmanager
def stdout_diverted() -> Iterator[None]:
    """Run a block with stdout diverted to stderr (see ``divert_stdout``), then restore it."""
    previous = sys.stdout
    real = divert_stdout()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 1)
        os.close(real)
        sys.stdout = previous


def _parse_run(args: list[str]) -> tuple[str | None, str | None, bool] | str:
    event: str | None = None
    config: str | None = None
    if_configured = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--if-configured":
            if_configured = True
        elif arg == "--config" and rest:
            config = rest.pop(0)
        elif arg.startswith("--config="):
            config = arg.partition("=")[2]
        elif not arg.startswith("-") and event is None:
            event = arg
        else:
            return f"unexpected argument {arg!r}"
    return event, config, if_configured


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
