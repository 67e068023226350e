"""``hookrun run``'s graph in-process, with a fake runner whose outcome is the command text."""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.executor.results import HookResult
from hookswarm.executor.run import Invocation, Outcome, execute
from tests.helpers.fake_runner import FakeRunner
from tests.helpers.payloads import bash, prompt

if TYPE_CHECKING:
    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(30)


def hooks_toml(*hooks: dict[str, Any], defaults: str = "") -> str:
    tables = [defaults]
    for spec in hooks:
        lines = [f"{key} = {json.dumps(value)}" for key, value in spec.items()]
        tables.append("[[hooks]]\n" + "\n".join(lines))
    return "\n".join(tables) + "\n"


def run_fake(project: Project, payload: dict[str, Any], *hooks: dict[str, Any],
             defaults: str = "") -> tuple[Outcome, FakeRunner]:
    event = payload["hook_event_name"]
    project.config(hooks_toml(*({"event": event, **h} for h in hooks), defaults=defaults))
    runner = FakeRunner()
    outcome = execute(Invocation(raw=json.dumps(payload).encode(), event=None, config_path=None,
                                 environ={**os.environ, "CLAUDE_PROJECT_DIR": str(project.root)},
                                 cwd=str(project.root), record=False), runner=runner)
    return outcome, runner


def statuses(outcome: Outcome) -> dict[str, str]:
    return {r.name: r.status for r in outcome.results}


def answer(outcome: Outcome) -> dict[str, Any]:
    return json.loads(outcome.response.stdout)  # type: ignore[no-any-return]


def test_a_deny_cancels_nothing_and_keeps_every_reason(project: Project) -> None:
    outcome, runner = run_fake(
        project, bash(),
        {"name": "logger", "command": "hang"},
        {"name": "first", "command": "deny FIRST"},
        {"name": "second", "command": "exit 2 SECOND", "after": ["first"]},
        {"name": "after-log", "command": "ok", "after": ["logger"]},
        defaults="[defaults]\ntimeout = 0.05\n")
    assert runner.cancelled == []
    assert runner.killed == ["logger"]  # it ran until its own timeout
    assert runner.started == ["logger", "first", "second", "after-log"]
    assert statuses(outcome) == {"logger": "timeout", "first": "ok", "second": "blocked",
                                 "after-log": "ok"}
    reason = answer(outcome)["hookSpecificOutput"]["permissionDecisionReason"]
    assert "FIRST" in reason
    assert "SECOND" in reason


def test_cancel_on_block_in_defaults_cancels_and_skips(project: Project) -> None:
    outcome, runner = run_fake(
        project, bash(),
        {"name": "pure", "command": "hang"},
        {"name": "guard", "command": "deny no"},
        {"name": "next", "command": "ok", "after": ["pure"]},
        {"name": "logger", "command": "ok", "after": ["guard"], "cancel_on_block": False},
        defaults="[defaults]\ncancel_on_block = true\n")
    assert runner.cancelled == ["pure"]
    assert statuses(outcome) == {"pure": "cancelled", "guard": "ok", "next": "skipped",
                                 "logger": "ok"}


def test_a_permission_request_deny_is_a_block_for_the_scheduler(project: Project) -> None:
    deny = {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                   "decision": {"behavior": "deny", "message": "no"}}}
    outcome, runner = run_fake(
        project, {"hook_event_name": "PermissionRequest", "tool_name": "Bash",
                  "tool_input": {"command": "ls"}},
        {"name": "pure", "command": "hang", "cancel_on_block": True},
        {"name": "guard", "command": "json " + json.dumps(deny)})
    assert runner.cancelled == ["pure"]
    assert answer(outcome)["hookSpecificOutput"]["decision"]["behavior"] == "deny"


def test_a_block_after_the_fact_cancels_no_hook_even_one_that_opted_in(project: Project) -> None:
    outcome, runner = run_fake(
        project, {"hook_event_name": "Stop", "stop_hook_active": False},
        {"name": "pure", "command": "hang", "cancel_on_block": True, "timeout": 0.05},
        {"name": "guard", "command": "block keep going"})
    assert runner.cancelled == []
    assert statuses(outcome) == {"pure": "timeout", "guard": "ok"}


def test_dependents_see_their_dependencies_and_the_piped_input(project: Project) -> None:
    rewrite = {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                      "updatedInput": {"command": "make --safe"}}}
    outcome, _ = run_fake(
        project, bash("make"),
        {"name": "rewrite", "command": "json " + json.dumps(rewrite)},
        {"name": "fails", "command": "exit 1 boom"},
        {"name": "sees", "command": "upstream", "after": ["rewrite", "fails"]},
        {"name": "input", "command": "input", "after": ["sees"]})
    context = answer(outcome)["hookSpecificOutput"]["additionalContext"]
    assert context == '{"fails": "error", "rewrite": "ok"}\n\nmake --safe'


def test_a_dependency_the_matcher_left_out_is_no_upstream(project: Project) -> None:
    outcome, runner = run_fake(
        project, bash(),
        {"name": "edits", "command": "ok", "matcher": "Edit"},
        {"name": "sees", "command": "upstream", "after": ["edits"]})
    assert runner.started == ["sees"]
    assert "hookrun" not in answer(outcome)["hookSpecificOutput"]["additionalContext"]


def test_ten_thousand_hooks_in_one_run(project: Project) -> None:
    hooks = [{"name": f"h{i}", "command": "ok"} for i in range(10_000)]
    outcome, runner = run_fake(project, prompt(), *hooks, {"name": "last", "command": "say end",
                                                           "after": ["h9999"]})
    assert len(runner.started) == 10_001
    assert runner.started[-1] == "last"
    assert answer(outcome)["hookSpecificOutput"]["additionalContext"] == "end"


class BrokenRunner(FakeRunner):
    """Fails the way a fault inside hookrun would: while starting, or with a bad result."""

    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault

    def start(self, hook: Any, request: dict[str, Any] | bytes, report: Any) -> None:
        if self.fault == "start":
            raise RuntimeError("the runner broke")
        if self.fault == "deep-answer":
            answer: dict[str, Any] = {}
            for _ in range(50_000):
                answer = {"x": answer}
            specific = {"hookEventName": "PreToolUse", "updatedInput": answer}
            report(HookResult(position=0, name=hook.name, status="ok",
                              output={"hookSpecificOutput": specific}), 0.0, 0.0)
            return
        super().start(hook, request, report)


def nested(depth: int) -> str:
    """A JSON object nested ``depth`` levels deep, as text (too deep for ``json.dumps``)."""
    return '{"x": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(("fault", "stage"), [
    ("deep-payload", "reading the payload failed (RecursionError"),
    ("start", "running the hooks failed (RuntimeError: the runner broke)"),
    ("deep-answer", "merging the answers failed (RecursionError"),
])
@pytest.mark.parametrize("on_error", ["allow", "block"])
def test_a_fault_of_hookrun_itself_is_an_answer_per_on_error(
        project: Project, fault: str, stage: str, on_error: str) -> None:
    project.config(hooks_toml({"name": "h", "event": "PreToolUse", "command": "ok",
                               "on_error": on_error}))
    tool_input = nested(50_000 if fault == "deep-payload" else 1)
    raw = ('{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": '
           + tool_input + "}").encode()
    response = execute(Invocation(raw=raw, event="PreToolUse", config_path=None,
                                  environ={"CLAUDE_PROJECT_DIR": str(project.root)},
                                  cwd=str(project.root), record=False),
                       runner=BrokenRunner(fault)).response
    [line] = response.stderr.splitlines()
    assert stage in line
    decision = json.loads(response.stdout).get("hookSpecificOutput", {}).get("permissionDecision")
    assert decision == ("deny" if on_error == "block" else None)
    if on_error == "allow":
        assert json.loads(response.stdout) == {"systemMessage": line}


def test_a_run_leaves_no_idle_threads_behind(project: Project) -> None:
    project.module("noop", "def hook(payload):\n    return None\n")
    project.config(hooks_toml(*({"name": f"h{i}", "event": "UserPromptSubmit",
                                 "call": "noop:hook"} for i in range(200))))
    invocation = Invocation(raw=json.dumps(prompt()).encode(), event=None, config_path=None,
                            environ={"CLAUDE_PROJECT_DIR": str(project.root)},
                            cwd=str(project.root), record=False)
    before = set(threading.enumerate())
    for _ in range(5):
        assert len(execute(invocation).results) == 200
    started = set(threading.enumerate()) - before
    for thread in started:
        thread.join(timeout=10)  # each ends once the sentinel reaches it
    assert [t for t in started if t.is_alive()] == []
