"""Supervised model servers: started when needed, restarted after kill -9, tasks retried.

The server here is the scripted Ollama run as a process; the same test against two real
llama.cpp servers is in ``test_swarm_llama.py``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from hookswarm.lib import process_scan
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.lease import OWNER_ENV
from hookswarm.lib.swarm.servers import backoff
from tests.helpers.processes import gone, wait_until
from tests.helpers.swarm import Background, Runner, server_log

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hookswarm.lib.swarm.store import Store

pytestmark = pytest.mark.timeout(90)
REPO = str(Path(__file__).resolve().parents[3])


def fake_server(name: str, *extra: str, **settings: Any) -> dict[str, Any]:
    return {"name": name, "cwd": REPO, "ready": "/api/version", "backoff": [0.05, 0.2],
            "command": [sys.executable, "-m", "tests.fakes.ollama_api", "--port", "{port}",
                        *extra], **settings}


def server_config(servers: Sequence[dict[str, Any]], concurrency: int = 1) -> SwarmConfig:
    return SwarmConfig.model_validate({
        "servers": list(servers),
        "pools": {"local": {"backend": "ollama", "endpoints": [
            {"server": s["name"], "concurrency": concurrency} for s in servers]}}})


def tasks(count: int) -> list[dict[str, Any]]:
    return [{"backend": "ollama", "pool": "local", "model": "tiny", "prompt": f"task{i}"}
            for i in range(count)]


@pytest.mark.parametrize(("deaths", "seconds"), [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)])
def test_restart_backoff_doubles_up_to_a_cap(deaths: int, seconds: float) -> None:
    assert backoff(deaths, 0.5, 30.0) == seconds


def test_a_server_starts_when_a_task_needs_it_and_stops_after(run_swarm: Runner,
                                                              swarm_dir: Store) -> None:
    run = run_swarm(tasks(3), config=server_config([fake_server("fake", "--words", "3")]))
    assert [r["status"] for r in run.results.values()] == ["succeeded"] * 3
    pid = int((swarm_dir.root / "servers" / "fake.pid").read_text())
    assert gone(pid)
    assert server_log(swarm_dir, "fake").count("--- swarm: start #") == 1
    assert server_log(swarm_dir, "fake").count("generating") == 3


def test_kill_9_of_a_server_mid_batch_loses_and_doubles_no_task(in_background: Background,
                                                                swarm_dir: Store) -> None:
    slow = fake_server("slow", "--words", "20", "--token-delay", "0.1")
    spare = fake_server("spare", "--words", "3")
    finished = in_background(tasks(6), server_config([slow, spare]))
    wait_until(lambda: "generating" in server_log(swarm_dir, "slow"), timeout=40)
    os.kill(int((swarm_dir.root / "servers" / "slow.pid").read_text()), signal.SIGKILL)
    run = finished()
    assert sorted(run.results) == sorted(run.ids)
    assert [r["status"] for r in run.results.values()] == ["succeeded"] * 6
    assert len(list((swarm_dir.root / "results").glob("*.json"))) == 6
    retried = [r for r in run.results.values() if r["worker"]["retried_after"]]
    assert retried
    assert all("server:slow" in r["worker"]["retried_after"][0] for r in retried)
    log = server_log(swarm_dir, "slow")
    assert "killed by signal 9" in log
    assert "--- swarm: start #2" in log


def test_a_server_carries_its_coordinators_mark_for_recovery(in_background: Background,
                                                           swarm_dir: Store) -> None:
    """A coordinator killed with SIGKILL cannot stop its servers; the next one finds them."""
    slow = fake_server("slow", "--words", "10", "--token-delay", "0.1")
    finished = in_background(tasks(1), server_config([slow]))
    wait_until(lambda: "generating" in server_log(swarm_dir, "slow"), timeout=40)
    pid = int((swarm_dir.root / "servers" / "slow.pid").read_text())
    owners = [p.name[:-5] for p in (swarm_dir.root / "coordinators").glob("*.lock")]
    marked = [p for owner in owners
              for p in process_scan.processes_with_env(f"{OWNER_ENV}={owner}")]
    finished()
    assert pid in marked


def test_a_server_that_keeps_dying_is_given_up_and_its_tasks_fail(run_swarm: Runner,
                                                                   swarm_dir: Store) -> None:
    broken = {"name": "broken", "command": [sys.executable, "-c", "raise SystemExit(3)"],
              "port": 9, "ready": "/api/version", "backoff": [0.01, 0.02], "max_restarts": 1}
    run = run_swarm(tasks(2), config=server_config([broken]))
    for result in run.results.values():
        assert result["status"] == "failed"
        assert "server 'broken' exited (status 3); gave up after 1 restart(s)" in result["reason"]
    assert server_log(swarm_dir, "broken").count("--- swarm: start #") == 2


def test_servers_need_a_port_placeholder(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs a '\\{port\\}' placeholder"):
        SwarmConfig.model_validate({"servers": [{"name": "x", "command": "serve --fast"}]})
