"""A hook's stderr as Claude Code shows it: labelled on exit 0, verbatim on exit 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookswarm.executor.merge import merge
from hookswarm.executor.results import HookResult
from hookswarm.lib.hookconfig import HookSpec
from hookswarm.lib.process import ProcessOutcome
from tests.helpers.payloads import bash

if TYPE_CHECKING:
    from tests.helpers.project import Project

HOOK = HookSpec(position=0, name="lint", event="PreToolUse", command="./lint.sh")


def ran(exit_code: int, stderr: bytes, stdout: bytes = b"") -> HookResult:
    return HookResult.from_process(HOOK, ProcessOutcome(exit_code=exit_code, stdout=stdout,
                                                        stderr=stderr))


def test_stderr_on_exit_0_is_passed_on_with_the_hooks_name() -> None:
    response = merge("PreToolUse", [ran(0, b"warning: slow disk\nsecond line\n")], on_error={})
    assert response.stderr == "[lint] warning: slow disk\n[lint] second line\n"
    assert response.stdout == ""  # not for the model, not in systemMessage


def test_an_exit_2_reason_keeps_stderr_as_claude_code_passes_it() -> None:
    result = ran(2, b"  NO-BASH line1\nline2  \n\n")
    assert result.reason == "[./lint.sh]:   NO-BASH line1\nline2  \n\n"
    assert "lint" not in merge("PreToolUse", [result], on_error={}).stderr


def test_hookrun_run_passes_a_quiet_hooks_stderr_on(project: Project) -> None:
    project.config('''
        [[hooks]]
        name = "fmt"
        event = "PreToolUse"
        command = "echo 'formatted 3 files' >&2"
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        command = "printf 'no rm\\\\n' >&2; exit 2"
        after = ["fmt"]
    ''')
    done = project.run(bash("rm -rf x"))
    assert "[fmt] formatted 3 files\n" in done.stderr
    assert done.specific["permissionDecisionReason"] == "[printf 'no rm\\n' >&2; exit 2]: no rm\n"
