"""Faults in hooks and config: each gives its on_error outcome, names the hook, loses nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.payloads import bash, prompt
from tests.helpers.processes import gone, wait_until

if TYPE_CHECKING:
    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(60)

GOOD = """
[[hooks]]
name = "good"
event = "{event}"
call = "goodhook:answer"
"""
GOOD_MODULE = """
def answer(payload):
    return {"hookSpecificOutput": {"hookEventName": payload["hook_event_name"],
                                   "additionalContext": "still here"}}
"""


def with_bad_hook(project: Project, bad: str, *, event: str = "UserPromptSubmit",
                  on_error: str = "allow", timeout: float = 10) -> None:
    project.module("goodhook", GOOD_MODULE)
    project.config(GOOD.format(event=event) + f"""
[[hooks]]
name = "bad"
event = "{event}"
{bad}
timeout = {timeout}
on_error = "{on_error}"
""")


def test_a_hang_is_killed_at_its_timeout_with_its_grandchild(project: Project) -> None:
    hang = project.script("hang.py", f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open("{project.root}/grandchild.pid", "w").write(str(child.pid))
        time.sleep(60)
    """)
    with_bad_hook(project, f'command = "{hang}"', timeout=1)
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "still here"
    assert "hook 'bad' timed out after 1 s" in ran.stderr
    assert ran.hooks()["bad"]["status"] == "timeout"
    pid = int((project.root / "grandchild.pid").read_text())
    wait_until(lambda: gone(pid), timeout=5)


@pytest.mark.parametrize(("bad", "status", "message"), [
    ('command = "echo boom >&2; exit 1"', "error", "exited 1: boom"),
    ('command = "echo \'{\\"continue\\": 1}\'"', "garbled",
     "answered JSON that Claude Code rejects (continue is a number"),
    ('command = "head -c 10000000 /dev/zero | tr \'\\\\0\' x"', "oversize",
     "printed more than 1024 KiB"),
    ('command = "/no/such/hook --flag"', "not_found", "command not found"),
    ('call = "no_such_module:check"', "not_found", "cannot import 'no_such_module:check'"),
])
def test_a_broken_hook_fails_open_and_is_named(project: Project, bad: str, status: str,
                                               message: str) -> None:
    with_bad_hook(project, bad)
    ran = project.run(prompt())
    assert ran.code == 0
    assert ran.specific["additionalContext"] == "still here"
    assert ran.hooks()["bad"]["status"] == status
    line = next(line for line in ran.stderr.splitlines() if "hook 'bad'" in line)
    assert message in line
    assert "on_error" in line
    assert "decision" not in ran.answer


@pytest.mark.parametrize("bad", ['command = "exit 1"', 'command = "echo \'{\\"continue\\": 1}\'"',
                                 'call = "missing_mod:fn"'])
def test_on_error_block_fails_closed(project: Project, bad: str) -> None:
    with_bad_hook(project, bad, event="PreToolUse", on_error="block")
    ran = project.run(bash())
    assert ran.specific["permissionDecision"] == "deny"
    assert "hook 'bad'" in ran.specific["permissionDecisionReason"]


def test_a_brace_that_is_not_json_is_plain_text_even_with_on_error_block(
        project: Project) -> None:
    """Claude Code with ``onFailure: "block"`` lets the tool run after ``{oops`` (checked)."""
    with_bad_hook(project, 'command = "echo \'{oops\'"', event="PreToolUse", on_error="block")
    ran = project.run(bash())
    assert "permissionDecision" not in ran.answer.get("hookSpecificOutput", {})
    assert ran.hooks()["bad"]["status"] == "ok"
    assert "[bad] printed text that starts with { but is not JSON" in ran.stderr


def test_a_call_hook_that_hangs_is_abandoned_at_its_timeout(project: Project) -> None:
    project.module("stuck", "import threading\ndef wait(payload):\n    threading.Event().wait()\n")
    with_bad_hook(project, 'call = "stuck:wait"', timeout=0.5)
    ran = project.run(prompt())
    assert ran.hooks()["bad"]["status"] == "timeout"
    assert ran.specific["additionalContext"] == "still here"


def test_a_call_hook_that_prints_does_not_corrupt_the_response(project: Project) -> None:
    project.module("noisy", "def hook(payload):\n    print('debug output')\n    return 'ctx'\n")
    project.config('[[hooks]]\nname = "noisy"\nevent = "UserPromptSubmit"\ncall = "noisy:hook"\n')
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "ctx"
    assert "debug output" in ran.stderr


def test_a_call_hook_that_raises_block_blocks(project: Project) -> None:
    project.module("guard", """
        from hookswarm.lib.protocol import Block
        def check(payload):
            raise Block("not on main")
    """)
    project.config('[[hooks]]\nname = "guard"\nevent = "UserPromptSubmit"\ncall = "guard:check"\n')
    ran = project.run(prompt())
    assert ran.answer == {"decision": "block", "reason": "[guard]: not on main"}


@pytest.mark.parametrize(("toml", "message"), [
    ("[[hooks]\nname = ", "not valid TOML"),
    ('[[hooks]]\nname = "x"\nevent = "UserPromptSubmit"\ncommand = "true"\nextra = 1\n',
     "key 'extra': unknown key"),
])
def test_a_broken_config_fails_open_with_one_clear_line(project: Project, toml: str,
                                                        message: str) -> None:
    project.config(toml)
    ran = project.run(prompt())
    assert ran.code == 0
    assert message in ran.stderr
    assert "hookrun validate" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert ran.answer == {"systemMessage": ran.stderr.strip()}


def test_a_broken_config_fails_closed_when_its_defaults_say_so(project: Project) -> None:
    project.config('[defaults]\non_error = "block"\n[[hooks]]\nname = "x"\nevent = "Nope"\n'
                   'command = "true"\n')
    ran = project.run(bash())
    assert ran.specific["permissionDecision"] == "deny"
    assert "unknown event 'Nope'" in ran.specific["permissionDecisionReason"]


def test_a_payload_that_is_not_json_fails_open(project: Project) -> None:
    project.config('[[hooks]]\nname = "x"\nevent = "Stop"\ncommand = "exit 2"\n')
    ran = project.run_raw("not json")
    assert ran.code == 0
    assert "not a JSON object" in ran.stderr


def test_a_call_answer_that_is_not_json_is_named_and_other_denies_survive(
        project: Project) -> None:
    project.module("odd", """
        import datetime
        def rewrite(payload):
            return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "updatedInput": {"when": datetime.date(2024, 1, 1)}}}
    """)
    project.config("""
        [[hooks]]
        name = "rewrite"
        event = "PreToolUse"
        call = "odd:rewrite"
        [[hooks]]
        name = "after-rewrite"
        event = "PreToolUse"
        command = "cat > /dev/null; echo '{}'"
        after = ["rewrite"]
        [[hooks]]
        name = "no-rm"
        event = "PreToolUse"
        command = "echo no >&2; exit 2"
    """)
    ran = project.run(bash("rm -rf x"))
    assert ran.code == 0
    assert ran.specific["permissionDecision"] == "deny"
    assert "hook 'rewrite' returned a dict that is not JSON" in ran.stderr
    assert ran.hooks()["after-rewrite"]["status"] == "ok"


@pytest.mark.parametrize(("code", "status"), [(0, "ok"), (None, "ok"), (2, "blocked"),
                                              (3, "error")])
def test_sys_exit_in_a_call_hook_means_what_the_exit_code_means(
        project: Project, code: int | None, status: str) -> None:
    project.module("exiter", f"import sys\ndef hook(payload):\n    sys.exit({code!r})\n")
    project.config('[defaults]\ntimeout = 20\n'
                   '[[hooks]]\nname = "ex"\nevent = "PreToolUse"\ncall = "exiter:hook"\n')
    ran = project.run(bash())
    hook = ran.hooks()["ex"]
    assert hook["status"] == status
    assert (ran.specific.get("permissionDecision") == "deny") is (status == "blocked")


def test_a_flood_on_stderr_is_cut_not_a_failure(project: Project) -> None:
    project.config("""
        [[hooks]]
        name = "noisy"
        event = "UserPromptSubmit"
        command = "head -c 2000000 /dev/zero | tr '\\\\0' x >&2; echo 'context line'"
    """)
    ran = project.run(prompt())
    assert ran.hooks()["noisy"]["status"] == "ok"
    assert ran.specific["additionalContext"] == "context line"


def test_a_command_timeout_is_reported_as_a_timeout_beside_a_hanging_call(
        project: Project) -> None:
    project.module("slowcall", "import time\ndef hook(payload):\n    time.sleep(5)\n")
    project.config("""
        [defaults]
        timeout = 1
        [[hooks]]
        name = "slowcall"
        event = "Stop"
        call = "slowcall:hook"
        [[hooks]]
        name = "slowcmd"
        event = "Stop"
        command = "sleep 5"
    """)
    for _ in range(3):
        ran = project.run({"hook_event_name": "Stop", "session_id": "s"})
        assert {h["status"] for h in ran.hooks().values()} == {"timeout"}, ran.stderr


def test_a_config_that_is_not_utf8_fails_open_with_one_line(project: Project) -> None:
    (project.root / ".claude").mkdir()
    (project.root / ".claude" / "hookrun.toml").write_bytes(
        b'[[hooks]]\nname = "caf\xe9"\nevent = "PreToolUse"\ncommand = "exit 2"\n')
    ran = project.run(bash())
    assert (ran.code, len(ran.stderr.splitlines())) == (0, 1)
    assert "not UTF-8 text" in ran.stderr
    assert ran.answer == {"systemMessage": ran.stderr.strip()}


def test_a_chain_of_1500_hooks_runs_in_order(project: Project) -> None:
    project.module("count", """
        def hook(payload):
            return None
        def last(payload):
            return str(len(payload["hookrun"]["upstream"]))
    """)
    project.config("".join(
        f'[[hooks]]\nname = "h{i}"\nevent = "UserPromptSubmit"\ncall = "count:hook"\n'
        f'after = ["h{i + 1}"]\n' for i in range(1, 1500))
        + '[[hooks]]\nname = "h1500"\nevent = "UserPromptSubmit"\ncall = "count:hook"\n'
        + '[[hooks]]\nname = "h0"\nevent = "UserPromptSubmit"\ncall = "count:last"\n'
          'after = ["h1"]\n')
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "1", ran.stderr
    order = [h["name"] for h in ran.records()[-1]["hooks"]]
    assert order == [f"h{i}" for i in range(1500, -1, -1)]


def deep_payload(depth: int) -> str:
    nested = '{"x": ' * depth + '"bottom"' + "}" * depth
    return ('{"hook_event_name": "PreToolUse", "tool_name": "Bash", "session_id": "s", '
            f'"tool_input": {nested}, "tool_response": {nested}}}')


def test_a_payload_nested_1000_levels_runs_every_hook(project: Project) -> None:
    project.module("depth", """
        def measure(payload):
            node, depth = payload["tool_input"], 0
            while isinstance(node, dict):
                node, depth = node["x"], depth + 1
            return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "additionalContext": f"depth {depth}"}}
    """)
    project.config("""
        [[hooks]]
        name = "depth"
        event = "PreToolUse"
        call = "depth:measure"
        [[hooks]]
        name = "after-depth"
        event = "PreToolUse"
        command = "grep -c bottom >&2; echo NO >&2; exit 2"
        after = ["depth"]
    """)
    ran = project.run_raw(deep_payload(1000), "PreToolUse")
    assert ran.specific["additionalContext"] == "depth 1000", ran.stderr
    assert ran.specific["permissionDecision"] == "deny"
    assert {h["status"] for h in ran.hooks().values()} == {"ok", "blocked"}


@pytest.mark.parametrize(("on_error", "decision"), [("allow", None), ("block", "deny")])
def test_a_payload_too_deep_to_read_is_one_line_and_an_answer_per_on_error(
        project: Project, on_error: str, decision: str | None) -> None:
    project.config(f'[[hooks]]\nname = "x"\nevent = "PreToolUse"\ncommand = "true"\n'
                   f'on_error = "{on_error}"\n')
    ran = project.run_raw(deep_payload(100_000), "PreToolUse")
    assert ran.code == 0
    [line] = ran.stderr.splitlines()
    assert "reading the payload failed (RecursionError" in line
    assert ran.specific.get("permissionDecision") == decision


@pytest.mark.parametrize("code", [0, 2])
def test_os_exit_in_a_call_hook_is_a_failure_of_that_hook_and_other_answers_stay(
        project: Project, code: int) -> None:
    project.module("quitter", f"import os\ndef hook(payload):\n    os._exit({code})\n")
    project.config("""
        [[hooks]]
        name = "quitter"
        event = "PreToolUse"
        call = "quitter:hook"
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        command = "echo NO >&2; exit 2"
        [[hooks]]
        name = "after-quitter"
        event = "PreToolUse"
        command = "echo CTX"
        after = ["quitter"]
    """)
    ran = project.run(bash())
    assert ran.specific["permissionDecision"] == "deny"
    assert "NO" in ran.specific["permissionDecisionReason"]
    assert {n: h["status"] for n, h in ran.hooks().items()} == {
        "quitter": "error", "guard": "blocked", "after-quitter": "ok"}
    line = next(line for line in ran.stderr.splitlines() if "hook 'quitter'" in line)
    assert f"called os._exit({code})" in line


@pytest.mark.parametrize("event", ["PreToolUse", "PreCompact"])
def test_a_config_failing_closed_says_so_in_one_line(project: Project, event: str) -> None:
    project.config(f'[defaults]\non_error = "block"\n[[hooks]]\nname = "x"\nevent = "{event}"\n'
                   'command = "true"\nbad = 1\n')
    ran = project.run({"hook_event_name": event, "trigger": "manual"})
    [line] = ran.stderr.splitlines()
    assert "key 'bad'" in line
    assert "blocking" in line
    assert ran.code == (2 if event == "PreCompact" else 0)
