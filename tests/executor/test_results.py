"""Reading what a hook printed on exit 0, as Claude Code reads it: a table."""

from __future__ import annotations

from typing import Any

import pytest

from hookswarm.executor.results import HookResult
from hookswarm.lib.hookconfig import HookSpec
from hookswarm.lib.process import ProcessOutcome

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


def exited_2(event: str, stderr: str) -> HookResult:
    hook = HookSpec(position=0, name="h", event=event, command="sh .claude/hooks/x.sh")
    return HookResult.from_process(hook, ProcessOutcome(exit_code=2, stdout=b"",
                                                        stderr=stderr.encode()))


@pytest.mark.parametrize(("event", "stderr", "status"), [
    # The Stop rows as the 2.1.328 CLI treats them: a missing script's message does not hold
    # the turn (else every turn ends in nine blocks); any other exit 2 does.
    ("Stop", "sh: 0: cannot open .claude/hooks/x.sh: No such file\n", "error"),
    ("Stop", "bash: .claude/hooks/x.sh: No such file or directory\n", "error"),
    ("Stop", "python3: can't open file '/p/x.py': [Errno 2] No such file or directory\n",
     "error"),
    ("Stop", "tests failed; no such file in fixtures\n", "error"),
    ("Stop", "sh: 0: cannot open x.sh\n", "blocked"),
    ("Stop", "sh: 1: foo: not found\n", "blocked"),
    ("PreToolUse", "sh: 0: cannot open .claude/hooks/x.sh: No such file\n", "blocked"),
    ("PostToolUse", "sh: 0: cannot open .claude/hooks/x.sh: No such file\n", "blocked"),
])
def test_a_stop_hooks_missing_file_is_no_block(event: str, stderr: str, status: str) -> None:
    assert exited_2(event, stderr).status == status
