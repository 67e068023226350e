"""``hookrun run`` as a real process: ordering, overlap, upstream answers, piped input."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.helpers.payloads import bash, prompt

if TYPE_CHECKING:
    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(60)

BARRIER_MODULE = """
import threading
barrier = threading.Barrier(2, timeout=10)

def meet(payload, *, label):
    barrier.wait()  # raises BrokenBarrierError unless both hooks are running at once
    return label
"""


def test_a_dependent_starts_only_after_its_dependency_ends(project: Project) -> None:
    slow = project.script("slow.py", "import time; time.sleep(0.3); print('base')")
    project.config(f"""
        [[hooks]]
        name = "child"
        event = "UserPromptSubmit"
        command = "echo child"
        after = ["base"]
        [[hooks]]
        name = "base"
        event = "UserPromptSubmit"
        command = "{slow}"
    """)
    ran = project.run(prompt())
    hooks = ran.hooks()
    assert hooks["child"]["start_ms"] >= hooks["base"]["end_ms"]
    assert ran.specific["additionalContext"] == "base\n\nchild"  # dependencies first


def test_independent_hooks_overlap(project: Project) -> None:
    project.module("meeting", BARRIER_MODULE)
    project.config("""
        [[hooks]]
        name = "left"
        event = "UserPromptSubmit"
        call = "meeting:meet"
        options = { label = "L" }
        [[hooks]]
        name = "right"
        event = "UserPromptSubmit"
        call = "meeting:meet"
        options = { label = "R" }
    """)
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "L\n\nR", ran.stderr


def test_dependents_see_upstream_answers(project: Project) -> None:
    project.module("chain", """
        def first(payload):
            return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                           "additionalContext": "branch=main"}}

        def second(payload):
            upstream = payload["hookrun"]["upstream"]["first"]
            seen = upstream["output"]["hookSpecificOutput"]["additionalContext"]
            return f"second saw {seen} ({upstream['status']})"
    """)
    project.config("""
        [[hooks]]
        name = "first"
        event = "UserPromptSubmit"
        call = "chain:first"
        [[hooks]]
        name = "second"
        event = "UserPromptSubmit"
        call = "chain:second"
        after = ["first"]
    """)
    ran = project.run(prompt())
    assert ran.specific["additionalContext"] == "branch=main\n\nsecond saw branch=main (ok)"


def test_updated_input_flows_along_after_edges(project: Project) -> None:
    project.module("rewrite", """
        def add_flag(payload):
            command = payload["tool_input"]["command"] + " --safe"
            return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "updatedInput": {"command": command}}}
    """)
    project.config("""
        [[hooks]]
        name = "one"
        event = "PreToolUse"
        matcher = "Bash"
        call = "rewrite:add_flag"
        [[hooks]]
        name = "two"
        event = "PreToolUse"
        matcher = "Bash"
        call = "rewrite:add_flag"
        after = ["one"]
    """)
    ran = project.run(bash("make"))
    assert ran.specific["updatedInput"] == {"command": "make --safe --safe"}


def test_command_hooks_get_the_raw_payload_and_claude_project_dir(project: Project) -> None:
    echo = project.script("echo.py", """
        import os, sys
        data = sys.stdin.read()
        print(os.environ["CLAUDE_PROJECT_DIR"] + "|" + os.environ["EXTRA"] + "|" + data)
    """)
    project.config(f"""
        [[hooks]]
        name = "echo"
        event = "UserPromptSubmit"
        command = "{echo}"
        env = {{ EXTRA = "x1" }}
    """)
    ran = project.run(prompt("exact bytes"))
    root, extra, payload = ran.specific["additionalContext"].split("|", 2)
    assert (root, extra) == (str(project.root), "x1")
    assert '"prompt": "exact bytes"' in payload


LOGGER = """
    import json, os, sys, time
    payload = json.load(sys.stdin)
    open("started", "w").close()
    while not os.path.exists("denied"):  # be the slow logger: still writing after the deny
        time.sleep(0.01)
    log = json.load(open("log.json")) if os.path.exists("log.json") else []
    log.append(payload["tool_input"]["command"])
    json.dump(log, open("log.json", "w"))
"""


def test_a_deny_lets_a_logger_finish_and_its_dependents_start(project: Project) -> None:
    logger = project.script("logger.py", LOGGER)
    project.config(f"""
        [[hooks]]
        name = "logger"
        event = "PreToolUse"
        command = "{logger}"
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        command = "while [ ! -e started ]; do sleep 0.01; done; touch denied; echo NO-1 >&2; exit 2"
        [[hooks]]
        name = "second-guard"
        event = "PreToolUse"
        command = "echo NO-2 >&2; exit 2"
        after = ["logger"]
    """)
    for n in range(3):
        (project.root / "denied").unlink(missing_ok=True)
        ran = project.run(bash(f"cmd-{n}"))
        assert {name: h["status"] for name, h in ran.hooks().items()} == {
            "logger": "ok", "guard": "blocked", "second-guard": "blocked"}
        reason = ran.specific["permissionDecisionReason"]
        assert "NO-1" in reason
        assert "NO-2" in reason
    assert json.loads((project.root / "log.json").read_text()) == ["cmd-0", "cmd-1", "cmd-2"]


def test_a_hook_that_opts_in_is_cancelled_by_a_block(project: Project) -> None:
    slow = project.script("slow.py", "open('started', 'w').close(); import time; time.sleep(20)")
    project.module("guard", """
        import os, time
        from hookswarm.lib.protocol import Block
        def check(payload):
            while not os.path.exists("started"):
                time.sleep(0.01)
            raise Block("no")
    """)
    project.config(f"""
        [[hooks]]
        name = "slow"
        event = "PreToolUse"
        command = "{slow}"
        cancel_on_block = true
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        call = "guard:check"
        [[hooks]]
        name = "later"
        event = "PreToolUse"
        command = "echo never"
        after = ["slow"]
        cancel_on_block = true
    """)
    ran = project.run(bash())
    statuses = {name: hook["status"] for name, hook in ran.hooks().items()}
    assert statuses == {"slow": "cancelled", "guard": "blocked", "later": "skipped"}
    assert ran.specific["permissionDecision"] == "deny"


def test_matcher_selects_hooks(project: Project) -> None:
    project.config("""
        [[hooks]]
        name = "edits"
        event = "PreToolUse"
        matcher = "Edit|Write"
        command = "echo no >&2; exit 2"
    """)
    ran = project.run(bash())
    assert (ran.stdout, ran.code) == ("", 0)
