"""Map -> review: verification as a table, and a review on the scripted Ollama server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from hookswarm.lib.swarm.batch import StoreRunner
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.review import (
    Finding,
    ReviewError,
    load_review,
    reducer_input,
    run_review,
    verify,
)
from hookswarm.lib.swarm.store import Store
from tests.fakes.ollama_api import OllamaAPI, models
from tests.helpers.swarm import swarm

FILES = {"src/login.py": "def login(user, password):\n    query = 'SELECT * FROM users WHERE "
                         "name=' + user\n    return run(query)\n"}


def _read(path: str) -> str | None:
    return FILES.get(path)


GOOD = "SQL built by concatenation.\nSource: src/login.py\nQuote: query = 'SELECT * FROM users"


@pytest.mark.parametrize(("status", "text", "verified", "reason"), [
    ("succeeded", GOOD, True, ""),
    ("succeeded", GOOD.replace("Quote: query =", "Quote:   query   ="), True, ""),
    ("succeeded", "- **Source**: `src/login.py`\n- **Quote**: \"return run(query)\"", True, ""),
    ("succeeded", GOOD.replace("users", "admins"), False, "its quote is not in src/login.py"),
    ("succeeded", GOOD.replace("src/login.py", "src/gone.py"), False,
     "its source src/gone.py is not a file of the project"),
    ("succeeded", GOOD.replace("src/login.py", "../etc/passwd"), False,
     "its source ../etc/passwd is not a file of the project"),
    ("succeeded", "It is all fine.", False, "no `Source:` and `Quote:` lines to check"),
    ("unverified", GOOD, False, "its task did not write the findings file (unverified)"),
])
def test_verify_table(status: str, text: str, verified: bool, reason: str) -> None:
    finding = verify("f", status, text, _read)
    assert (finding.verified, finding.reason) == (verified, reason)


def test_the_reducer_input_holds_only_verified_findings() -> None:
    findings = [Finding("a", "A text\n", True), Finding("b", "B text", False, "no"),
                Finding("c", "C text", True)]
    assert reducer_input(findings) == "## a\n\nA text\n\n## c\n\nC text\n\n"


SOURCES = {f"src/m{i}.py": f"def f{i}(x):\n    return x + {i}  # m{i}\n" for i in range(1, 7)}


def _finding(i: int, quote: str) -> str:
    return (f"```markdown path=.swarm/reviews/r/findings/s{i}.md\nMARK-{i}: f{i} adds {i}.\n"
            f"Source: src/m{i}.py\nQuote: {quote}\n```\n")


def _small_model(body: dict[str, Any]) -> str:
    prompt = body["messages"][-1]["content"]
    if body["model"] == "big":
        return "SYNTHESIS of what I read"
    i = int(prompt.split()[1])
    if i == 5:
        return _finding(5, "return x * 500")  # a quote the source does not hold
    if i == 6:
        return "MARK-6: I checked m6 and wrote my finding."  # no file: a claim only
    return _finding(i, f"return x + {i}")


def _review_file(tmp_path: Path, url: str) -> Path:
    for name, text in SOURCES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    subtasks = "".join(f'[[subtasks]]\nid = "s{i}"\nprompt = "check {i} src/m{i}.py"\n'
                       for i in range(1, 7))
    path = tmp_path / "r.toml"
    path.write_text(f'[defaults]\nbackend = "ollama"\nmodel = "tiny"\nendpoint = "{url}"\n'
                    + subtasks + f'[reduce]\nbackend = "ollama"\nmodel = "big"\n'
                    f'endpoint = "{url}"\nprompt = "Synthesize the findings"\n')
    return path


def test_map_then_review_gives_the_reducer_exactly_the_four_verified_findings(
        tmp_path: Path) -> None:
    with OllamaAPI(models("tiny", "big"), reply=_small_model, num_parallel=6) as api:
        review = load_review(_review_file(tmp_path, api.url), base=str(tmp_path))
        store = Store.for_project(tmp_path)
        report = anyio.run(run_review, review, StoreRunner(store, SwarmConfig()), store.root)
        [reducer] = [body for _, _, body in api.requests("/api/chat")
                     if body["model"] == "big" and body.get("messages")]
    reducer_text = json.dumps(reducer["messages"])
    assert [m for m in range(1, 7) if f"MARK-{m}:" in reducer_text] == [1, 2, 3, 4]
    assert report["verified"] == 4
    assert report["left_out"] == ["s5", "s6"]
    reasons = {f["id"]: f["reason"] for f in report["findings"] if not f["verified"]}
    assert reasons == {"s5": "its quote is not in src/m5.py",
                       "s6": "its task did not write the findings file (unverified)"}
    verified = Path(report["reducer_input"]).read_text()
    assert [line for line in verified.splitlines() if line.startswith("## ")] == [
        "## s1", "## s2", "## s3", "## s4"]
    assert verified in reducer["messages"][-1]["content"]
    assert report["reduce"] == {"status": "succeeded", "reason": "ended cleanly",
                                "answer": "SYNTHESIS of what I read"}
    written = (store.root / "reviews" / "r" / "report.md").read_text()
    assert "- s5: its quote is not in src/m5.py" in written


def test_swarm_review_cli_prints_the_report_and_refuses_a_bad_file(tmp_path: Path) -> None:
    with OllamaAPI(models("tiny", "big"), reply=_small_model, num_parallel=6) as api:
        code, out, _ = swarm(tmp_path, "review", str(_review_file(tmp_path, api.url)))
    assert code == 0, out
    assert out.startswith("# Review r: 4 of 6 findings verified")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[subtasks]]\nprompt = "x"\n')
    code, _, err = swarm(tmp_path, "review", str(bad))
    assert code == 2
    assert "key 'reduce'" in err
    with pytest.raises(ReviewError, match="not valid TOML"):
        load_review(_broken(tmp_path), base=str(tmp_path))


def _broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text("[[subtasks]\n")
    return path
