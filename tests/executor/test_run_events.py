"""``hookrun run`` per event: where a block decides at once, where every hook still counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.payloads import bash, prompt

if TYPE_CHECKING:
    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(60)

# The formatter is still at work when lint blocks: it finishes only after lint has answered.
SLOW_FORMAT = ("touch started; while [ ! -e linted ]; do sleep 0.01; done; "
               "echo formatted > formatted.txt")
LINT = "echo 'unused var' >&2; exit 2"
LINT_AFTER_FORMAT_STARTS = f"while [ ! -e started ]; do sleep 0.01; done; touch linted; {LINT}"


def test_a_project_module_named_like_the_stdlib_does_not_break_hookrun(project: Project) -> None:
    project.module("signal", "SIGNALS = [1]\n")
    project.module("selectors", "SELECTORS = []\n")
    project.module("myctx", 'def ctx(payload):\n    return "ctx"\n')
    project.config("""
        [[hooks]]
        name = "lint"
        event = "UserPromptSubmit"
        call = "myctx:ctx"
        [[hooks]]
        name = "echo"
        event = "UserPromptSubmit"
        command = "echo from command"
    """)
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "ctx\n\nfrom command", ran.stderr
    assert ran.stderr == ""


def test_exit_2_on_session_start_keeps_the_other_hooks_context(project: Project) -> None:
    project.config(f"""
        [[hooks]]
        name = "pnpm"
        event = "SessionStart"
        command = "while [ ! -e linted ]; do sleep 0.01; done; echo 'Project uses pnpm, not npm.'"
        [[hooks]]
        name = "node"
        event = "SessionStart"
        command = "touch linted; {LINT.replace("unused var", "node 18 is old")}"
    """)
    ran = project.run({"hook_event_name": "SessionStart", "source": "startup"})
    assert ran.code == 0
    assert ran.specific["additionalContext"] == "Project uses pnpm, not npm."
    assert "node 18 is old" in ran.answer["systemMessage"]
    assert "decision" not in ran.answer
    assert {name: h["status"] for name, h in ran.hooks().items()} == {"pnpm": "ok",
                                                                      "node": "blocked"}


@pytest.mark.parametrize("event", ["Stop", "SubagentStop"])
def test_on_error_block_from_a_broken_config_never_blocks_a_stop(project: Project,
                                                                  event: str) -> None:
    project.config('[defaults]\non_error = "block"\n[[hooks]]\nname = "x"\n'
                   f'event = "{event}"\ncommand = "true"\ntimeuot = 5\n')
    ran = project.run({"hook_event_name": event, "stop_hook_active": True})
    assert ran.code == 0
    assert "decision" not in ran.answer
    assert "timeuot" in ran.answer["systemMessage"]


@pytest.mark.parametrize("event", ["Stop", "SubagentStop", "TaskCompleted", "TeammateIdle"])
def test_a_failing_hook_with_on_error_block_never_blocks_where_claude_code_ignores_it(
        project: Project, event: str) -> None:
    project.config(f"""
        [defaults]
        on_error = "block"
        [[hooks]]
        name = "crash"
        event = "{event}"
        command = "echo boom >&2; exit 1"
    """)
    ran = project.run({"hook_event_name": event, "stop_hook_active": True})
    assert ran.code == 0
    assert "decision" not in ran.answer
    assert "hook 'crash' exited 1: boom" in ran.answer["systemMessage"]


@pytest.mark.parametrize(("event", "payload"), [
    ("PostToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls"},
                     "tool_response": {"stdout": ""}}),
    ("Stop", {"stop_hook_active": False}),
])
def test_a_block_after_the_fact_lets_every_hook_finish(project: Project, event: str,
                                                       payload: dict[str, object]) -> None:
    project.config(f"""
        [[hooks]]
        name = "format"
        event = "{event}"
        command = "{SLOW_FORMAT}"
        [[hooks]]
        name = "lint"
        event = "{event}"
        command = "{LINT_AFTER_FORMAT_STARTS}"
    """)
    ran = project.run({"hook_event_name": event, **payload})
    assert (project.root / "formatted.txt").read_text() == "formatted\n"
    assert ran.answer["decision"] == "block"
    assert "unused var" in ran.answer["reason"]
    assert {name: h["status"] for name, h in ran.hooks().items()} == {"format": "ok",
                                                                      "lint": "blocked"}


def test_a_call_hook_that_times_out_with_on_error_block_cancels_hooks_that_opted_in(
        project: Project) -> None:
    slow = project.script("slow.py", "open('started', 'w').close(); import time; time.sleep(20)")
    project.module("stuck", """
        import os, threading, time
        def wait(payload):
            while not os.path.exists("started"):
                time.sleep(0.01)
            threading.Event().wait()
    """)
    project.config(f"""
        [[hooks]]
        name = "slow"
        event = "PreToolUse"
        command = "{slow}"
        timeout = 30
        cancel_on_block = true
        [[hooks]]
        name = "stuck"
        event = "PreToolUse"
        call = "stuck:wait"
        timeout = 1
        on_error = "block"
    """)
    ran = project.run(bash())
    assert ran.specific["permissionDecision"] == "deny"
    assert {name: h["status"] for name, h in ran.hooks().items()} == {"slow": "cancelled",
                                                                      "stuck": "timeout"}


def test_plain_text_that_starts_with_a_bracket_is_context(project: Project) -> None:
    project.config("""
        [[hooks]]
        name = "git"
        event = "UserPromptSubmit"
        command = "echo '[git] on branch main'"
    """)
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "[git] on branch main"
    assert ran.hooks()["git"]["status"] == "ok"


MISMATCH_CONFIG = """
    [[hooks]]
    name = "ctx"
    event = "UserPromptSubmit"
    command = "echo prompt context"
    [[hooks]]
    name = "on-stop"
    event = "Stop"
    command = "echo stop context"
"""


@pytest.mark.parametrize(("argv", "words"), [
    ("Stopp", "unknown event 'Stopp' on the command line (did you mean Stop?)"),
    ("Stop", "the command line says Stop but the payload's hook_event_name is "
             "UserPromptSubmit"),
])
def test_an_event_that_does_not_fit_the_payload_says_so_on_stderr(
        project: Project, argv: str, words: str) -> None:
    project.config(MISMATCH_CONFIG)
    ran = project.run(prompt(), argv)
    assert words in ran.stderr
    assert ran.stderr.count("\n") == 1
    assert "hookrun run" in ran.stderr
    assert ran.code == 0
    assert "prompt context" not in ran.stdout  # argv decides which hooks run, as before


def test_an_event_that_fits_the_payload_adds_nothing_to_stderr(project: Project) -> None:
    project.config(MISMATCH_CONFIG)
    ran = project.run(prompt(), "UserPromptSubmit")
    assert (ran.stderr, ran.specific["additionalContext"]) == ("", "prompt context")
