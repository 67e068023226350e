"""The merge rules as a table: answers in, the one response Claude Code gets out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookswarm.executor.merge import fails_closed, merge
from hookswarm.executor.results import HookResult


def ok(name: str, output: Any, position: int = 0) -> HookResult:
    return HookResult(position=position, name=name, status="ok", exit_code=0, output=output)


def blocked(name: str, reason: str) -> HookResult:
    return HookResult(position=0, name=name, status="blocked", exit_code=2, reason=reason)


def failed(name: str, status: str = "error", reason: str = "exited 1") -> HookResult:
    return HookResult(position=0, name=name, status=status, exit_code=1, reason=reason)


def decision(value: str, reason: str = "") -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": value,
                                   "permissionDecisionReason": reason}}


def context(event: str, text: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def specific(stdout: str) -> dict[str, Any]:
    return json.loads(stdout)["hookSpecificOutput"] if stdout else {}


@pytest.mark.parametrize(("decisions", "expected"), [
    (["allow"], "allow"),
    (["allow", "ask"], "ask"),
    (["allow", "deny", "deny"], "deny"),
    (["ask", "allow", "defer"], "defer"),
    (["deny", "ask", "allow"], "deny"),
])
def test_the_most_restrictive_permission_decision_wins(decisions: list[str], expected: str) -> None:
    results = [ok(f"h{i}", decision(d, f"r{i}")) for i, d in enumerate(decisions)]
    response = merge("PreToolUse", results, on_error={})
    assert specific(response.stdout)["permissionDecision"] == expected
    assert response.outcome == expected


def test_every_deny_reason_is_kept_in_config_order() -> None:
    results = [ok("a", decision("deny", "first")), ok("b", decision("allow", "fine")),
               ok("c", decision("deny", "second"))]
    response = merge("PreToolUse", results, on_error={})
    assert specific(response.stdout)["permissionDecisionReason"] == "first\nsecond"


def test_exit_2_on_pre_tool_use_becomes_a_deny_with_claude_codes_wording() -> None:
    response = merge("PreToolUse", [blocked("g", "[python3 g.py]: no rm")], on_error={})
    assert specific(response.stdout) == {"hookEventName": "PreToolUse",
                                         "permissionDecision": "deny",
                                         "permissionDecisionReason": "[python3 g.py]: no rm"}
    assert response.exit_code == 0


@pytest.mark.parametrize("event", ["UserPromptSubmit", "SessionStart"])
def test_plain_text_and_json_context_reach_the_model_in_config_order(event: str) -> None:
    results = [ok("a", "plain a\n"), ok("b", context(event, "json b")), ok("c", "plain c")]
    response = merge(event, results, on_error={})
    assert specific(response.stdout)["additionalContext"] == "plain a\n\njson b\n\nplain c"


@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse", "Stop"])
def test_plain_text_does_not_reach_the_model_where_claude_code_drops_it(event: str) -> None:
    response = merge(event, [ok("a", "just a log line")], on_error={})
    assert response.stdout == ""


@pytest.mark.parametrize(("event", "expected"), [
    ("UserPromptSubmit", {"decision": "block", "reason": "[h]: no"}),
    ("Stop", {"decision": "block", "reason": "[h]: no"}),
    ("SubagentStop", {"decision": "block", "reason": "[h]: no"}),
    ("PostToolUse", {"decision": "block", "reason": "[h]: no"}),
])
def test_a_block_uses_the_events_json_form(event: str, expected: dict[str, Any]) -> None:
    response = merge(event, [blocked("h", "[h]: no"), ok("x", {"suppressOutput": False})],
                     on_error={})
    assert json.loads(response.stdout) == expected
    assert (response.exit_code, response.outcome) == (0, "block")


def test_a_block_on_an_event_without_a_json_form_exits_2_with_the_reasons() -> None:
    response = merge("PreCompact", [blocked("h", "[h]: not now")], on_error={})
    assert (response.exit_code, response.stdout) == (2, "")
    assert "[h]: not now" in response.stderr


@pytest.mark.parametrize("status", ["error", "timeout", "garbled", "oversize", "not_found"])
def test_a_failed_hook_fails_open_by_default_and_says_so(status: str) -> None:
    results = [failed("bad", status, "went wrong"), ok("good", context("UserPromptSubmit", "c"))]
    response = merge("UserPromptSubmit", results, on_error={"bad": "allow"})
    answer = json.loads(response.stdout)
    assert answer["hookSpecificOutput"]["additionalContext"] == "c"
    assert "decision" not in answer
    assert "hook 'bad' went wrong" in response.stderr
    assert "hook 'bad' went wrong" in answer["systemMessage"]


def test_a_failed_hook_with_on_error_block_denies() -> None:
    response = merge("PreToolUse", [failed("guard", "timeout", "timed out after 1 s")],
                     on_error={"guard": "block"})
    out = specific(response.stdout)
    assert out["permissionDecision"] == "deny"
    assert "hook 'guard' timed out after 1 s" in out["permissionDecisionReason"]


def test_cancelled_and_skipped_hooks_add_nothing() -> None:
    results = [HookResult(position=0, name="c", status="cancelled"),
               HookResult(position=1, name="s", status="skipped")]
    assert merge("UserPromptSubmit", results, on_error={}).stdout == ""


def test_updated_input_is_the_last_rewrite_in_order() -> None:
    def rewrite(cmd: str) -> dict[str, Any]:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                       "updatedInput": {"command": cmd}}}
    response = merge("PreToolUse", [ok("a", rewrite("one")), ok("b", rewrite("two"))],
                     on_error={})
    assert specific(response.stdout)["updatedInput"] == {"command": "two"}


def test_common_fields_combine() -> None:
    results = [ok("a", {"systemMessage": "hello", "suppressOutput": True}),
               ok("b", {"continue": False, "stopReason": "enough"}),
               ok("c", {"systemMessage": "world"})]
    answer = json.loads(merge("PostToolUse", results, on_error={}).stdout)
    assert answer == {"continue": False, "stopReason": "enough", "suppressOutput": True,
                      "systemMessage": "hello\nworld"}


def test_permission_request_deny_beats_allow() -> None:
    def behaviour(value: dict[str, Any]) -> dict[str, Any]:
        return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": value}}
    results = [ok("a", behaviour({"behavior": "allow"})),
               ok("b", behaviour({"behavior": "deny", "message": "no"}))]
    out = specific(merge("PermissionRequest", results, on_error={}).stdout)
    assert out["decision"] == {"behavior": "deny", "message": "no"}


def test_legacy_pre_tool_use_decision_block_denies() -> None:
    response = merge("PreToolUse", [ok("old", {"decision": "block", "reason": "legacy"})],
                     on_error={})
    assert specific(response.stdout)["permissionDecision"] == "deny"


def test_no_answers_print_nothing() -> None:
    response = merge("PreToolUse", [ok("quiet", None)], on_error={})
    assert (response.stdout, response.stderr, response.exit_code) == ("", "", 0)


def test_a_json_answer_counts_even_from_a_failed_exit() -> None:
    crashed = HookResult(position=0, name="odd", status="error", exit_code=1,
                         output=decision("deny", "still denied"), reason="exited 1")
    response = merge("PreToolUse", [crashed], on_error={"odd": "allow"})
    assert specific(response.stdout)["permissionDecision"] == "deny"
    assert "hook 'odd' exited 1" in response.stderr


def test_exit_2_where_it_cannot_block_keeps_every_answer_and_shows_the_stderr() -> None:
    results = [ok("pnpm", "Project uses pnpm, not npm.\n"),
               blocked("node", "[check-node]: node 18 is old")]
    response = merge("SessionStart", results, on_error={})
    answer = json.loads(response.stdout)
    assert answer["hookSpecificOutput"] == {"hookEventName": "SessionStart",
                                            "additionalContext": "Project uses pnpm, not npm."}
    assert "hook 'node' exited 2" in answer["systemMessage"]
    assert "node 18 is old" in answer["systemMessage"]
    assert (response.exit_code, response.outcome) == (0, "ok")
    assert "node 18 is old" in response.stderr


@pytest.mark.parametrize("event", ["SessionStart", "SessionEnd", "Notification"])
def test_nothing_fails_closed_where_exit_2_cannot_block(event: str) -> None:
    response = merge(event, [failed("bad"), ok("good", context(event, "kept"))],
                     on_error={"bad": "block"})
    answer = json.loads(response.stdout)
    assert answer["hookSpecificOutput"]["additionalContext"] == "kept"
    assert (response.exit_code, response.outcome) == (0, "ok")
    assert f'does not apply to {event} hooks' in answer["systemMessage"]


@pytest.mark.parametrize("event", ["Stop", "SubagentStop", "TaskCompleted", "TeammateIdle"])
def test_on_error_block_is_ignored_where_claude_code_ignores_on_failure(event: str) -> None:
    response = merge(event, [failed("bad", "timeout", "timed out after 1 s")],
                     on_error={"bad": "block"})
    answer = json.loads(response.stdout)
    assert "decision" not in answer
    assert (response.exit_code, response.outcome) == (0, "ok")
    assert answer["systemMessage"] == ("hookrun: hook 'bad' timed out after 1 s: ignored: "
                                       f'on_error = "block" does not apply to {event} hooks')


@pytest.mark.parametrize(("event", "on_error", "closed"), [
    ("PreToolUse", "block", True),
    ("UserPromptSubmit", "block", True),
    ("PostToolUse", "block", True),
    ("PreCompact", "block", True),
    ("PreToolUse", "allow", False),
    ("Stop", "block", False),
    ("SubagentStop", "block", False),
    ("TaskCompleted", "block", False),
    ("TeammateIdle", "block", False),
    ("SessionStart", "block", False),
])
def test_fails_closed(event: str, on_error: str, closed: bool) -> None:
    assert fails_closed(event, on_error) is closed
