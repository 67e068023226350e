"""The claude backend end to end: real ``claude -p`` workers against the scripted Messages API."""

from __future__ import annotations

import itertools
import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from hookswarm.lib.swarm.backend import Launch, WorkerEnd
from hookswarm.lib.swarm.claude import (
    PARENT_SESSION_ENV,
    ClaudeBackend,
    LineSplitter,
    judge_result,
    worker_env,
)
from hookswarm.lib.swarm.config import (
    DEFAULT_ALLOWED_TOOLS,
    ClaudeSettings,
    HealthSettings,
    SwarmConfig,
)
from hookswarm.lib.swarm.task import build_tasks
from tests.fakes.messages_api import MessagesAPI, Reply, reply, tool_results, tool_use
from tests.helpers.claude_cli import claude_env, require_claude

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.helpers.swarm import Runner, SwarmRun

SILENCE = {"silence_warn": 0.5, "silence_kill": 2.0, "grace": 0.5}


@pytest.fixture
def claude_swarm(run_swarm: Runner, messages_api: MessagesAPI,
                 tmp_path: Path) -> Callable[..., SwarmRun]:
    """Run tasks with real claude workers talking to ``messages_api`` from a temporary HOME.

    The coordinator's own environment carries ``CLAUDECODE`` and ``CLAUDE_CODE_ENTRYPOINT``, as
    it would when started from inside a Claude Code session.
    """
    binary = str(require_claude())
    home = tmp_path / "home"
    home.mkdir()

    def run(entries: list[dict[str, Any]], *, max_parallel: int = 5,
            health: HealthSettings | None = None, base_url: str | None = None,
            claude_bin: str | None = None, **options: Any) -> SwarmRun:
        extra = {"CLAUDECODE": "1", "CLAUDE_CODE_ENTRYPOINT": "cli"}
        if base_url is not None:
            extra["ANTHROPIC_BASE_URL"] = base_url
        config = SwarmConfig(max_parallel=max_parallel, health=health or HealthSettings(),
                             claude=ClaudeSettings(bin=claude_bin or binary, max_retries=1))
        return run_swarm(entries, config=config, environ=claude_env(messages_api, home, extra),
                         **options)

    return run


def test_worker_env_drops_the_parent_session_and_bounds_retries() -> None:
    [task] = build_tasks([{"prompt": "p", "env": {"MINE": "1"}}])
    base = {name: "x" for name in PARENT_SESSION_ENV} | {"PATH": "/bin"}
    env = worker_env(base, task, ClaudeSettings(max_retries=3))
    assert not set(PARENT_SESSION_ENV) & set(env)
    assert env == {"PATH": "/bin", "CLAUDE_CODE_MAX_RETRIES": "3", "MINE": "1"}


FAKE_CLAUDE = """#!/bin/sh
cat > /dev/null
echo '{"type":"result","is_error":false,"terminal_reason":"completed","result":"ok"}'
"""


def test_a_worker_reports_the_model_it_ran_with(tmp_path: Path) -> None:
    fake = tmp_path / "claude"
    fake.write_text(FAKE_CLAUDE)
    fake.chmod(0o755)
    backend = ClaudeBackend(ClaudeSettings(bin=str(fake), model="opus"), environ={})
    [plain, chosen] = build_tasks([{"prompt": "p"}, {"prompt": "p", "model": "haiku"}],
                                  base=str(tmp_path))
    models = []
    for task in (plain, chosen):
        worker = backend.start(Launch(task, "p", {"PATH": os.environ["PATH"]}))
        assert not isinstance(worker, WorkerEnd)
        end = anyio.run(worker.run, lambda _chunk: None)
        assert end.clean, end.reason
        models.append(end.model)
    assert models == ["opus", "haiku"]


def test_each_task_model_reaches_the_api_under_the_cap_despite_claudecode(
        claude_swarm: Callable[..., SwarmRun], messages_api: MessagesAPI) -> None:
    messages_api.script = {f"say hi {i}": [reply(f"hello {i}")] for i in range(3)}
    run = claude_swarm([{"prompt": f"say hi {i}", "model": f"claude-swarm-{i}", "cwd": f"w{i}"}
                        for i in range(3)], max_parallel=2)
    for i, task_id in enumerate(run.ids):
        result = run.results[task_id]
        assert result["status"] == "succeeded", result
        assert result["worker"]["result"] == f"hello {i}"
        assert result["model"] == f"claude-swarm-{i}"
        assert {r.model for r in messages_api.conversation(f"say hi {i}")} == {f"claude-swarm-{i}"}
        assert Path(result["worker"]["transcript"]).exists()
    assert run.event_peak() == 2


def test_a_stream_that_stalls_mid_message_is_killed_for_silence_and_the_log_kept(
        claude_swarm: Callable[..., SwarmRun], messages_api: MessagesAPI) -> None:
    messages_api.script = {"stall please": [Reply.stall(partial="half a tho")]}
    run = claude_swarm([{"prompt": "stall please", "timeouts": SILENCE}])
    result = run.results[run.ids[0]]
    assert result["status"] == "killed_silent", result
    assert "no output" in result["reason"]
    log = Path(result["log"]).read_text()
    assert '"subtype":"init"' in log
    [init] = [e for e in map(json.loads, log.splitlines()) if e.get("subtype") == "init"]
    assert set(DEFAULT_ALLOWED_TOOLS) <= set(init["tools"])
    assert len(messages_api.conversation("stall please")) == 1


def test_evidence_a_claim_without_a_write_is_unverified_a_real_write_succeeds(
        claude_swarm: Callable[..., SwarmRun], messages_api: MessagesAPI,
        tmp_path: Path) -> None:
    target = tmp_path / "writer" / "calc.py"
    messages_api.script = {
        "claim it": [reply("I wrote calc.py")],
        "write it": [reply(tool_use("Write", {"file_path": str(target),
                                              "content": "def add(a, b):\n    return a + b\n"})),
                     reply("I wrote calc.py")],
    }
    run = claude_swarm([
        {"id": "claimer", "prompt": "claim it", "cwd": "claimer", "expects": ["calc.py"]},
        {"id": "writer", "prompt": "write it", "cwd": "writer", "expects": ["calc.py"]},
    ])
    assert run.results["claimer"]["status"] == "unverified"
    assert "calc.py does not exist" in run.results["claimer"]["reason"]
    assert run.results["writer"]["status"] == "succeeded", run.results["writer"]
    assert target.read_text().startswith("def add")


def test_a_write_outside_owns_is_denied_and_the_file_never_appears(
        claude_swarm: Callable[..., SwarmRun], messages_api: MessagesAPI,
        tmp_path: Path) -> None:
    work = tmp_path / "owner"
    messages_api.script = {"edit files": [
        reply(tool_use("Write", {"file_path": str(work / "theirs.py"), "content": "x = 1\n"}),
              tool_use("Write", {"file_path": str(work / "mine.py"), "content": "y = 2\n"})),
        reply("done"),
    ]}
    run = claude_swarm([{"prompt": "edit files", "cwd": "owner", "owns": ["mine.py"],
                         "expects": ["mine.py"]}])
    assert run.status() == "succeeded", run.results
    result = run.results[run.ids[0]]
    assert result["reason"].endswith("; 1 tool call denied (see the log)")
    assert {r.model for r in messages_api.conversation("edit files")} == {result["model"]}
    assert not (work / "theirs.py").exists()
    assert (work / "mine.py").read_text() == "y = 2\n"
    [second] = messages_api.conversation("edit files")[1:]
    denied = [r for r in tool_results(second) if r.is_error]
    assert len(denied) == 1
    assert "ownership guard" in denied[0].content


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_closed_api_port_fails_tasks_in_seconds_without_starting_claude(
        claude_swarm: Callable[..., SwarmRun]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    run = claude_swarm([{"prompt": "anything"}, {"prompt": "anything else"}],
                       health=HealthSettings(on_unhealthy="fail", probe_timeout=2), base_url=url)
    for result in run.results.values():
        assert result["status"] == "failed"
        assert f"API {url} unreachable" in result["reason"]
    assert run.of("started") == []
    assert len(run.coordinator.health.probes(f"claude@{url}")) == 1


def test_a_missing_cli_fails_tasks_with_the_fix_named(claude_swarm: Callable[..., SwarmRun],
                                                      tmp_path: Path) -> None:
    run = claude_swarm([{"prompt": "anything"}], claude_bin=str(tmp_path / "nowhere" / "claude"),
                       health=HealthSettings(on_unhealthy="fail"))
    result = run.results[run.ids[0]]
    assert result["status"] == "failed"
    assert "HOOKSWARM_CLAUDE_BIN" in result["reason"]
    assert run.of("started") == []


def test_tasks_wait_while_the_api_is_down_and_run_when_it_is_back(
        claude_swarm: Callable[..., SwarmRun]) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    revived: list[MessagesAPI] = []

    def revive_on_first_wait(event: dict[str, Any]) -> None:
        if event["kind"] == "waiting" and not revived:
            revived.append(MessagesAPI({"come back": [reply("back")]}, port=port).start())

    try:
        run = claude_swarm([{"prompt": "come back"}, {"prompt": "come back", "cwd": "b"}],
                           base_url=url, health=HealthSettings(ttl=0.3, probe_timeout=2),
                           on_event=revive_on_first_wait)
    finally:
        for api in revived:
            api.stop()
    assert run.of("waiting")
    assert revived
    assert {r["status"] for r in run.results.values()} == {"succeeded"}
    probes = run.coordinator.health.probes(f"claude@{url}")
    assert len(probes) >= 2
    # at most one probe per TTL, on the board's own probe clock (not a speed threshold)
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(probes))


@pytest.mark.parametrize(("chunks", "lines", "skipped"), [
    ([b"a\nb\n"], [b"a", b"b"], 0),
    ([b"a", b"b\nc", b"d\n"], [b"ab", b"cd"], 0),
    ([b"\n\n"], [b"", b""], 0),
    ([b"x" * 10, b"\nok\n"], [b"ok"], 1),
    ([b"x" * 5, b"x" * 6, b"x\nok\n"], [b"ok"], 1),
    ([b"x" * 8, b"\n"], [b"x" * 8], 0),
    ([b"x" * 9, b"\n" * 2, b"y" * 9, b"\n"], [b""], 2),
])
def test_line_splitting_drops_lines_over_the_bound(chunks: list[bytes], lines: list[bytes],
                                                   skipped: int) -> None:
    splitter = LineSplitter(8)
    found = [line for chunk in chunks for line in splitter.feed(chunk)]
    assert found == lines
    assert splitter.skipped == skipped


LONG_LINE_CLAUDE = """#!/bin/sh
cat > /dev/null
head -c 300000 /dev/zero | tr '\\0' 'x'
echo
echo '{"type":"result","is_error":false,"terminal_reason":"completed","result":"ok"}'
"""


def test_a_line_over_max_line_is_logged_but_not_parsed_and_the_reason_says_so(
        tmp_path: Path) -> None:
    fake = tmp_path / "claude"
    fake.write_text(LONG_LINE_CLAUDE)
    fake.chmod(0o755)
    backend = ClaudeBackend(ClaudeSettings(bin=str(fake), max_line=4096), environ={})
    [task] = build_tasks([{"prompt": "p"}], base=str(tmp_path))
    worker = backend.start(Launch(task, "p", {"PATH": os.environ["PATH"]}))
    assert not isinstance(worker, WorkerEnd)
    seen = bytearray()
    end = anyio.run(lambda: worker.run(seen.extend))
    assert end.clean, end.reason
    assert end.details["result"] == "ok"
    assert "1 stream-json line(s) longer than [claude] max_line (4096 bytes)" in end.reason
    assert "logged but not parsed" in end.reason
    assert seen.count(b"x") == 300000


DEEP_LINE_CLAUDE = """#!/bin/sh
cat > /dev/null
printf '{"result": '
head -c 100000 /dev/zero | tr '\\0' '['
echo
echo '{"type":"result","is_error":false,"terminal_reason":"completed","result":"ok"}'
"""


def test_a_stream_line_nested_past_the_parsers_depth_is_skipped(tmp_path: Path) -> None:
    fake = tmp_path / "claude"
    fake.write_text(DEEP_LINE_CLAUDE)
    fake.chmod(0o755)
    backend = ClaudeBackend(ClaudeSettings(bin=str(fake)), environ={})
    [task] = build_tasks([{"prompt": "p"}], base=str(tmp_path))
    worker = backend.start(Launch(task, "p", {"PATH": os.environ["PATH"]}))
    assert not isinstance(worker, WorkerEnd)
    end = anyio.run(lambda: worker.run(lambda chunk: None))
    assert end.clean, end.reason
    assert end.details["result"] == "ok"


OK_RESULT = {"type": "result", "subtype": "success", "is_error": False,
             "terminal_reason": "completed", "api_error_status": None, "result": "done"}


@pytest.mark.parametrize(("result", "exit_code", "clean", "says"), [
    (OK_RESULT, 0, True, ""),
    (None, 0, False, "no result event"),
    ({**OK_RESULT, "is_error": True, "terminal_reason": "api_error", "api_error_status": 500},
     1, False, "api_error_status=500"),
    ({**OK_RESULT, "api_error_status": 429}, 0, False, "429"),
    ({**OK_RESULT, "terminal_reason": "max_turns", "subtype": "error_max_turns"}, 1, False,
     "max_turns"),
    ({**OK_RESULT, "terminal_reason": "hook_stopped"}, 0, False, "hook_stopped"),
    ({**OK_RESULT, "subtype": "error_during_execution"}, 0, True, ""),
    (OK_RESULT, -9, False, "signal 9"),
])
def test_claude_result_is_judged_by_is_error_terminal_reason_and_status_not_subtype(
        result: dict[str, Any] | None, exit_code: int, clean: bool, says: str) -> None:
    end = judge_result(result, exit_code)
    assert end.clean is clean
    assert says in end.reason


def test_denied_tool_calls_are_counted_from_the_result_event() -> None:
    denials = [{"tool_name": "Write", "tool_use_id": "t1", "tool_input": {}}]
    assert judge_result({**OK_RESULT, "permission_denials": denials}, 0).denials == 1
    assert judge_result(OK_RESULT, 0).denials == 0


def test_unreachable_api_is_flagged_for_the_circuit_breaker() -> None:
    result = {**OK_RESULT, "is_error": True, "terminal_reason": "api_error",
              "api_error": "connection_failed"}
    assert judge_result(result, 1).unreachable
    assert not judge_result(OK_RESULT, 0).unreachable
