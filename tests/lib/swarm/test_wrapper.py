"""The ``files`` output mode: fenced blocks labelled with paths, written only inside ``owns``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.wrapper import Block, blocks, problem, write_answer
from tests.fakes.ollama_api import OllamaAPI

if TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers.swarm import Runner

pytestmark = pytest.mark.timeout(30)

CODE = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(("answer", "found"), [
    (f"```python path=calc.py\n{CODE}```", [("calc.py", CODE)]),
    (f"```py file=src/calc.py\n{CODE}```", [("src/calc.py", CODE)]),
    (f"```calc.py\n{CODE}```", [("calc.py", CODE)]),
    (f"```python calc.py\n{CODE}```", [("calc.py", CODE)]),
    (f"File: calc.py\n```python\n{CODE}```", [("calc.py", CODE)]),
    (f"**File:** `calc.py`\n\n```python\n{CODE}```", [("calc.py", CODE)]),
    (f"### calc.py\n```python\n{CODE}```", [("calc.py", CODE)]),
    (f"## `src/calc.py`\n```\n{CODE}```", [("src/calc.py", CODE)]),
    (f"**calc.py**\n~~~python\n{CODE}~~~", [("calc.py", CODE)]),
    ("````md path=doc.md\n```inner```\n````", [("doc.md", "```inner```\n")]),
    (f"```python\n{CODE}```", []),
    (f"## Solution\n```python\n{CODE}```", []),
    ("I wrote calc.py for you.\n\nIt adds numbers.", []),
    (f"```python path=../../x\n{CODE}```", [("../../x", CODE)]),
    (f"```python path=/abs/x\n{CODE}```", [("/abs/x", CODE)]),
    ("```a.py\n```\n```b.py\nB\n```", [("a.py", ""), ("b.py", "B\n")]),
    ("```a.py\nunclosed", [("a.py", "unclosed\n")]),
])
def test_blocks_and_their_labels(answer: str, found: list[tuple[str, str]]) -> None:
    assert [(b.path, b.text) for b in blocks(answer)] == found


def test_blocks_know_their_line_and_whether_they_are_closed() -> None:
    assert blocks("intro\n\n```x.py\n1\n```\n```y.py\n2") == [Block("x.py", "1\n", 3),
                                                             Block("y.py", "2\n", 6, False)]


def test_a_block_cut_off_by_max_tokens_is_not_written(tmp_path: Path) -> None:
    answer = f"```python path=calc.py\n{CODE}```\n```python path=calc.py\ndef ad"
    written = write_answer(answer, cwd=str(tmp_path), owns=["calc.py"])
    assert (written.written, written.unfinished, written.clean) == (("calc.py",), ("calc.py",),
                                                                    True)
    assert (tmp_path / "calc.py").read_text() == CODE
    alone = write_answer("```python path=b.py\nhalf", cwd=str(tmp_path), owns=["b.py"])
    assert alone.reason == ("the answer ended inside the block for b.py (cut off by "
                            "max_tokens?); nothing was written")
    assert not (tmp_path / "b.py").exists()


@pytest.mark.parametrize(("path", "owns", "why"), [
    ("calc.py", ["calc.py"], ""),
    ("src/a.py", ["src/**"], ""),
    ("./calc.py", ["*.py"], ""),
    ("src/a.py", ["*.py"], "not owned by the task (it owns: *.py)"),
    ("../../x", ["**"], "'..' is refused; a block may only write below the task's folder"),
    ("src/../../x", ["**"], "'..' is refused; a block may only write below the task's folder"),
    ("/abs/x", ["**"], "absolute paths are refused; label blocks with a path relative to the task"),
    ("~/x.py", ["**"], "absolute paths are refused; label blocks with a path relative to the task"),
    ("calc.py", [], "the task owns no files; give it 'owns' (or 'expects')"),
])
def test_which_paths_may_be_written(path: str, owns: list[str], why: str) -> None:
    assert problem(path, owns) == why


def test_escapes_are_refused_and_nothing_lands_outside(tmp_path: Path) -> None:
    task, outside = tmp_path / "task", tmp_path / "outside"
    task.mkdir()
    outside.mkdir()
    (task / "out").symlink_to(outside)
    answer = ("```python path=../../x\nA\n```\n```python path=/abs/x\nB\n```\n"
              "```python path=out/evil.py\nC\n```\n```python path=ok.py\nD\n```\n")
    written = write_answer(answer, cwd=str(task), owns=["**"])
    assert written.written == ("ok.py",)
    assert [p for p, _ in written.refused] == ["../../x", "/abs/x", "out/evil.py"]
    assert "a symlink leads it outside the files the task owns" in written.reason
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "x").exists()
    assert sorted(os.listdir(task)) == ["ok.py", "out"]


def test_a_symlinked_file_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("keep")
    task = tmp_path / "task"
    task.mkdir()
    (task / "calc.py").symlink_to(secret)
    written = write_answer(f"```calc.py\n{CODE}```", cwd=str(task), owns=["calc.py"])
    assert written.refused
    assert secret.read_text() == "keep"


def test_the_model_writes_files_through_the_wrapper(run_swarm: Runner, tmp_path: Path) -> None:
    answer = f"Sure.\n\nFile: calc.py\n```python\n{CODE}```\nDone: I wrote calc.py."
    with OllamaAPI(reply=lambda _: answer) as api:
        run = run_swarm([{"backend": "ollama", "endpoint": api.url, "model": "tiny",
                          "prompt": "write calc.py", "output": "files", "owns": ["calc.py"],
                          "expects": ["calc.py"]}])
    result = run.results[run.ids[0]]
    assert result["status"] == "succeeded", result["reason"]
    assert (tmp_path / "calc.py").read_text() == CODE
    assert result["worker"]["files_written"] == ["calc.py"]


def test_a_claim_without_a_block_is_unverified(run_swarm: Runner, tmp_path: Path) -> None:
    with OllamaAPI(reply=lambda _: "I wrote calc.py with an add function.") as api:
        run = run_swarm([{"backend": "ollama", "endpoint": api.url, "model": "tiny",
                          "prompt": "write calc.py", "output": "files",
                          "expects": ["calc.py"]}])
    result = run.results[run.ids[0]]
    assert result["status"] == "unverified"
    assert "calc.py does not exist" in result["reason"]
    assert not (tmp_path / "calc.py").exists()


def test_without_expects_an_answer_that_wrote_nothing_fails(run_swarm: Runner) -> None:
    with OllamaAPI(reply=lambda _: "Done, calc.py is written.") as api:
        run = run_swarm([{"backend": "ollama", "endpoint": api.url, "model": "tiny",
                          "prompt": "write calc.py", "output": "files", "owns": ["*.py"]}])
    result = run.results[run.ids[0]]
    assert result["status"] == "failed"
    assert result["reason"] == ("the answer held no fenced block labelled with a path; "
                                "nothing was written")


def test_escaping_blocks_fail_the_task_and_say_why(run_swarm: Runner, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "link").symlink_to(tmp_path / "outside")
    answer = ("```python path=../../x\nA\n```\n```python path=/abs/x\nB\n```\n"
              "```python path=link/y.py\nC\n```\n")
    with OllamaAPI(reply=lambda _: answer) as api:
        run = run_swarm([{"backend": "ollama", "endpoint": api.url, "model": "tiny",
                          "prompt": "p", "output": "files", "cwd": "task", "owns": ["**"]}])
    result = run.results[run.ids[0]]
    assert result["status"] == "failed"
    for path in ("../../x", "/abs/x", "link/y.py"):
        assert path in result["reason"]
    assert list((tmp_path / "outside").iterdir()) == []
    assert sorted(os.listdir(tmp_path / "task")) == ["link"]
