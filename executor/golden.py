"""``hookrun test``: replay payload fixtures and compare the merged response with golden files.

A fixture is a hook payload as Claude Code sends it (``name.json``); its expectation lives
beside it in ``name.expected.json``: the exit code and the response (parsed JSON, text, or
null). ``--update`` writes what the hooks answer now.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor.run import Invocation, execute

if TYPE_CHECKING:
    from collections.abc import Mapping

PASS, FAIL, UPDATED, MISSING, INVALID = "pass", "fail", "updated", "missing", "invalid"


class Verdict(NamedTuple):
    fixture: str
    status: str
    diff: str = ""


def expected_path(fixture: str) -> str:
    stem = fixture[:-5] if fixture.endswith(".json") else fixture
    return f"{stem}.expected.json"


def observe(fixture: str, *, config_path: str | None, environ: Mapping[str, str],
            cwd: str) -> dict[str, Any]:
    """What the configured hooks answer to the fixture's payload, in golden-file form."""
    with open(fixture, "rb") as handle:
        raw = handle.read()
    response = execute(Invocation(raw=raw, event=None, config_path=config_path,
                                  environ=environ, cwd=cwd, record=False)).response
    return {"exit_code": response.exit_code, "response": _parsed(response.stdout)}


def check(fixture: str, *, update: bool, config_path: str | None,
          environ: Mapping[str, str], cwd: str) -> Verdict:
    problem = _fixture_problem(fixture)
    if problem:
        return Verdict(fixture, INVALID, f"{problem}; fix the fixture (nothing was recorded)")
    observed = render(observe(fixture, config_path=config_path, environ=environ, cwd=cwd))
    golden = expected_path(fixture)
    if update:
        with open(golden, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(observed)
        return Verdict(fixture, UPDATED)
    if not os.path.exists(golden):
        return Verdict(fixture, MISSING,
                       f"no {golden}; run `hookrun test --update {fixture}` to create it")
    with open(golden, encoding="utf-8") as handle:
        expected = handle.read()
    if _normal(expected) == _normal(observed):
        return Verdict(fixture, PASS)
    diff = difflib.unified_diff(expected.splitlines(), observed.splitlines(), golden, "observed",
                                lineterm="")
    return Verdict(fixture, FAIL, "\n".join(diff))


def _fixture_problem(fixture: str) -> str:
    """Why the fixture is not a hook payload (a JSON object), or ""."""
    try:
        with open(fixture, "rb") as handle:
            payload = json.loads(handle.read())
    except ValueError as exc:
        return f"{fixture} is not JSON ({exc})"
    return "" if isinstance(payload, dict) else f"{fixture} is JSON but not an object"


def render(observed: Mapping[str, Any]) -> str:
    return json.dumps(observed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _parsed(stdout: str) -> Any:
    if not stdout.strip():
        return None
    try:
        return json.loads(stdout)
    except ValueError:
        return stdout


def _normal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
