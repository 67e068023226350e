"""A plan of 8 claude agents in 3 phases: real ``claude -p`` workers, the scripted Messages API.

Phase "contract" writes the interface contract (api.md) and the package; the four agents of
phase "ops" each Read the contract and write the function it names, from what they read;
phase "finish" writes the tests and the docs, and its gate runs pytest on the result.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from hookswarm.lib.swarm.batch import StoreRunner
from hookswarm.lib.swarm.config import ClaudeSettings, SwarmConfig
from hookswarm.lib.swarm.plan import load_plan
from hookswarm.lib.swarm.plan_report import plan_report
from hookswarm.lib.swarm.plan_run import PlanRun
from hookswarm.lib.swarm.store import Store
from tests.fakes.messages_api import (
    DONE,
    MessagesAPI,
    Reply,
    assistant_turns,
    first_user_text,
    reply,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import claude_env, require_claude

pytestmark = pytest.mark.timeout(300)
CONTRACT = "add: a + b\nsub: a - b\nmul: a * b\ndiv: a / b\n"
OPS = ("add", "sub", "mul", "div")
TESTS = ("from calc import add, div, mul, sub\n\n\ndef test_ops():\n"
         "    assert (add(6, 3), sub(6, 3), mul(6, 3), div(6, 3)) == (9, 3, 18, 2)\n")
SIMPLE = {"write the contract": ("api.md", CONTRACT),
          "write the package": ("calc/__init__.py",
                                "".join(f"from calc.{op} import {op}\n" for op in OPS)),
          "write the tests": ("tests/test_calc.py", TESTS),
          "write the docs": ("README.md", "# calc\n\nadd, sub, mul, div\n")}


def _plan(app: Path) -> str:
    simple = {prompt: path for prompt, (path, _) in SIMPLE.items()}

    def task(tid: str, prompt: str, path: str) -> str:
        return (f'[[phases.tasks]]\nid = "{tid}"\nprompt = "{prompt}"\nowns = ["{path}"]\n'
                f'expects = ["{path}"]\n')

    gate = json.dumps(f"{sys.executable} -m pytest -q -p no:cacheprovider tests")
    return ('name = "calc"\n[defaults]\nbackend = "claude"\n'
            '[[phases]]\nname = "contract"\ncontracts = ["api.md"]\n'
            + task("contract", "write the contract", simple["write the contract"])
            + task("package", "write the package", simple["write the package"])
            + '[[phases]]\nname = "ops"\n'
            + "".join(task(op, f"implement {op} from api.md", f"calc/{op}.py") for op in OPS)
            + f'[[phases]]\nname = "finish"\ngates = [{gate}]\n'
            + task("tests", "write the tests", simple["write the tests"])
            + task("docs", "write the docs", simple["write the docs"]))


def _script(app: Path) -> Any:
    def answer(body: dict[str, Any]) -> Reply:
        prompt, turn = first_user_text(body), assistant_turns(body)
        if prompt in SIMPLE and turn == 0:
            path, content = SIMPLE[prompt]
            return reply(tool_use("Write", {"file_path": str(app / path), "content": content}))
        found = re.fullmatch(r"implement (\w+) from api\.md", prompt)
        if found and turn == 0:
            return reply(tool_use("Read", {"file_path": str(app / "api.md")}))
        if found and turn == 1:
            op = found.group(1)
            [read] = tool_results(body)
            expression = re.search(rf"{op}: (.+)", read.content)
            code = (f"def {op}(a, b):\n    return {expression.group(1).strip()}\n"
                    if expression else f"raise ImportError('{op} is not in the contract')\n")
            return reply(tool_use("Write", {"file_path": str(app / "calc" / f"{op}.py"),
                                            "content": code}))
        return DONE

    return answer


def test_eight_claude_agents_in_three_phases_write_their_files_and_pass_the_gate(
        messages_api: MessagesAPI, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    subprocess.run(["git", "init", "-q", str(app)], check=True)
    messages_api.script = _script(app)
    (app / "plan.toml").write_text(_plan(app))
    home = tmp_path / "home"
    home.mkdir()
    store = Store.for_project(app)
    config = SwarmConfig(max_parallel=4,
                         claude=ClaudeSettings(bin=str(require_claude()), max_retries=1))
    runner = StoreRunner(store, config, environ=claude_env(messages_api, home))
    run = PlanRun(load_plan(app / "plan.toml", base=str(app)), store.root, runner)
    run.fresh()
    anyio.run(run.run)
    report = plan_report(run.state)

    assert report["status"] == "passed", json.dumps(report, indent=1)
    assert len(runner.submitted) == 8
    for op in OPS:
        reads = [r for req in messages_api.conversation(f"implement {op} from api.md")
                 for r in tool_results(req)]
        assert reads
        assert "add: a + b" in reads[0].content
    assert (app / "calc" / "div.py").read_text() == "def div(a, b):\n    return a / b\n"
    [gate] = report["phases"][2]["gates"]
    assert gate["passed"]
    assert "1 passed" in Path(gate["log"]).read_text()
    files = {f["path"]: f for p in report["phases"] for t in p["tasks"] for f in t["files"]}
    assert sorted(files) == sorted(["api.md", "calc/__init__.py", "tests/test_calc.py",
                                    "README.md", *(f"calc/{op}.py" for op in OPS)])
    for path, fact in files.items():
        data = (app / path).read_bytes()
        assert (fact["exists"], fact["bytes"], fact["lines"]) == (True, len(data),
                                                                  data.count(b"\n"))
        assert (fact["added"], fact["removed"]) == (data.count(b"\n"), 0)
    assert report["files_written"] == 8
    assert report["lines_added"] == sum(f["lines"] for f in files.values())
    durations = [t["duration_s"] for p in report["phases"] for t in p["tasks"]]
    assert report["time"]["serial_s"] == pytest.approx(sum(durations), abs=0.01)
    digest = hashlib.sha256(CONTRACT.encode()).hexdigest()
    assert report["phases"][0]["contracts"] == {"api.md": digest}
