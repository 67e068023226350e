"""SessionStart's entry starts ``hookrun serve`` once, however many sessions start together."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, ClassVar

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


def test_a_server_does_not_share_a_port_another_server_listens_on(project: Project,
                                                                    tmp_path: Path) -> None:
    # SO_REUSEPORT would let it: the kernel would then split Claude Code's events between the
    # two, and the server without this project's token would answer them 401 (fail open).
    other = tmp_path / "other"
    other.mkdir()
    port = free_port()
    argv = [HOOKRUN, "serve", "--port", str(port), "--idle", "60"]
    theirs = {**os.environ, "CLAUDE_PROJECT_DIR": str(other)}
    assert serve_start.ensure(argv, project=str(other), port=port, token="their-token",
                              environ=theirs) == ""
    try:
        problem = serve_start.ensure(argv, project=str(project.root), port=port, token=TOKEN,
                                     environ={**os.environ,
                                              "CLAUDE_PROJECT_DIR": str(project.root)})
        log = (project.root / ".swarm" / "hooks" / "serve.log").read_text()
    finally:
        serve.call(port, "their-token", serve.STOP_ROUTE, method="POST")
    assert "hookrun serve did not start" in problem
    assert "exited with 2 before it was ready" in problem
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in log


class _SlowAtFirst(BaseHTTPRequestHandler):
    """This project's server, too loaded to answer the first status probe before it gives up."""

    project: ClassVar[str] = ""
    probes: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.probes.append(self.path)
        if len(self.probes) == 1:
            self.rfile.read()  # until the prober, out of patience, hangs up
            return
        body = json.dumps({"project": self.project}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_running_server_slow_to_answer_is_not_reported_as_not_started(
        project: Project) -> None:
    _SlowAtFirst.project = str(project.root)
    with ThreadingHTTPServer(("127.0.0.1", 0), _SlowAtFirst) as running:
        threading.Thread(target=running.serve_forever, args=(0.01,), daemon=True).start()
        port = running.server_address[1]
        argv = [HOOKRUN, "serve", "--port", str(port), "--idle", "60"]
        problem = serve_start.ensure(argv, project=str(project.root), port=port, token=TOKEN,
                                     environ={**os.environ,
                                              "CLAUDE_PROJECT_DIR": str(project.root)})
        running.shutdown()
    assert problem == ""
    assert len(_SlowAtFirst.probes) == 2  # the start failed (port taken), the second probe found it


def test_stop_returns_once_the_port_is_closed(project: Project) -> None:
    # A session starting right after `--stop` must not find the server that is about to exit.
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncommand = "echo hi"\n')
    port = free_port()
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root), "HOOKRUN_TOKEN": TOKEN}
    server = subprocess.Popen([HOOKRUN, "serve", "--port", str(port), "--idle", "60"],
                              cwd=project.root, env=environ, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith(b"ready")
        stopped = subprocess.run([HOOKRUN, "serve", "--stop", "--port", str(port)],
                                 cwd=project.root, env=environ, capture_output=True, text=True,
                                 timeout=60)
        assert "stopped" in stopped.stdout
        assert serve.call(port, TOKEN, serve.STATUS_ROUTE) is None
    finally:
        server.kill()
        server.wait()


class _OnItsWayOut(BaseHTTPRequestHandler):
    """This project's server as its idle exit begins: it answers one probe, then closes."""

    project: ClassVar[str] = ""
    answered: ClassVar[list[int]] = []

    def do_GET(self) -> None:
        if self.answered:
            self.send_error(404)
            return
        self.answered.append(1)
        body = json.dumps({"project": self.project, "stopping": True}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_server_on_its_way_out_is_replaced_not_relied_on(project: Project) -> None:
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncommand = "echo hi"\n')
    _OnItsWayOut.project = str(project.root)
    leaving = ThreadingHTTPServer(("127.0.0.1", 0), _OnItsWayOut)
    port = leaving.server_address[1]

    def serve_then_close() -> None:
        leaving.serve_forever(0.01)
        leaving.server_close()

    threading.Thread(target=serve_then_close, daemon=True).start()
    argv = [HOOKRUN, "serve", "--port", str(port), "--idle", "60"]
    try:
        problem = serve_start.ensure(argv, project=str(project.root), port=port, token=TOKEN,
                                     environ={**os.environ,
                                              "CLAUDE_PROJECT_DIR": str(project.root)})
        state = serve.call(port, TOKEN, serve.STATUS_ROUTE)
    finally:
        serve.call(port, TOKEN, serve.STOP_ROUTE, method="POST")
    assert problem == ""
    assert state is not None
    assert (state["project"], state["stopping"]) == (str(project.root), False)
