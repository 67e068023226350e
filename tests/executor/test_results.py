"""Reading what a hook printed on exit 0, as Claude Code reads it: a table."""

from __future__ import annotations

from typing import Any

import pytest

from hookswarm.executor.results import HookResult
from hookswarm.lib.hookconfig import HookSpec

HOOK = HookSpec(position=0, name="h", event="UserPromptSubmit", call="m:f")


@pytest.mark.parametrize(("printed", "status", "output"), [
    ("[git] on branch main", "ok", "[git] on branch main"),
    ("[1, 2]\n", "ok", "[1, 2]\n"),
    ("  plain text", "ok", "  plain text"),
    ('{"systemMessage": "hi"}\n', "ok", {"systemMessage": "hi"}),
    ('{"hookSpecificOutput": {"hookEventName"', "ok", '{"hookSpecificOutput": {"hookEventName"'),
    ('{"a": 1}\n{"b": 2}\n', "ok", '{"a": 1}\n{"b": 2}\n'),
    ("", "ok", None),
])
def test_only_output_that_starts_with_a_brace_is_read_as_json(printed: str, status: str,
                                                              output: Any) -> None:
    result = HookResult.from_call(HOOK, printed)
    assert (result.status, result.output) == (status, output)
