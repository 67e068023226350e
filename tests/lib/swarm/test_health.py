"""Health: cached per key with a TTL, probed concurrently, circuit breaker, wait then resume."""

from __future__ import annotations

import itertools
import socket
import sys
from typing import TYPE_CHECKING

import anyio
import pytest

from hookswarm.lib.swarm.backend import Health, Launch, ProcessWorker, WorkerEnd
from hookswarm.lib.swarm.claude import ClaudeBackend
from hookswarm.lib.swarm.command import CommandBackend
from hookswarm.lib.swarm.config import ClaudeSettings, HealthSettings, SwarmConfig
from hookswarm.lib.swarm.health import HealthBoard, command_runs, http_reachable
from hookswarm.lib.swarm.task import Task

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.helpers.swarm import Runner


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_probe_per_ttl_and_concurrent_callers_share_it() -> None:
    clock = FakeClock()
    board = HealthBoard(ttl=30.0, clock=clock)
    calls = []

    async def probe() -> Health:
        calls.append(clock.now)
        await anyio.sleep(0)
        return Health(True, "fine")

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(board.check, "k", probe)
        await board.check("k", probe)
        clock.now += 29.9
        await board.check("k", probe)
        clock.now += 0.1
        await board.check("k", probe)

    anyio.run(scenario)
    assert calls == [100.0, 130.0]
    assert board.probes("k") == [100.0, 130.0]


def test_a_failing_key_is_open_until_a_probe_succeeds() -> None:
    clock = FakeClock()
    board = HealthBoard(ttl=1.0, clock=clock)
    answers = iter([Health(False, "refused"), Health(True, "back")])

    async def probe() -> Health:
        return next(answers)

    async def scenario() -> None:
        assert not (await board.check("k", probe)).ok
        clock.now += 0.5
        assert board.failing_for("k") == 0.5
        assert not board.stale("k")
        clock.now += 0.5
        assert (await board.check("k", probe)).ok
        assert board.failing_for("k") == 0.0

    anyio.run(scenario)


def test_a_crashing_probe_is_a_failing_backend() -> None:
    async def probe() -> Health:
        raise RuntimeError("boom")

    health = anyio.run(lambda: HealthBoard(ttl=1).check("k", probe))
    assert not health.ok
    assert "boom" in health.detail


def test_report_opens_the_breaker_without_a_probe() -> None:
    board = HealthBoard(ttl=60.0)
    board.report("k", Health(False, "connection refused"))
    assert board.known("k") == Health(False, "connection refused")
    assert board.probes("k") == []


class ScriptedBackend:
    """The command backend behind a scripted probe."""

    name = "command"

    def __init__(self, probe: Callable[[], Health] | None = None) -> None:
        self._probe = probe or (lambda: Health(True, "ok"))

    def health_key(self, task: Task) -> str:
        return "command"

    async def probe(self, task: Task, *, timeout: float) -> Health:
        return self._probe()

    def start(self, launch: Launch) -> ProcessWorker | WorkerEnd:
        return CommandBackend().start(launch)


class RendezvousBackend(ScriptedBackend):
    """Two health keys (by the task's env) whose probes only answer while both are running."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, anyio.Event] = {}

    def health_key(self, task: Task) -> str:
        return task.env.get("KEY", "a")

    async def probe(self, task: Task, *, timeout: float) -> Health:
        for key in ("a", "b"):
            self.arrived.setdefault(key, anyio.Event())
        mine = self.health_key(task)
        self.arrived[mine].set()
        with anyio.fail_after(5):
            await self.arrived["b" if mine == "a" else "a"].wait()
        return Health(True, "ok")


def test_probes_of_different_health_keys_run_concurrently(run_swarm: Runner) -> None:
    backend = RendezvousBackend()
    run = run_swarm([{"backend": "command", "argv": ["true"], "env": {"KEY": "a"}},
                     {"backend": "command", "argv": ["true"], "env": {"KEY": "b"}}],
                    backends={"command": backend})
    assert {r["status"] for r in run.results.values()} == {"succeeded"}
    assert [run.coordinator.health.probes(k) != [] for k in ("a", "b")] == [True, True]


def test_tasks_wait_for_a_down_backend_and_resume_when_it_is_back(run_swarm: Runner) -> None:
    answers = [Health(False, "refused"), Health(False, "refused"), Health(True, "back")]
    backend = ScriptedBackend(lambda: answers.pop(0) if len(answers) > 1 else answers[0])
    config = SwarmConfig(health=HealthSettings(ttl=0.2, on_unhealthy="wait"))
    run = run_swarm([{"backend": "command", "argv": ["true"]} for _ in range(3)], config=config,
                    backends={"command": backend})
    assert {r["status"] for r in run.results.values()} == {"succeeded"}
    probes = run.coordinator.health.probes("command")
    assert len(probes) == 3
    # the TTL rule on the board's own probe clock (not a speed threshold)
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(probes))
    kinds = [e["kind"] for e in run.events if e["kind"] in ("waiting", "started")]
    assert kinds[:3] == ["waiting"] * 3
    assert kinds[3:] == ["started"] * 3


def test_waiting_gives_up_after_the_wait_limit(run_swarm: Runner) -> None:
    backend = ScriptedBackend(lambda: Health(False, "refused"))
    config = SwarmConfig(health=HealthSettings(ttl=0.1, on_unhealthy="wait", wait_limit=0.3))
    run = run_swarm([{"backend": "command", "argv": ["true"]}], config=config,
                    backends={"command": backend})
    result = run.results[run.ids[0]]
    assert result["status"] == "failed"
    assert "unavailable: refused" in result["reason"]
    assert "wait_limit" in result["reason"]
    # the wait-limit rule on the coordinator's own clock (not a speed threshold): it failed only
    # once the backend had been down that long
    assert result["queued_s"] >= 0.3


def test_a_waiting_task_says_how_long_it_waits_and_how_to_fail_sooner(run_swarm: Runner) -> None:
    answers = [Health(False, "refused"), Health(True, "back")]
    backend = ScriptedBackend(lambda: answers.pop(0) if len(answers) > 1 else answers[0])
    config = SwarmConfig(health=HealthSettings(ttl=0.1))
    run = run_swarm([{"backend": "command", "argv": ["true"]}], config=config,
                    backends={"command": backend})
    [waiting] = run.of("waiting")
    assert waiting["reason"].startswith(
        "waiting up to 600 s for backend command (unavailable: refused); ")
    assert '[health] on_unhealthy = "fail"' in waiting["reason"]
    assert "wait_limit" in waiting["reason"]
    assert ".swarm/config.toml" in waiting["reason"]
    assert run.status() == "succeeded"


def test_a_backend_that_is_not_installed_fails_its_tasks_at_once_with_the_fix(
        run_swarm: Runner) -> None:
    backend = ScriptedBackend(lambda: Health(False, "x is not installed; set X_BIN",
                                             missing=True))
    run = run_swarm([{"backend": "command", "argv": ["true"]}],
                    backends={"command": backend})  # on_unhealthy = "wait", 600 s
    result = run.results[run.ids[0]]
    assert result["status"] == "failed"
    assert result["reason"] == "backend command unavailable: x is not installed; set X_BIN"
    assert run.of("waiting") == []
    assert len(run.coordinator.health.probes("command")) == 1


def test_an_unreachable_api_says_what_to_check(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    backend = ClaudeBackend(ClaudeSettings(bin=sys.executable), environ={"ANTHROPIC_BASE_URL": url})
    health = anyio.run(lambda: backend.probe(Task(id="p", prompt="p"), timeout=2))
    assert not health.ok
    assert f"API {url} unreachable" in health.detail
    assert health.detail.endswith("check ANTHROPIC_BASE_URL (in the environment or the task's "
                                  "env) and that the API is up")


def test_http_probe_tells_a_live_endpoint_from_a_closed_port(messages_api: object) -> None:
    url = messages_api.base_url  # type: ignore[attr-defined]
    live = anyio.run(lambda: http_reachable(url, timeout=2))
    assert live.ok, live.detail
    closed = anyio.run(lambda: http_reachable("http://127.0.0.1:9", timeout=2))
    assert not closed.ok
    assert "unreachable" in closed.detail


def test_command_probe_reports_a_missing_binary_with_the_fix(tmp_path: Path) -> None:
    missing = anyio.run(lambda: command_runs([str(tmp_path / "claude"), "--version"], timeout=2))
    assert not missing.ok
    assert "HOOKSWARM_CLAUDE_BIN" in missing.detail
    assert missing.missing
    assert "is not installed" in missing.detail
    hung = anyio.run(lambda: command_runs(["sleep", "30"], timeout=0.3))
    assert not hung.ok
    assert "did not finish" in hung.detail
    assert not hung.missing  # merely down: worth waiting for


@pytest.mark.parametrize("status", [200, 404])
def test_any_answer_below_500_means_reachable(status: int) -> None:
    async def serve_once() -> Health:
        async def answer(stream: anyio.abc.SocketStream) -> None:
            async with stream:
                await stream.receive()
                await stream.send(f"HTTP/1.1 {status} X\r\n\r\n".encode())

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as group:
            group.start_soon(listener.serve, answer)
            health = await http_reachable(f"http://127.0.0.1:{port}", timeout=2)
            group.cancel_scope.cancel()
        return health

    assert anyio.run(serve_once).ok
