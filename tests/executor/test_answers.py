"""Malformed answers are that hook's ``garbled`` failure, and another hook's deny still stands;
stdout that only looks like JSON is plain text, as Claude Code reads it."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.executor.merge import merge
from hookswarm.executor.results import HookResult
from hookswarm.lib.hookconfig import HookSpec
from hookswarm.lib.process import ProcessOutcome
from tests.helpers.payloads import bash

if TYPE_CHECKING:
    from tests.helpers.project import Project

BAD = HookSpec(position=0, name="bad", event="PreToolUse", command="./bad.sh")
GUARD = HookSpec(position=1, name="guard", event="PreToolUse", command="./guard.sh")
DENY = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                               "permissionDecisionReason": "no rm"}}


def specific(**fields: Any) -> str:
    return json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", **fields}})


MALFORMED = [
    (specific(permissionDecision=["deny"]), "permissionDecision is an array"),
    (specific(permissionDecision={"deny": True}), "permissionDecision is an object"),
    (specific(permissionDecision="maybe"), 'permissionDecision is "maybe"'),
    (specific(additionalContext=5), "additionalContext is a number, not a string"),
    (specific(additionalContext=["a"]), "additionalContext is an array"),
    (specific(updatedInput="rm -rf /"), "updatedInput is a string, not an object"),
    (specific(updatedInput=None), "updatedInput is null"),
    (specific(permissionDecisionReason=3), "permissionDecisionReason is a number"),
    (json.dumps({"hookSpecificOutput": "deny"}), "hookSpecificOutput is a string"),
    (json.dumps({"decision": 5}), "decision is a number"),
    (json.dumps({"decision": "deny"}), 'decision is "deny"'),
    (json.dumps({"continue": "no"}), "continue is a string, not true or false"),
    (json.dumps({"suppressOutput": 1}), "suppressOutput is a number"),
    (json.dumps({"systemMessage": {"text": "hi"}}), "systemMessage is an object"),
    (json.dumps({"stopReason": False}), "stopReason is true or false"),
    (json.dumps({"reason": ["x"]}), "reason is an array"),
    (json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                        "decision": "deny"}}), "decision is a string"),
    (json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                        "decision": {"behavior": "no"}}}),
     'decision.behavior is "no"'),
    # Claude Code: "Hook returned incorrect event name: expected 'PreToolUse' but got ..."
    (json.dumps({"hookSpecificOutput": {"hookEventName": "PostToolUse",
                                        "permissionDecision": "allow"}}),
     'hookSpecificOutput.hookEventName is "PostToolUse" in a PreToolUse hook'),
    (json.dumps({"hookSpecificOutput": {"permissionDecision": "allow"}}),
     "hookSpecificOutput has no hookEventName"),
]
# Not JSON at all, though it starts with a brace: Claude Code reads it as plain text.
NOT_JSON = [
    '{"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {"n": NaN}}}',
    '{"systemMessage": "x", "n": Infinity}',
    '{"continue": -Infinity}',
    '{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny"',
    '{"finding": 1}\n{"finding": 2}',
    '{"a": ' * 100_000 + "1" + "}" * 100_000,  # nested past the parser's depth
]


def from_stdout(hook: HookSpec, stdout: str, exit_code: int = 0) -> HookResult:
    outcome = ProcessOutcome(exit_code=exit_code, stdout=stdout.encode(), stderr=b"")
    return HookResult.from_process(hook, outcome)


@pytest.mark.parametrize(("printed", "words"), MALFORMED)
def test_a_malformed_answer_is_garbled_and_the_deny_beside_it_stands(printed: str,
                                                                     words: str) -> None:
    bad = from_stdout(BAD, printed)
    assert (bad.status, bad.output) == ("garbled", None)
    assert words in bad.reason
    response = merge("PreToolUse", [bad, from_stdout(GUARD, json.dumps(DENY))],
                     on_error={"bad": "allow"})
    answer = json.loads(response.stdout, parse_constant=pytest.fail)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert answer["hookSpecificOutput"]["permissionDecisionReason"] == "no rm"
    assert "hook 'bad' " in response.stderr
    assert words in response.stderr


@pytest.mark.parametrize("printed", NOT_JSON)
def test_a_brace_that_does_not_parse_is_plain_text_as_claude_code_reads_it(printed: str) -> None:
    result = from_stdout(BAD, printed)
    assert (result.status, result.output) == ("ok", printed)
    assert "is not JSON" in result.stderr  # said on stderr, for whoever reads the log
    response = merge("PreToolUse", [result, from_stdout(GUARD, json.dumps(DENY))],
                     on_error={"bad": "block"})
    answer = json.loads(response.stdout, parse_constant=pytest.fail)
    assert answer["hookSpecificOutput"]["permissionDecisionReason"] == "no rm"


@pytest.mark.parametrize("value", [
    {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {"n": math.nan}}},
    {"systemMessage": math.inf},
    {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": ["deny"]}},
    {"continue": "no"},
])
def test_a_call_hooks_malformed_dict_is_garbled(value: dict[str, Any]) -> None:
    result = HookResult.from_call(HookSpec(position=0, name="c", event="PreToolUse", call="m:f"),
                                  value)
    assert (result.status, result.output) == ("garbled", None)


def test_a_failed_hooks_malformed_json_is_ignored_and_said_so() -> None:
    result = from_stdout(BAD, specific(permissionDecision=["deny"]), exit_code=1)
    assert (result.status, result.output) == ("error", None)
    assert "its JSON answer was ignored: hookSpecificOutput.permissionDecision" in result.reason


@pytest.mark.parametrize("printed", [
    specific(permissionDecision="allow", updatedInput={"command": "ls"}),
    json.dumps({"continue": True, "suppressOutput": False, "decision": "approve",
                "hookSpecificOutput": {"hookEventName": "PreToolUse", "newKey": [1]}}),
])
def test_well_formed_answers_stay_answers(printed: str) -> None:
    assert from_stdout(BAD, printed).status == "ok"


def test_a_permission_request_answer_is_well_formed_in_a_permission_request_hook() -> None:
    hook = HookSpec(position=0, name="perm", event="PermissionRequest", command="./p.sh")
    printed = json.dumps({"hookSpecificOutput": {
        "hookEventName": "PermissionRequest",
        "decision": {"behavior": "allow", "updatedPermissions": []}}})
    assert from_stdout(hook, printed).status == "ok"
    assert from_stdout(BAD, printed).status == "garbled"


def test_hookrun_prints_strict_json_beside_a_nan_answer(project: Project) -> None:
    """A NaN answer is plain text to Claude Code; hookrun's own answer stays strict JSON."""
    nan = project.script("nan.py", """
        print('{"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": NaN}}')
    """)
    guard = project.script("guard.py", f"print({json.dumps(json.dumps(DENY))})")
    project.config(f"""
        [[hooks]]
        name = "nan"
        event = "PreToolUse"
        command = "{nan}"
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        command = "{guard}"
        after = ["nan"]
    """)
    ran = project.run(bash("rm -rf x"))
    answer = json.loads(ran.stdout, parse_constant=pytest.fail)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "updatedInput" not in answer["hookSpecificOutput"]
    assert "[nan] printed text that starts with { but is not JSON (NaN is not JSON)" in ran.stderr
    assert ran.hooks()["nan"]["status"] == "ok"
