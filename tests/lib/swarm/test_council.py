"""Council rounds: the convergence rules as tables, and councils on the scripted Ollama server."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from hookswarm.lib.swarm.batch import StoreRunner
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.council import (
    CouncilError,
    CouncilRun,
    decide,
    load_council,
    similarity,
    verdict,
)
from hookswarm.lib.swarm.store import Store
from tests.fakes.ollama_api import OllamaAPI, models
from tests.helpers.swarm import swarm


@pytest.mark.parametrize(("before", "after", "expected"), [
    (["a b c"], ["a b c"], 1.0),
    (["A, b!"], ["a b"], 1.0),
    (["a b"], ["c d"], 0.0),
    (["a b c d"], ["a b"], 0.5),
    (["a b", "x"], ["a b", "y"], 0.5),
    ([""], [""], 1.0),
])
def test_similarity_is_the_mean_jaccard_of_word_sets(before: list[str], after: list[str],
                                                     expected: float) -> None:
    assert similarity(before, after) == expected


@pytest.mark.parametrize(("answer", "said"), [
    ("all agree\nVERDICT: converged", "converged"),
    ("VERDICT: continue", "continue"),
    ("**Verdict**: Converged.", "converged"),
    ("VERDICT: converged\nno wait\nVERDICT: continue", "continue"),
    ("we converged, I think", "continue"),
    ("", "continue"),
])
def test_the_arbiter_verdict_is_its_last_verdict_line(answer: str, said: str) -> None:
    assert verdict(answer) == said


@pytest.mark.parametrize(("round_no", "said", "similar", "expected"), [
    (1, "converged", None, "converged: the arbiter says so"),
    (1, "continue", None, "continue"),
    (2, "continue", 0.95, "converged: the answers stopped changing (similarity 0.95)"),
    (2, "continue", 0.5, "continue"),
    (3, "continue", 0.5, "stopped: the round cap (3) was reached"),
    (3, "converged", 0.5, "converged: the arbiter says so"),
])
def test_decide_table(round_no: int, said: str, similar: float | None, expected: str) -> None:
    assert decide(round_no=round_no, said=said, similar=similar, threshold=0.9,
                  max_rounds=3) == expected


def _round(body: dict[str, Any]) -> int:
    found = re.search(r"Round (\d+)", body["messages"][-1]["content"])
    assert found is not None
    return int(found.group(1))


class Scripted:
    """Personas answer differently each round; the arbiter converges in round 2.

    A round-3 persona request waits for ``release``, and the round-2 arbiter answers only
    once every round-3 persona is waiting (when speculation started them): so with
    speculation the third round is surely running when the arbiter converges.
    """

    def __init__(self, *, speculate: bool, same_answers: bool = False) -> None:
        self.speculate = speculate
        self.same = same_answers
        self.release = threading.Event()
        self.waiting = threading.Semaphore(0)

    def __call__(self, body: dict[str, Any]) -> str:
        round_no = _round(body)
        if body["model"] == "big":
            if round_no == 2 and self.speculate and not self.same:
                for _ in range(3):
                    assert self.waiting.acquire(timeout=30)
            said = "continue" if round_no < 2 or self.same else "converged"
            return f"synthesis {round_no}\nVERDICT: {said}"
        persona = body["messages"][-1]["content"].split()[1]
        if round_no == 3 and not self.same:
            self.waiting.release()
            self.release.wait(timeout=60)
        return f"{persona} thinks idea {1 if self.same else round_no * 7}"


def _pooled(url: str) -> SwarmConfig:
    """A pool whose one endpoint takes 8 requests at once, so a round's personas run together."""
    return SwarmConfig.model_validate({"pools": {"local": {
        "backend": "ollama", "endpoints": [{"url": url, "concurrency": 8}]}}})


def _council(tmp_path: Path, url: str, *, pool: bool = False, **extra: Any) -> Path:
    personas = "".join(f'[[personas]]\nid = "p{i}"\nprompt = "You p{i} are persona {i}."\n'
                       for i in (1, 2, 3))
    options = "".join(f"{k} = {json.dumps(v)}\n" for k, v in {"max_rounds": 4, **extra}.items())
    path = tmp_path / "c.toml"
    path.write_text(f'question = "Name it?"\n{options}'
                    f'[defaults]\nbackend = "ollama"\nmodel = "tiny"\n'
                    + ('pool = "local"\n' if pool else f'endpoint = "{url}"\n')
                    + personas + '[arbiter]\nmodel = "big"\nprompt = "You chair."\n')
    return path


Chats = list[dict[str, Any]]


def _run(tmp_path: Path, script: Scripted, **extra: Any) -> tuple[dict[str, Any], Any, Chats]:
    with OllamaAPI(models("tiny", "big"), reply=script, num_parallel=8) as api:
        try:
            council = load_council(_council(tmp_path, api.url, pool=True, **extra),
                                   base=str(tmp_path))
            store = Store.for_project(tmp_path)
            report = anyio.run(CouncilRun(council, StoreRunner(store, _pooled(api.url)),
                                          store.root).run)
        finally:
            script.release.set()
        chats = [b for _, _, b in api.requests("/api/chat") if b.get("messages")]
    transcript = json.loads(Path(report["transcript"]).with_suffix(".json").read_text())
    return report, transcript, chats


def test_a_council_converges_in_two_rounds_by_the_arbiter(tmp_path: Path) -> None:
    report, transcript, chats = _run(tmp_path, Scripted(speculate=False))
    assert report["decision"] == "converged: the arbiter says so"
    assert report["rounds"] == 2
    assert report["result"] == "synthesis 2\nVERDICT: converged"
    assert [r["round"] for r in transcript["rounds"]] == [1, 2]
    assert sorted({_round(b) for b in chats}) == [1, 2]
    round2 = [b["messages"][-1]["content"] for b in chats if b["model"] == "tiny"
              and _round(b) == 2]
    assert len(round2) == 3
    assert all("p3 thinks idea 7" in text for text in round2)
    assert transcript["rounds"][1]["similarity"] < 0.9
    text = Path(report["transcript"]).read_text()
    assert "## Round 2" in text
    assert "p1 thinks idea 14" in text
    assert "CANCELLED" not in text


def test_with_speculation_the_cancelled_third_round_is_in_the_transcript_and_costs_nothing(
        tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, _, _ = _run(tmp_path / "a", Scripted(speculate=False))
    report, transcript, chats = _run(tmp_path / "b", Scripted(speculate=True), speculate=True)
    assert (report["decision"], report["rounds"], report["result"]) == (
        plain["decision"], plain["rounds"], plain["result"])
    assert report["cancelled_rounds"] == [3]
    third = transcript["rounds"][2]
    assert (third["round"], third["speculative"], third["cancelled"]) == (3, True, True)
    assert [a["status"] for a in third["answers"]] == ["failed"] * 3
    assert all("cancelled" in a["reason"] for a in third["answers"])
    assert len([b for b in chats if b["model"] == "tiny" and _round(b) == 3]) == 3
    assert "## Round 3 (speculative, CANCELLED)" in Path(report["transcript"]).read_text()


def test_answers_that_stop_changing_converge_without_the_arbiter(tmp_path: Path) -> None:
    report, transcript, _ = _run(tmp_path, Scripted(speculate=False, same_answers=True))
    assert report["decision"] == "converged: the answers stopped changing (similarity 1.00)"
    assert report["rounds"] == 2
    assert transcript["rounds"][1]["arbiter"]["verdict"] == "continue"


def test_the_round_cap_stops_a_council_that_never_agrees(tmp_path: Path) -> None:
    script = Scripted(speculate=False, same_answers=True)
    report, _, _ = _run(tmp_path, script, max_rounds=1)
    assert report["decision"] == "stopped: the round cap (1) was reached"


def test_swarm_council_cli_and_a_bad_file(tmp_path: Path) -> None:
    script = Scripted(speculate=False)
    with OllamaAPI(models("tiny", "big"), reply=script, num_parallel=8) as api:
        code, out, _ = swarm(tmp_path, "council", str(_council(tmp_path, api.url)), "--json")
    assert code == 0
    assert json.loads(out)["rounds"] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('question = "q"\n[arbiter]\nprompt = "x"\n')
    code, _, err = swarm(tmp_path, "council", str(bad))
    assert code == 2
    assert "key 'personas'" in err
    bad.write_text('question = "q"\nmax_rounds = 0\n[[personas]]\nprompt = "a"\n'
                   '[arbiter]\nprompt = "x"\n')
    with pytest.raises(CouncilError, match="max_rounds"):
        load_council(bad, base=str(tmp_path))
