"""Parity with Claude Code: the same hooks, configured natively and run through ``hookrun run``.

Each case runs the real CLI twice against the scripted model — once with the hooks in
``.claude/settings.json``, once through hookrun — and compares what the model received, whether
the tool ran and how the run ended. hookrun is reached three ways: one ``hookrun run`` command
entry per event; the http entries of ``hookrun install --serve`` (a warm server that
SessionStart's entry starts) with every hook ``warm = false``; and the same with the Python
script hooks forked from the server's warm zygote. The intended differences
(config-order context, the first deny deciding, piped ``updatedInput``) are asserted
explicitly at the end.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.fakes.messages_api import reply
from tests.helpers.parity import (
    MODES,
    Case,
    Hook,
    Observation,
    after_exit,
    answers,
    both,
    context,
    decision,
    exits_after,
    observation,
    prints,
    py,
    served_state,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)

BLOCK_EXIT_2 = py("import sys; sys.stdin.read(); sys.stderr.write('NO-BASH'); sys.exit(2)")
CRASH = py("import sys; sys.stdin.read(); raise SystemExit('CRASH-TRACE')")
HANG = py("import sys, time; sys.stdin.read(); time.sleep(30)")
REWRITE = answers({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                          "updatedInput": {"command": "touch rewritten.txt",
                                                           "description": "touch"}}})
SLOW_PLAIN_CONTEXT = after_exit("node", 'print("CTX-PNPM")')
SLOW_FORMAT = after_exit("lint", 'open("formatted.txt", "w").write("formatted")')
STOP_ONCE = py("""
    import json, sys
    payload = json.load(sys.stdin)
    if not payload.get("stop_hook_active"):
        print(json.dumps({"decision": "block", "reason": "KEEP-GOING"}))
""")

CASES = [
    Case("plain-stdout-context", [Hook("ctx", "UserPromptSubmit", prints("CTX-PLAIN"))],
         lambda o: "CTX-PLAIN" in o.seen, replies=[reply("hi")], markers=["CTX-PLAIN"]),
    Case("json-additional-context",
         [Hook("ctx", "UserPromptSubmit", context("UserPromptSubmit", "CTX-JSON"))],
         lambda o: "CTX-JSON" in o.seen, replies=[reply("hi")], markers=["CTX-JSON"]),
    Case("exit-2-blocks-the-tool", [Hook("guard", "PreToolUse", BLOCK_EXIT_2, "Bash")],
         lambda o: "ran.txt" not in o.files and o.tool_errors == (True,) and "NO-BASH" in o.seen,
         markers=["NO-BASH"]),
    Case("json-decision-block-drops-the-prompt",
         [Hook("gate", "UserPromptSubmit", answers({"decision": "block",
                                                     "reason": "STOP-PROMPT"}))],
         lambda o: o.requests == 0 and "STOP-PROMPT" in o.result_text, replies=[reply("never")]),
    Case("allow-and-deny-denies",
         [Hook("yes", "PreToolUse", decision("allow", "fine"), "Bash"),
          Hook("no", "PreToolUse", decision("deny", "DENY-1"), "Bash")],
         lambda o: "ran.txt" not in o.files and "DENY-1" in o.seen, markers=["DENY-1"]),
    Case("allow-and-ask-asks-which-denies-in-print-mode",
         [Hook("yes", "PreToolUse", decision("allow", "fine"), "Bash"),
          Hook("maybe", "PreToolUse", decision("ask", "ASK-1"), "Bash")],
         lambda o: "ran.txt" not in o.files and "ASK-1" in o.seen, markers=["ASK-1"]),
    Case("allow-skips-the-permission-check",
         [Hook("yes", "PreToolUse", decision("allow", "fine"), "Bash")],
         lambda o: "ran.txt" in o.files, tools="Read"),
    Case("updated-input-rewrites-the-call",
         [Hook("rewrite", "PreToolUse", REWRITE, "Bash")],
         lambda o: o.files == {"rewritten.txt"}),
    Case("system-message-stays-with-the-user",
         [Hook("note", "PreToolUse", answers({"systemMessage": "SYS-MSG"}), "Bash")],
         lambda o: "ran.txt" in o.files and "SYS-MSG" not in o.seen, markers=["SYS-MSG"]),
    Case("continue-false-stops-after-the-tool",
         [Hook("halt", "PreToolUse", answers({"continue": False, "stopReason": "HALT"}),
               "Bash")],
         lambda o: "ran.txt" in o.files and o.terminal_reason == "hook_stopped"),
    Case("a-crash-fails-open", [Hook("crash", "PreToolUse", CRASH, "Bash")],
         lambda o: "ran.txt" in o.files and "CRASH-TRACE" not in o.seen,
         markers=["CRASH-TRACE"]),
    Case("non-json-stdout-is-not-for-the-model",
         [Hook("chatty", "PreToolUse", prints("PLAIN-LOG"), "Bash")],
         lambda o: "ran.txt" in o.files and "PLAIN-LOG" not in o.seen, markers=["PLAIN-LOG"]),
    Case("a-json-deny-counts-despite-exit-1",
         [Hook("odd", "PreToolUse", exits_after(decision("deny", "DENY-EXIT-1"), 1), "Bash")],
         lambda o: "ran.txt" not in o.files and "DENY-EXIT-1" in o.seen, markers=["DENY-EXIT-1"]),
    Case("exit-2-with-only-json-gives-its-reason",
         [Hook("quiet", "PreToolUse", exits_after(decision("deny", "JSON-REASON"), 2), "Bash")],
         lambda o: "ran.txt" not in o.files and "JSON-REASON" in o.seen, markers=["JSON-REASON"]),
    Case("a-timeout-fails-open", [Hook("hang", "PreToolUse", HANG, "Bash", timeout=1)],
         lambda o: "ran.txt" in o.files),
    Case("a-matcher-that-does-not-match",
         [Hook("edits", "PreToolUse", BLOCK_EXIT_2, "Edit|Write")],
         lambda o: "ran.txt" in o.files and o.tool_errors == (False,)),
    Case("stop-block-continues-the-turn", [Hook("more", "Stop", STOP_ONCE)],
         lambda o: o.requests == 2 and "KEEP-GOING" in o.model_input,
         replies=[reply("first"), reply("second")], markers=["KEEP-GOING"]),
    Case("exit-2-on-session-start-keeps-the-other-context",
         [Hook("pnpm", "SessionStart", SLOW_PLAIN_CONTEXT),
          Hook("node", "SessionStart", BLOCK_EXIT_2)],
         lambda o: "CTX-PNPM" in o.seen and "NO-BASH" not in o.seen and o.requests == 1,
         replies=[reply("hi")], markers=["CTX-PNPM", "NO-BASH"]),
    Case("a-post-tool-use-block-lets-side-effects-finish",
         [Hook("format", "PostToolUse", SLOW_FORMAT, "Bash"),
          Hook("lint", "PostToolUse", BLOCK_EXIT_2, "Bash")],
         lambda o: {"ran.txt", "formatted.txt"} <= o.files and "NO-BASH" in o.seen,
         markers=["NO-BASH"]),
    Case("plain-text-starting-with-a-bracket-is-context",
         [Hook("git", "UserPromptSubmit", prints("[git] on branch CTX-BRACKET"))],
         lambda o: "CTX-BRACKET" in o.seen, replies=[reply("hi")], markers=["CTX-BRACKET"]),
    Case("on-failure-block-is-ignored-on-stop", [Hook("crash", "Stop", CRASH, on_error="block")],
         lambda o: o.requests == 1 and not o.is_error and "CRASH-TRACE" not in o.seen,
         replies=[reply("done"), reply("never")], markers=["CRASH-TRACE"]),
]


def test_what_the_model_saw_counts_every_request_of_the_conversation(tmp_path: Path) -> None:
    # Context that reached only an earlier request reached the model all the same, and a
    # marker that must not reach the model must not be in any request.
    early = {"messages": [{"role": "user", "content": "go"},
                          {"role": "system", "content": "hook additional context: CTX-EARLY"}]}
    late = {"messages": [{"role": "user", "content": "go"},
                         {"role": "assistant", "content": "ok"}]}
    case = Case("c", [], lambda o: True, markers=["CTX-EARLY", "CTX-NEVER"])
    seen = observation(tmp_path, case, [early, late], {"terminal_reason": "completed"})
    assert (seen.seen, seen.requests) == (frozenset({"CTX-EARLY"}), 2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hookrun_matches_claude_code(tmp_path: Path, case: Case, mode: str) -> None:
    native, hookrun = both(tmp_path, case, mode)
    assert case.check(native), f"the case does not show what it claims natively: {native}"
    assert hookrun == native, served_state(tmp_path / "hookrun")
    assert hookrun.result_text == native.result_text


SLOW_CONTEXT = after_exit("fast", 'print("CTX-SLOW")')
SLOW_DENY = after_exit(
    "fast", 'print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", '
            '"permissionDecision": "deny", "permissionDecisionReason": "DENY-SLOW"}}))')
SLOW_SUFFIX = after_exit(
    "rewrite", 'command = payload["tool_input"]["command"].replace("ran", "first")',
    'print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", '
    '"updatedInput": {"command": command, "description": "touch"}}}))')


def test_context_keeps_config_order_where_claude_code_uses_completion_order(
        tmp_path: Path) -> None:
    case = Case("order", [Hook("slow", "UserPromptSubmit", SLOW_CONTEXT),
                          Hook("fast", "UserPromptSubmit", prints("CTX-FAST"))],
                lambda o: True, replies=[reply("hi")])
    native, hookrun = both(tmp_path, case)

    def order(o: Observation) -> bool:
        return o.model_input.index("CTX-SLOW") < o.model_input.index("CTX-FAST")

    assert not order(native)  # completion order: the fast hook's context comes first
    assert order(hookrun)  # config order


def test_every_deny_reason_is_kept_where_claude_code_keeps_the_last(tmp_path: Path) -> None:
    case = Case("deny", [Hook("slow", "PreToolUse", SLOW_DENY, "Bash"),
                         Hook("fast", "PreToolUse", decision("deny", "DENY-FAST"), "Bash")],
                lambda o: True, markers=["DENY-SLOW", "DENY-FAST"])
    native, hookrun = both(tmp_path, case)
    assert native.files == hookrun.files == frozenset()
    assert native.seen == {"DENY-SLOW"}  # Claude Code waits for all and keeps the last deny
    assert hookrun.seen == {"DENY-SLOW", "DENY-FAST"}  # hookrun waits too and keeps both
    records = (tmp_path / "hookrun" / ".swarm" / "hooks" / "runs.jsonl").read_text()
    statuses = {h["name"]: h["status"] for h in json.loads(records.splitlines()[-1])["hooks"]}
    assert statuses == {"slow": "ok", "fast": "ok"}


def test_updated_input_is_piped_along_after_edges(tmp_path: Path) -> None:
    hooks = [Hook("rewrite", "PreToolUse", REWRITE, "Bash"),
             Hook("suffix", "PreToolUse", SLOW_SUFFIX, "Bash", after=("rewrite",))]
    case = Case("pipe", hooks, lambda o: True)
    native, hookrun = both(tmp_path, case)
    assert native.files == {"first.txt"}  # each hook saw the original; the last to finish won
    assert hookrun.files == {"rewritten.txt"}  # the dependent rewrote the first rewrite
