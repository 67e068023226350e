"""``hookrun serve``: a real server on a free port, called the way Claude Code calls it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.executor import serve
from hookswarm.settings.serving import free_port
from tests.helpers.payloads import prompt
from tests.helpers.processes import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(60)
TOKEN = "test-token-123"
PRE_TOOL = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "session_id": "s",
            "tool_input": {"command": "ls"}}


def options_for(project: Project, idle: float = 600.0) -> serve.ServeOptions:
    return serve.ServeOptions(
        project=str(project.root), config_path=str(project.root / ".claude" / "hookrun.toml"),
        port=0, token=TOKEN, environ={**os.environ, "CLAUDE_PROJECT_DIR": str(project.root)},
        idle=idle)


class Running:
    """A server in a thread of this process, stopped at the end of the test."""

    def __init__(self, project: Project, *, idle: float = 600.0) -> None:
        self.project = project
        ports: list[int] = []
        self.thread = threading.Thread(target=serve.serve, args=(options_for(project, idle),),
                                       kwargs={"ready": ports.append}, daemon=True)
        self.thread.start()
        while not ports and self.thread.is_alive():
            self.thread.join(0.01)
        self.port = ports[0]

    def post(self, event: str, payload: dict[str, Any], *, token: str = TOKEN,
             connection: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, Any]]:
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({"cwd": str(self.project.root), **payload}).encode()
        connection.request("POST", f"/hookrun-install/{event}?if-not-running=x", body=body,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read() or b"null")

    def stop(self) -> None:
        serve.call(self.port, TOKEN, serve.STOP_ROUTE, method="POST")
        self.thread.join(20)


@pytest.fixture
def running(project: Project) -> Iterator[Running]:
    project.config("""
        [[hooks]]
        name = "ctx"
        event = "UserPromptSubmit"
        command = "echo CTX-PLAIN"
    """)
    server = Running(project)
    yield server
    server.stop()


def test_plain_text_context_comes_back_as_json_with_200(running: Running) -> None:
    status, body = running.post("UserPromptSubmit", prompt())
    assert status == 200
    assert body["hookSpecificOutput"]["additionalContext"] == "CTX-PLAIN"


@pytest.mark.parametrize(("body", "says"), [
    (b"not json", "the payload on stdin is not a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "reading the payload failed (RecursionError"),
])
def test_a_payload_hookrun_cannot_read_is_still_answered(running: Running, body: bytes,
                                                          says: str) -> None:
    """As ``hookrun run`` answers it: not JSON fails open; JSON too deep for the parser is a
    fault of hookrun's own, answered per on_error (here the default, allow)."""
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
    connection.request("POST", "/hookrun-install/UserPromptSubmit", body=body,
                       headers={"Authorization": f"Bearer {TOKEN}"})
    reply = connection.getresponse()
    assert reply.status == 200
    assert says in json.loads(reply.read())["systemMessage"]


def test_an_event_without_hooks_is_an_empty_json_object(running: Running) -> None:
    assert running.post("PreToolUse", PRE_TOOL) == (200, {})


def test_a_caller_without_the_token_is_refused(running: Running) -> None:
    status, _ = running.post("UserPromptSubmit", prompt(), token="wrong")
    assert status == 401
    assert not (running.project.root / ".swarm" / "hooks" / "runs.jsonl").exists()


def test_one_kept_alive_connection_serves_a_session(running: Running) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
    for _ in range(3):
        status, body = running.post("UserPromptSubmit", prompt(), connection=connection)
        assert (status, body["hookSpecificOutput"]["additionalContext"]) == (200, "CTX-PLAIN")


def test_runs_are_recorded_as_hookrun_run_records_them(running: Running) -> None:
    running.post("UserPromptSubmit", prompt())
    lines = (running.project.root / ".swarm" / "hooks" / "runs.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert (record["event"], [h["name"] for h in record["hooks"]]) == ("UserPromptSubmit",
                                                                       ["ctx"])


def test_concurrent_events_are_served_concurrently(project: Project) -> None:
    # Each call hook waits at one barrier of two: only two events in flight at once pass it.
    project.module("meet", """
        import threading
        BARRIER = threading.Barrier(2, timeout=20)
        def hook(payload):
            BARRIER.wait()
            return "MET"
    """)
    project.config('[[hooks]]\nname = "meet"\nevent = "UserPromptSubmit"\ncall = "meet:hook"\n')
    server = Running(project)
    try:
        answers: list[Any] = []
        threads = [threading.Thread(target=lambda: answers.append(
            server.post("UserPromptSubmit", prompt()))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        contexts = [body["hookSpecificOutput"]["additionalContext"] for _, body in answers]
        assert contexts == ["MET", "MET"]
    finally:
        server.stop()


def test_a_changed_config_is_reloaded(running: Running) -> None:
    running.post("UserPromptSubmit", prompt())
    running.project.config("""
        [[hooks]]
        name = "ctx"
        event = "UserPromptSubmit"
        command = "echo CTX-NEW"
    """)
    _, body = running.post("UserPromptSubmit", prompt())
    assert body["hookSpecificOutput"]["additionalContext"] == "CTX-NEW"


def test_an_invalid_new_config_keeps_the_old_one_and_says_so(running: Running) -> None:
    running.post("UserPromptSubmit", prompt())
    running.project.config('[[hooks]]\nname = "ctx"\nevent = "UserPromptSubmit"\ncomand = "x"\n')
    _, body = running.post("UserPromptSubmit", prompt())
    assert body["hookSpecificOutput"]["additionalContext"] == "CTX-PLAIN"
    assert "still running the previous hookrun.toml" in body["systemMessage"]
    assert "comand" in body["systemMessage"]
    _, later = running.post("UserPromptSubmit", prompt())
    assert "systemMessage" not in later  # said once


def test_a_block_on_a_json_event_is_a_json_deny(project: Project) -> None:
    script = project.script("no.py", "import sys; sys.stdin.read(); print('NO', file=sys.stderr);"
                                     " sys.exit(2)\n")
    project.config(f'[[hooks]]\nname = "no"\nevent = "PreToolUse"\ncommand = "{script}"\n')
    server = Running(project)
    try:
        status, body = server.post("PreToolUse", PRE_TOOL)
    finally:
        server.stop()
    assert status == 200
    assert body["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "NO" in body["hookSpecificOutput"]["permissionDecisionReason"]


def test_an_earlier_unclean_end_reaches_the_next_reply(running: Running, project: Project) -> None:
    running.stop()
    state = serve.read_state(str(project.root))
    serve.write_state(str(project.root), {k: v for k, v in state.items()
                                          if k not in ("stopped", "reason")})  # as after kill -9
    again = Running(project)
    try:
        _, body = again.post("UserPromptSubmit", prompt())
        _, later = again.post("UserPromptSubmit", prompt())
    finally:
        again.stop()
    assert "ended without stopping cleanly" in body["systemMessage"]
    assert "fail open" in body["systemMessage"]
    assert "systemMessage" not in later


def test_an_idle_server_exits_and_records_why(project: Project) -> None:
    project.config("")
    server = Running(project, idle=1.0)
    server.thread.join(30)
    assert not server.thread.is_alive()
    assert "without an event" in serve.read_state(str(project.root))["reason"]


def test_status_and_stop(running: Running) -> None:
    state = serve.call(running.port, TOKEN, serve.STATUS_ROUTE)
    assert state is not None
    assert state["pid"] == os.getpid()
    assert serve.call(running.port, "wrong", serve.STATUS_ROUTE) is None
    running.stop()
    assert not running.thread.is_alive()
    assert serve.call(running.port, TOKEN, serve.STATUS_ROUTE) is None


@pytest.mark.parametrize(("previous", "expected"), [
    ({}, ""),
    ({"pid": 7}, "ended without stopping cleanly"),
    ({"pid": 7, "stopped": 100.0, "reason": "exited after 60 s without an event"},
     "not running for 50 s (exited after 60 s without an event)"),
])
def test_downtime_note(previous: dict[str, Any], expected: str) -> None:
    note = serve.downtime_note(previous, 150.0)
    assert (expected in note) if expected else note == ""


def test_hookrun_run_does_not_import_the_server(project: Project) -> None:
    probe = textwrap.dedent("""
        import io, sys
        sys.stdin = io.TextIOWrapper(io.BytesIO(b'{}'))
        from hookswarm.executor.cli import run
        run([])
        print("hookswarm.executor.serve" in sys.modules, file=sys.stderr)
    """)

    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=Path(project.root), timeout=30)
    assert proc.stderr.strip().splitlines()[-1] == "False"


def test_python_script_hooks_start_warm_unless_they_opt_out(project: Project) -> None:
    # A hook forked from the zygote has a fork of the zygote as its parent, not /bin/sh.
    script = project.script("parent.py", "import os\nparent = open(f'/proc/{os.getppid()}/"
                                         "cmdline', 'rb').read().split(b'\\0')\n"
                                         "print(os.path.basename(parent[0].decode()), "
                                         "'zygote' in parent[2].decode() if len(parent) > 2 "
                                         "else False)\n")
    project.config(f"""
        [[hooks]]
        name = "warm"
        event = "UserPromptSubmit"
        command = "{script}"

        [[hooks]]
        name = "cold"
        event = "UserPromptSubmit"
        command = "{script}"
        warm = false
    """)
    server = Running(project)
    try:
        _, body = server.post("UserPromptSubmit", prompt())
    finally:
        server.stop()
    warm_parent, cold_parent = body["hookSpecificOutput"]["additionalContext"].split("\n\n")
    assert cold_parent == "sh False"
    assert warm_parent.endswith(" True")


def test_a_changed_call_module_is_run_by_a_fresh_process_with_this_events_variables(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_ENV_FILE", "/session/env.sh")  # SessionStart's, kept by the server
    project.module("ctxmod", "def hook(payload):\n    return 'OLD'\n")
    project.config("""
        [[hooks]]
        name = "c"
        event = "UserPromptSubmit"
        call = "ctxmod:hook"

        [[hooks]]
        name = "env"
        event = "UserPromptSubmit"
        command = "echo file=${CLAUDE_ENV_FILE:-none}"
    """)
    server = Running(project)
    try:
        _, before = server.post("UserPromptSubmit", prompt())
        (project.root / "ctxmod.py").write_text("def hook(payload):\n    return 'NEW-CODE'\n")
        _, after = server.post("UserPromptSubmit", prompt())
    finally:
        server.stop()
    assert before["hookSpecificOutput"]["additionalContext"] == "OLD\n\nfile=none"
    assert after["hookSpecificOutput"]["additionalContext"] == "NEW-CODE\n\nfile=none"
    assert sys.modules["ctxmod"].hook({}) == "OLD"  # this process never reloaded it


def test_a_changed_call_module_replaces_the_server(project: Project) -> None:


    project.module("ctxmod2", "def hook(payload):\n    return 'OLD'\n")
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncall = "ctxmod2:hook"\n')
    port = free_port()
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root), "HOOKRUN_TOKEN": TOKEN}
    hookrun = str(Path(sys.executable).with_name("hookrun"))
    first = subprocess.Popen([hookrun, "serve", "--port", str(port), "--idle", "60"],
                             cwd=project.root, env=env, stdout=subprocess.PIPE)
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith(b"ready")
        server = Running.__new__(Running)
        server.project, server.port = project, port
        assert server.post("UserPromptSubmit", prompt())[1]["hookSpecificOutput"][
            "additionalContext"] == "OLD"
        (project.root / "ctxmod2.py").write_text("def hook(payload):\n    return 'NEW'\n")
        assert server.post("UserPromptSubmit", prompt())[1]["hookSpecificOutput"][
            "additionalContext"] == "NEW"
        assert first.wait(30) == 0  # it handed over and left
        state = serve.call(port, TOKEN, serve.STATUS_ROUTE)
        assert state is not None
        assert state["pid"] != first.pid
        _, body = server.post("UserPromptSubmit", prompt())
        assert body["hookSpecificOutput"]["additionalContext"] == "NEW"
        assert "systemMessage" not in body  # a replacement is no downtime
    finally:
        serve.call(port, TOKEN, serve.STOP_ROUTE, method="POST")
        first.kill()
        first.wait()


def test_events_reuse_the_servers_threads(project: Project) -> None:
    project.module("which", "import threading\ndef hook(payload):\n"
                            "    return threading.current_thread().name\n")
    project.config('[[hooks]]\nname = "w"\nevent = "UserPromptSubmit"\ncall = "which:hook"\n')
    server = Running(project)
    try:
        names = [server.post("UserPromptSubmit", prompt())[1]["hookSpecificOutput"][
            "additionalContext"] for _ in range(3)]
    finally:
        server.stop()
    assert len(set(names)) == 1  # no event started a thread of its own


def test_a_hook_slow_to_start_still_lets_the_deny_beside_it_arrive_in_time(
        project: Project) -> None:
    # The zygote that would start `slow` preloads `gate`, whose import waits for a file: the
    # hook cannot even start. Claude Code stops waiting at the entry's timeout (1 s hooks: 3 s),
    # so the server answers at 2 s with the deny it has and says what did not finish.
    gate = project.root / "gate-open"
    project.module("gate", f"""
        import os, time
        while not os.path.exists({str(gate)!r}):
            time.sleep(0.01)
    """)
    slow = project.script("slow.py", "import gate\n")
    deny = project.script("deny.py", "import json\nprint(json.dumps({'hookSpecificOutput': {"
                                     "'hookEventName': 'PreToolUse', 'permissionDecision': "
                                     "'deny', 'permissionDecisionReason': 'NO'}}))\n")
    project.config(f"""
        [[hooks]]
        name = "deny"
        event = "PreToolUse"
        command = "{deny}"
        timeout = 1
        warm = false

        [[hooks]]
        name = "slow"
        event = "PreToolUse"
        command = "{slow}"
        timeout = 1
        env = {{ PYTHONPATH = "{project.root}" }}
    """)
    server = Running(project)
    try:
        _, body = server.post("PreToolUse", PRE_TOOL)
    finally:
        gate.touch()
        server.stop()
    assert body["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "slow" in body["systemMessage"]
    assert "the event's 2 s ran out" in body["systemMessage"]


def request_bytes(project: Project, event: str = "UserPromptSubmit") -> bytes:
    body = json.dumps({"cwd": str(project.root), **prompt()}).encode()
    return (f"POST /hookrun-install/{event} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


def test_a_stopping_server_answers_what_is_on_its_way_before_it_closes(
        project: Project) -> None:
    # Closing the socket would reset a connection still queued, and exiting would cut off a
    # request on a kept-alive connection: Claude Code would go on without either answer.
    project.config('[[hooks]]\nname = "ctx"\nevent = "UserPromptSubmit"\ncommand = "echo CTX"\n')
    server = serve.Server(options_for(project))
    forever = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    forever.start()
    client = Running.__new__(Running)
    client.project, client.port = project, server.server_address[1]
    kept = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
    assert client.post("UserPromptSubmit", prompt(), connection=kept)[0] == 200
    server.shutdown()  # serve_forever has returned; nothing accepts any more
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=30) as queued:
        queued.sendall(request_bytes(project))
        closing = threading.Thread(target=server.close_down, args=(30.0,), daemon=True)
        closing.start()
        kept.request("POST", "/hookrun-install/UserPromptSubmit",
                     body=json.dumps({"cwd": str(project.root), **prompt()}).encode(),
                     headers={"Authorization": f"Bearer {TOKEN}"})
        late = kept.getresponse()
        assert (late.status, late.getheader("Connection")) == (200, "close")
        assert b"CTX" in late.read()
        assert b"CTX" in queued.makefile("rb").read()  # answered, then closed
    kept.close()
    closing.join(30)
    assert not closing.is_alive()


def test_an_open_connection_is_never_idle(project: Project) -> None:
    project.config("")
    server = serve.Server(options_for(project))
    try:
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=30):
            server.handle_request()  # accepted; its handler waits for a request
            assert server.idle_for(time.monotonic() + 3600) == 0.0
        wait_until(lambda: server.idle_for(time.monotonic() + 3600) > 0)
    finally:
        server.server_close()
