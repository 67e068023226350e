"""SessionStart's entry starts ``hookrun serve`` once, however many sessions start together."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest

from hookswarm.executor import serve, serve_start
from hookswarm.settings.serving import free_port
from tests.helpers.install import HOOKRUN
from tests.helpers.processes import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(90)
TOKEN = "start-token"


def test_sessions_starting_together_start_one_server(project: Project) -> None:
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncommand = "echo hi"\n')
    port = free_port()
    argv = [HOOKRUN, "serve", "--port", str(port), "--idle", "60"]
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root)}
    problems: list[str] = []

    def start() -> None:
        problems.append(serve_start.ensure(argv, project=str(project.root), port=port,
                                           token=TOKEN, environ=environ))

    threads = [threading.Thread(target=start) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # A second server could not bind the port and would have said so.
        assert problems == ["", "", ""]
        state = serve.call(port, TOKEN, serve.STATUS_ROUTE)
        assert state is not None
        assert state["project"] == str(project.root)
        assert state["pid"] == serve.read_state(str(project.root))["pid"]
    finally:
        serve.call(port, TOKEN, serve.STOP_ROUTE, method="POST")


def test_a_port_held_by_another_projects_server_is_named(project: Project,
                                                          tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    port = free_port()
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(other)}
    argv = [HOOKRUN, "serve", "--port", str(port), "--idle", "60"]
    try:
        assert serve_start.ensure(argv, project=str(other), port=port, token=TOKEN,
                                  environ=environ) == ""
        problem = serve_start.ensure(argv, project=str(project.root), port=port, token=TOKEN,
                                     environ=environ)
        assert f"port {port} is served by hookrun serve for {other}" in problem
    finally:
        serve.call(port, TOKEN, serve.STOP_ROUTE, method="POST")


def test_a_server_whose_starter_has_gone_keeps_serving(project: Project) -> None:
    # Claude Code ended the SessionStart entry that started the server: nobody reads the pipe
    # the server says "ready" on, and the session's http hooks still need the server.
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncommand = "echo hi"\n')
    port = free_port()
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root), "HOOKRUN_TOKEN": TOKEN}
    reader, writer = os.pipe()
    os.close(reader)
    server = subprocess.Popen([HOOKRUN, "serve", "--port", str(port), "--idle", "60"],
                              cwd=project.root, env=environ, stdout=writer,
                              stderr=subprocess.PIPE)
    os.close(writer)
    try:
        wait_until(lambda: server.poll() is not None
                   or serve.call(port, TOKEN, serve.STATUS_ROUTE) is not None, timeout=60)
        assert server.poll() is None, server.communicate()[1]
    finally:
        serve.call(port, TOKEN, serve.STOP_ROUTE, method="POST")
        server.wait(30)


def test_a_server_that_cannot_start_is_named_to_the_user_and_session_start_still_runs(
        project: Project) -> None:
    project.config('[[hooks]]\nname = "s"\nevent = "SessionStart"\ncommand = "echo CTX"\n')
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root), "HOOKRUN_TOKEN": TOKEN}
    with socket.socket() as taken:  # bound, not listening: the server cannot have the port
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        started = subprocess.run([HOOKRUN, "serve", "--session-start", "--port", str(port)],
                                 input=json.dumps({"hook_event_name": "SessionStart",
                                                   "cwd": str(project.root)}),
                                 cwd=project.root, env=environ, capture_output=True, text=True,
                                 timeout=60)
    answer = json.loads(started.stdout)
    assert answer["hookSpecificOutput"]["additionalContext"] == "CTX"
    assert "hookrun serve did not start" in answer["systemMessage"]
    assert "fail open" in answer["systemMessage"]
