"""Map -> review: subtasks write findings (usually small models); one reducer reads the verified.

```toml
name = "auth"                     # default: the file's name without .toml
[defaults]                        # task keys under every subtask
backend = "ollama"
model = "qwen3:1.7b"
[[subtasks]]
id = "login"                      # its finding goes to findings/login.md (inside .swarm/reviews)
prompt = "Look for unchecked input in src/login.py"
[reduce]                          # the reducer: a task of its own (a bigger model, claude, ...)
backend = "claude"
prompt = "Synthesize the verified findings into one review"
```

A finding is verified when its subtask's file was written (the task's evidence says
``succeeded``) and its ``Source:`` line names a file of the project that holds its ``Quote:``
line word for word (whitespace aside). Only verified findings reach the reducer, in one file
it is given as context; the report names the unverified ones and why they were left out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookswarm.lib.swarm.batch import Runner, answer_text, read_spec
from hookswarm.lib.swarm.errors import SwarmError, TaskFileError
from hookswarm.lib.swarm.task import HTTP_BACKENDS, ID_PATTERN, Task, build_tasks

_SOURCE = re.compile(r"^\s*(?:[-*]\s*)?\**source\**\s*:\s*`?(?P<path>[^`\s]+)`?\s*$",
                     re.IGNORECASE | re.MULTILINE)
_QUOTE = re.compile(r"^\s*(?:[-*]\s*)?\**quote\**\s*:\s*(?P<quote>.+?)\s*$",
                    re.IGNORECASE | re.MULTILINE)
INSTRUCTIONS = ("\n\nWrite your finding as one fenced block labelled {path}. In it, put a line "
                "`Source: PATH` naming the project file it is about and a line `Quote: TEXT` "
                "quoting that file word for word; a finding whose quote is not in its source "
                "is left out.")


class ReviewError(SwarmError):
    """A review file that cannot run; the message names the file and the key."""


class _ReviewSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", pattern=r"^$|" + ID_PATTERN)
    defaults: dict[str, Any] = Field(default_factory=dict)
    subtasks: tuple[dict[str, Any], ...] = Field(min_length=1)
    reduce: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Review:
    name: str
    root: str
    subtasks: tuple[Task, ...]
    reduce: Task


@dataclass(frozen=True, slots=True)
class Finding:
    """One subtask's finding and whether it was verified (``reason`` says why not)."""

    id: str
    text: str
    verified: bool
    reason: str = ""
    source: str = ""


def findings_path(name: str, task_id: str) -> str:
    return f".swarm/reviews/{name}/findings/{task_id}.md"


def load_review(path: str | Path, *, base: str) -> Review:
    path = Path(path)
    spec = read_spec(path, _ReviewSpec, what="review file", error=ReviewError)
    name = spec.name or path.stem
    entries = [_subtask(name, n, entry) for n, entry in enumerate(spec.subtasks)]
    try:
        subtasks = build_tasks(entries, defaults=spec.defaults, base=base, source=str(path))
        [reduce] = build_tasks([{"id": f"{name}-reduce", **spec.reduce}], base=base,
                               source=f"{path} [reduce]")
    except TaskFileError as exc:
        raise ReviewError(str(exc)) from None
    return Review(name, base, tuple(subtasks), reduce)


def _subtask(name: str, index: int, entry: Mapping[str, Any]) -> dict[str, Any]:
    task_id = str(entry.get("id") or f"{name}-{index + 1}")
    path = findings_path(name, task_id)
    data = {"owns": [path], "expects": [path], **entry, "id": task_id}
    data["prompt"] = str(data.get("prompt", "")) + INSTRUCTIONS.format(path=path)
    return data


def with_file_output(task: Task) -> Task:
    """HTTP subtasks answer in text: their fenced block becomes the findings file."""
    return task.model_copy(update={"output": "files"}) if task.backend in HTTP_BACKENDS else task


def verify(task_id: str, status: str, text: str, read: Callable[[str], str | None]) -> Finding:
    """Judge one finding; ``read`` gives a project file's text (None: not a readable file)."""
    if status != "succeeded":
        return Finding(task_id, text, False, f"its task did not write the findings file "
                                             f"({status})")
    source, quote = _SOURCE.search(text), _QUOTE.search(text)
    if source is None or quote is None:
        return Finding(task_id, text, False, "no `Source:` and `Quote:` lines to check")
    path = source.group("path")
    content = None if _escapes(path) else read(path)
    if content is None:
        return Finding(task_id, text, False, f"its source {path} is not a file of the project",
                       path)
    if _squeeze(quote.group("quote").strip("\"'`")) not in _squeeze(content):
        return Finding(task_id, text, False, f"its quote is not in {path}", path)
    return Finding(task_id, text, True, "", path)


def _escapes(path: str) -> bool:
    return os.path.isabs(path) or ".." in Path(path).parts


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def reducer_input(findings: Sequence[Finding]) -> str:
    """The reducer's whole input: the verified findings, each under its subtask's id."""
    return "".join(f"## {f.id}\n\n{f.text.strip()}\n\n" for f in findings if f.verified)


async def run_review(review: Review, runner: Runner, store_root: Path) -> dict[str, Any]:
    """Map, verify, reduce; the report (also written to ``.swarm/reviews/NAME/``)."""
    folder = store_root / "reviews" / review.name
    (folder / "findings").mkdir(parents=True, exist_ok=True)
    mapped = await runner([with_file_output(t) for t in review.subtasks])
    findings = [_judge(t, r, review.root) for t, r in zip(review.subtasks, mapped, strict=True)]
    verified = folder / "verified.md"
    verified.write_text(reducer_input(findings))
    reduce = review.reduce.model_copy(update={"context": verified.read_text()})
    [reduced] = await runner([reduce])
    report = {"review": review.name, "findings": [_finding_json(f) for f in findings],
              "verified": sum(f.verified for f in findings),
              "left_out": [f.id for f in findings if not f.verified],
              "reducer_input": str(verified),
              "reduce": {"status": reduced.get("status"), "reason": reduced.get("reason", ""),
                         "answer": answer_text(reduced).strip()}}
    (folder / "report.md").write_text(markdown(report))
    return report


def _judge(task: Task, result: Mapping[str, Any], root: str) -> Finding:
    path = Path(root) / findings_path_of(task)
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = ""
    return verify(task.id, str(result.get("status")), text, lambda p: _read(root, p))


def findings_path_of(task: Task) -> str:
    return task.expects[0]


def _read(root: str, path: str) -> str | None:
    try:
        return (Path(root) / path).read_text(errors="replace")
    except (OSError, ValueError):
        return None


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "verified": finding.verified, "reason": finding.reason,
            "source": finding.source}


def markdown(report: Mapping[str, Any]) -> str:
    findings = report["findings"]
    lines = [f"# Review {report['review']}: {report['verified']} of {len(findings)} findings "
             "verified", "", f"The reducer read only {report['reducer_input']}.", ""]
    left = [f for f in findings if not f["verified"]]
    if left:
        lines += ["Left out (unverified):", ""]
        lines += [f"- {f['id']}: {f['reason']}" for f in left]
        lines.append("")
    reduce = report["reduce"]
    lines += [f"## Synthesis ({reduce['status']})", "", reduce["answer"] or reduce["reason"], ""]
    return "\n".join(lines)
