"""Council rounds: K personas answer in parallel, an arbiter synthesizes, until convergence.

```toml
name = "naming"                  # default: the file's name without .toml
question = "What should we call the tool?"
max_rounds = 4
similarity = 0.9                 # also converged when answers stop changing (see below)
speculate = false                # start the next round while the arbiter works
[defaults]                       # task keys under every persona and the arbiter
backend = "ollama"
model = "qwen3:1.7b"
[[personas]]
id = "skeptic"
prompt = "You are a skeptic."
[arbiter]
prompt = "You chair the council."
```

Round 1 asks each persona the question; round N also shows every persona's answer of
round N-1 (not the arbiter's synthesis, so a round started early is the same round). The
arbiter reads the round's answers and ends with ``VERDICT: converged`` or ``VERDICT:
continue``. The council stops when the arbiter says converged, when the answers stopped
changing (the mean, over personas, of the Jaccard similarity of the sets of lower-cased words
of a persona's answer in this round and the last, at least ``similarity``), or at
``max_rounds``. With ``speculate``, round N+1 starts with the arbiter of round N and is
cancelled if that arbiter converges; the result is the same as without. Every round, a
cancelled one included, goes to ``.swarm/councils/NAME/transcript.md`` (and ``.json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
from pydantic import BaseModel, ConfigDict, Field

from hookswarm.lib.swarm.batch import answer_text, read_spec
from hookswarm.lib.swarm.errors import SwarmError, TaskFileError
from hookswarm.lib.swarm.task import ID_PATTERN, Task, build_tasks, new_id

_VERDICT = re.compile(r"^\W*verdict\W*:\W*(converged|continue)\b", re.IGNORECASE | re.MULTILINE)
ARBITER_TAIL = ("\n\nEnd your answer with one line: `VERDICT: converged` if the council agrees "
                "(or further rounds would not change the answer), else `VERDICT: continue`.")


class CouncilError(SwarmError):
    """A council file that cannot run; the message names the file and the key."""


class BatchRunner(Protocol):
    async def __call__(self, tasks: Sequence[Task]) -> list[dict[str, Any]]: ...

    def results(self, ids: Sequence[str]) -> list[dict[str, Any]]: ...


class _CouncilSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", pattern=r"^$|" + ID_PATTERN)
    question: str = Field(min_length=1)
    max_rounds: int = Field(default=4, ge=1, le=50)
    similarity: float = Field(default=0.9, gt=0, le=1)
    speculate: bool = False
    defaults: dict[str, Any] = Field(default_factory=dict)
    personas: tuple[dict[str, Any], ...] = Field(min_length=1)
    arbiter: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Council:
    name: str
    question: str
    personas: tuple[Task, ...]
    arbiter: Task
    max_rounds: int
    similarity: float
    speculate: bool


def load_council(path: str | Path, *, base: str) -> Council:
    path = Path(path)
    spec = read_spec(path, _CouncilSpec, what="council file", error=CouncilError)
    name = spec.name or path.stem
    personas = [{"id": f"persona-{n + 1}", **p} for n, p in enumerate(spec.personas)]
    try:
        built = build_tasks([*personas, {"id": "arbiter", **spec.arbiter}],
                            defaults=spec.defaults, base=base, source=str(path))
    except TaskFileError as exc:
        raise CouncilError(str(exc)) from None
    return Council(name, spec.question, tuple(built[:-1]), built[-1], spec.max_rounds,
                   spec.similarity, spec.speculate)


# ---------------------------------------------------------------- the pure core

def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", text.lower()))


def similarity(before: Sequence[str], after: Sequence[str]) -> float:
    """Mean Jaccard similarity of each persona's word sets in two rounds (1.0: unchanged)."""
    scores = []
    for old, new in zip(before, after, strict=True):
        a, b = words(old), words(new)
        scores.append(1.0 if not a | b else len(a & b) / len(a | b))
    return sum(scores) / len(scores)


def verdict(arbiter_answer: str) -> str:
    """The arbiter's last ``VERDICT:`` line: ``converged`` or ``continue`` (the default)."""
    found = _VERDICT.findall(arbiter_answer)
    return found[-1].lower() if found else "continue"


def decide(*, round_no: int, said: str, similar: float | None, threshold: float,
           max_rounds: int) -> str:
    """Why the council stops after this round, or ``continue``."""
    if said == "converged":
        return "converged: the arbiter says so"
    if similar is not None and similar >= threshold:
        return f"converged: the answers stopped changing (similarity {similar:.2f})"
    if round_no >= max_rounds:
        return f"stopped: the round cap ({max_rounds}) was reached"
    return "continue"


def persona_prompt(council: Council, persona: Task, round_no: int,
                   previous: Sequence[str]) -> str:
    parts = [persona.prompt, f"\n\nQuestion: {council.question}\n\nRound {round_no}."]
    if previous:
        parts.append("\n\nThe council's answers in the previous round:\n")
        parts += [f"\n[{p.id}]\n{a.strip()}\n" for p, a in zip(council.personas, previous,
                                                                strict=True)]
    return "".join(parts)


def arbiter_prompt(council: Council, round_no: int, answers: Sequence[str]) -> str:
    listed = "".join(f"\n[{p.id}]\n{a.strip()}\n" for p, a in zip(council.personas, answers,
                                                                  strict=True))
    return (f"{council.arbiter.prompt}\n\nQuestion: {council.question}\n\nRound {round_no} "
            f"answers:\n{listed}{ARBITER_TAIL}")


# ---------------------------------------------------------------- the rounds

class CouncilRun:
    """One council's rounds through the coordinator, written to its transcript as they end."""

    def __init__(self, council: Council, runner: BatchRunner, store_root: Path) -> None:
        self.council = council
        self.runner = runner
        self.dir = store_root / "councils" / council.name
        self.rounds: list[dict[str, Any]] = []

    async def run(self) -> dict[str, Any]:

        self.dir.mkdir(parents=True, exist_ok=True)
        answers = await self._personas(1, [])
        for round_no in range(1, self.council.max_rounds + 1):
            ahead = self.council.speculate and round_no < self.council.max_rounds
            if not ahead:
                decision = await self._arbiter(round_no, answers)
                next_round: list[dict[str, Any]] | None = None
            else:
                decision, next_round = await self._arbiter_and_next(round_no, answers, anyio)
            if decision != "continue":
                return self._finish(decision)
            answers = next_round or await self._personas(round_no + 1, self._texts(answers))
        return self._finish("stopped: the round cap was reached")

    async def _arbiter_and_next(self, round_no: int, answers: list[dict[str, Any]],
                                anyio: Any) -> tuple[str, list[dict[str, Any]] | None]:
        """The arbiter of this round, with the next round started beside it (speculation)."""
        ids = [new_id(f"{p.id}-r{round_no + 1}") for p in self.council.personas]
        box: list[list[dict[str, Any]]] = []
        decision = "continue"
        async with anyio.create_task_group() as group:
            async def ahead() -> None:
                box.append(await self._personas(round_no + 1, self._texts(answers), ids=ids))

            group.start_soon(ahead)
            decision = await self._arbiter(round_no, answers)
            if decision != "continue":
                group.cancel_scope.cancel()
        if box:
            return decision, box[0]
        self._record_cancelled(round_no + 1, ids)
        return decision, None

    async def _personas(self, round_no: int, previous: Sequence[str], *,
                        ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        tasks = [p.model_copy(update={
            "id": ids[n] if ids else new_id(f"{p.id}-r{round_no}"),
            "prompt": persona_prompt(self.council, p, round_no, previous)})
            for n, p in enumerate(self.council.personas)]
        results = await self.runner(tasks)
        self.rounds.append({"round": round_no, "speculative": bool(ids), "cancelled": False,
                            "answers": self._answers(results)})
        return results

    async def _arbiter(self, round_no: int, answers: list[dict[str, Any]]) -> str:
        texts = self._texts(answers)
        task = self.council.arbiter.model_copy(update={
            "id": new_id(f"arbiter-r{round_no}"),
            "prompt": arbiter_prompt(self.council, round_no, texts)})
        [result] = await self.runner([task])
        synthesis = answer_text(result).strip()
        said = verdict(synthesis) if result.get("status") == "succeeded" else "continue"
        previous = self._round(round_no - 1)
        similar = (similarity([a["answer"] for a in previous["answers"]], texts)
                   if previous else None)
        decision = decide(round_no=round_no, said=said, similar=similar,
                          threshold=self.council.similarity, max_rounds=self.council.max_rounds)
        record = self._round(round_no)
        assert record is not None
        record.update(arbiter={"status": result.get("status"), "answer": synthesis,
                               "verdict": said}, similarity=similar, decision=decision)
        self._write()
        return decision

    def _record_cancelled(self, round_no: int, ids: Sequence[str]) -> None:
        results = self.runner.results(ids)
        self.rounds.append({"round": round_no, "speculative": True, "cancelled": True,
                            "answers": self._answers(results),
                            "decision": "cancelled: the arbiter of the round before converged"})
        self._write()

    def _round(self, round_no: int) -> dict[str, Any] | None:
        return next((r for r in self.rounds if r["round"] == round_no and not r["cancelled"]),
                    None)

    def _answers(self, results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{"persona": p.id, "status": r.get("status"), "reason": r.get("reason", ""),
                 "answer": answer_text(r).strip() if r.get("status") == "succeeded" else ""}
                for p, r in zip(self.council.personas, results, strict=True)]

    @staticmethod
    def _texts(results: Sequence[Mapping[str, Any]]) -> list[str]:
        return [answer_text(r).strip() if r.get("status") == "succeeded" else ""
                for r in results]

    def _finish(self, decision: str) -> dict[str, Any]:
        last = next(r for r in reversed(self.rounds) if not r["cancelled"] and "arbiter" in r)
        report = {"council": self.council.name, "decision": decision, "rounds": last["round"],
                  "result": last["arbiter"]["answer"], "speculate": self.council.speculate,
                  "cancelled_rounds": [r["round"] for r in self.rounds if r["cancelled"]],
                  "transcript": str(self.dir / "transcript.md")}
        self._write(report)
        return report

    def _write(self, report: Mapping[str, Any] | None = None) -> None:
        rounds = sorted(self.rounds, key=lambda r: r["round"])
        (self.dir / "transcript.json").write_text(json.dumps(
            {"council": self.council.name, "question": self.council.question,
             "rounds": rounds, "report": report}, indent=2))
        (self.dir / "transcript.md").write_text(transcript_markdown(self.council, rounds,
                                                                    report))


def transcript_markdown(council: Council, rounds: Sequence[Mapping[str, Any]],
                        report: Mapping[str, Any] | None) -> str:
    lines = [f"# Council {council.name}", "", f"Question: {council.question}", ""]
    for record in rounds:
        tags = [t for t, on in (("speculative", record["speculative"]),
                                ("CANCELLED", record["cancelled"])) if on]
        lines += [f"## Round {record['round']}" + (f" ({', '.join(tags)})" if tags else ""), ""]
        for answer in record["answers"]:
            body = answer["answer"] or f"({answer['status']}: {answer['reason']})"
            lines += [f"### {answer['persona']}", "", body, ""]
        if "arbiter" in record:
            lines += ["### arbiter", "", record["arbiter"]["answer"] or
                      f"({record['arbiter']['status']})", ""]
        if record.get("decision"):
            lines += [f"Decision: {record['decision']}", ""]
    if report is not None:
        lines += ["## Result", "", f"{report['decision']} after {report['rounds']} round(s)",
                  "", report["result"], ""]
    return "\n".join(lines)
