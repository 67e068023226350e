"""What Claude Code shows from hookrun's answer, through the real CLI, against native hooks.

Strict JSON beside a deny, an exit-2 reason byte for byte, a quiet hook's stderr in the hook
events, and many context hooks kept under Claude Code's own cut.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.messages_api import (
    MessagesAPI,
    Reply,
    Script,
    reply,
    system_texts,
    tool_results,
)
from tests.helpers.claude_cli import ClaudeRun, run_claude
from tests.helpers.parity import (
    PROMPT,
    TOUCH,
    Case,
    Hook,
    answers,
    both,
    decision,
    py,
    write_project,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(180)

NAN_REWRITE = py("""
    import sys; sys.stdin.read()
    print('{"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": NaN}}')
""")
REASON_WITH_NEWLINES = py("import sys; sys.stdin.read(); sys.stderr.write('  NO-BASH\\n\\n');"
                          " sys.exit(2)")
QUIET_WARNING = py("import sys; sys.stdin.read(); sys.stderr.write('WARN-QUIET\\n')")


def test_a_nan_answer_beside_a_deny_keeps_the_deny(tmp_path: Path) -> None:
    case = Case("nan", [Hook("nan", "PreToolUse", NAN_REWRITE, "Bash"),
                        Hook("no", "PreToolUse", decision("deny", "DENY-1"), "Bash",
                             after=("nan",))],  # so the deny cannot cut the NaN hook short
                lambda o: "ran.txt" not in o.files and "DENY-1" in o.seen, markers=["DENY-1"])
    native, hookrun = both(tmp_path, case)
    assert case.check(native), native
    assert hookrun == native


def run_both(tmp_path: Path, hooks: list[Hook],
             replies: list[Reply]) -> dict[str, tuple[ClaudeRun, dict[str, Any]]]:
    """Run the hooks natively and through hookrun: each run and the last request's body."""
    seen = {}
    for kind in ("native", "hookrun"):
        root = tmp_path / kind
        write_project(root, hooks, through_hookrun=kind == "hookrun")
        with MessagesAPI(Script({PROMPT: list(replies)})) as api:
            run = run_claude(root, PROMPT, api=api, extra_args=[
                "--allowedTools", "Bash", "--include-hook-events"])
            conversation = api.conversation(PROMPT)
        seen[kind] = (run, conversation[-1].body if conversation else {})
    return seen


def test_an_exit_2_reason_reaches_the_model_byte_for_byte(tmp_path: Path) -> None:
    seen = run_both(tmp_path, [Hook("guard", "PreToolUse", REASON_WITH_NEWLINES, "Bash")],
                    [reply(TOUCH), reply("done")])
    native, hookrun = ([(r.content, r.is_error) for r in tool_results(seen[kind][1])]
                       for kind in ("native", "hookrun"))
    assert native[0][0].endswith("]:   NO-BASH\n\n"), native
    assert hookrun == native


def test_a_quiet_hooks_stderr_shows_in_the_hook_events(tmp_path: Path) -> None:
    seen = run_both(tmp_path, [Hook("quiet", "PreToolUse", QUIET_WARNING, "Bash")],
                    [reply(TOUCH), reply("done")])

    def stderr(kind: str) -> str:
        return "".join(str(e.get("stderr", "")) for e in seen[kind][0].of_type("system")
                       if e.get("subtype") == "hook_response")

    assert "WARN-QUIET" in stderr("native")
    assert "[quiet] WARN-QUIET\n" in stderr("hookrun")
    assert "WARN-QUIET" not in json.dumps(seen["hookrun"][1])  # not for the model


def context_hook(index: int) -> Hook:
    text = f"CTX-{index:02d}\n" + f"{index:02d}" * 500
    return Hook(f"ctx{index:02d}", "UserPromptSubmit",
                answers({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                                "additionalContext": text}}))


def test_thirteen_context_hooks_stay_under_claude_codes_cut(tmp_path: Path) -> None:
    hooks = [context_hook(i) for i in range(13)]
    seen = run_both(tmp_path, hooks, [reply("hi")])
    native, hookrun = ("\n".join(system_texts(seen[kind][1])) for kind in ("native", "hookrun"))
    assert all(f"CTX-{i:02d}" in native for i in range(13))  # thirteen blocks of their own
    assert "persisted-output" not in hookrun  # one block, but under the 10,000-character cut
    assert all(f"CTX-{i:02d}" in hookrun for i in range(13))
    assert "[hookrun: context over 9000 characters; shortened: ctx00" in hookrun
