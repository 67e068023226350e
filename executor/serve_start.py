"""Starting ``hookrun serve`` from SessionStart's entry: once, under a lock, then ready.

Every session's SessionStart runs the entry, and several sessions may start at once; the lock
makes the second wait for the first and then find the server answering.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from hookswarm.executor.serve import STATUS_ROUTE, TOKEN_ENV, call
from hookswarm.lib.flock import lock_within
from hookswarm.lib.process import start_detached
from hookswarm.lib.swarmdir import make_dirs
from hookswarm.settings.entries import SERVER_START_TIMEOUT

if TYPE_CHECKING:
    from collections.abc import Mapping

PROBE_WITHIN = 2.0  # asking a running server for its status
# Waiting for the lock and for the server's readiness share one budget, so that SessionStart's
# hooks still run inside the entry's timeout (SERVER_START_TIMEOUT plus theirs).
START_WITHIN = SERVER_START_TIMEOUT - PROBE_WITHIN


def ensure(argv: list[str], *, project: str, port: int, token: str,
           environ: Mapping[str, str]) -> str:
    """Start the server ``argv`` runs unless one answers on ``port``; "" or what went wrong."""
    deadline = time.monotonic() + START_WITHIN
    directory = os.path.join(project, ".swarm", "hooks")
    make_dirs(directory)
    fd = os.open(os.path.join(directory, "serve.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not lock_within(fd, START_WITHIN):
            return (f"another session has been starting hookrun serve for {project} for over "
                    f"{START_WITHIN:g} s; see .swarm/hooks/serve.log there")
        return _start_unless_running(argv, project=project, port=port, token=token,
                                     environ=environ, log=os.path.join(directory, "serve.log"),
                                     deadline=deadline)
    finally:
        os.close(fd)


def _start_unless_running(argv: list[str], *, project: str, port: int, token: str,
                          environ: Mapping[str, str], log: str, deadline: float) -> str:
    running = _serving(port, token, deadline)
    if running is not None:
        theirs = running.get("project")
        return "" if theirs == project else (
            f"port {port} is served by hookrun serve for {theirs}; give this project another "
            "port: run `hookrun uninstall` and `hookrun install --serve` here")
    started = start_detached(argv, cwd=project, env={**environ, TOKEN_ENV: token}, log=log,
                             ready_within=max(1.0, deadline - time.monotonic()))
    if isinstance(started, int):
        return ""
    again = call(port, token, STATUS_ROUTE, timeout=max(PROBE_WITHIN, deadline - time.monotonic()))
    if again is not None and again.get("project") == project and not again.get("stopping"):
        return ""  # it was running, too loaded to answer the first probe in time
    return f"hookrun serve did not start: {started}"


def _serving(port: int, token: str, deadline: float) -> dict[str, Any] | None:
    """The status of the server on ``port``; one on its way out (idle exit, ``--stop``) counts
    as none once its port has closed: the session must not rely on it."""
    running = call(port, token, STATUS_ROUTE, timeout=PROBE_WITHIN)
    while running is not None and running.get("stopping") and time.monotonic() < deadline:
        time.sleep(0.05)
        running = call(port, token, STATUS_ROUTE, timeout=PROBE_WITHIN)
    return None if running is not None and running.get("stopping") else running
