"""Typed payload models and answer helpers for ``call`` hooks.

Three tiers: tables of payloads as claude-code-hooks.md records them (every event, the
optional fields, unknown fields and events, Agent calls under their legacy name ``Task``);
payloads captured from the real CLI by a logging hook; and one run of the real CLI where call
hooks built on the models and helpers add context and deny a tool call through hookrun.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from hookswarm.lib import payloads as p
from hookswarm.lib.errors import HookswarmError
from hookswarm.lib.hookconfig import EVENTS
from hookswarm.lib.protocol import CONTEXT_EVENTS, allow, ask, block, context, deny, stop
from tests.fakes.messages_api import (
    MessagesAPI,
    Script,
    reply,
    system_texts,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import run_claude, write_settings

COMMON = {"session_id": "cd0a-1", "transcript_path": "/home/me/.claude/projects/-p/cd0a-1.jsonl",
          "cwd": "/home/me/proj"}
TOOL: dict[str, Any] = {"tool_name": "Bash", "tool_input": {"command": "ls"},
                        "tool_use_id": "toolu_01"}
SWITCH = {"from_model": "claude-a", "to_model": "claude-b", "requested_model": "opus",
          "source": "command", "context_tokens": 1200, "prompt_cache_warm": True,
          "cache_ttl": "5m", "estimated_cache_write_usd": 0.01, "pricing": "catalog"}

# The doc's §1.3 table, one payload per event: (event fields, attribute to read, its value).
EVENT_FIELDS: dict[str, tuple[dict[str, Any], str, Any]] = {
    "PreToolUse": ({**TOOL, "mcp_server": {"name": "gh", "source": "user"}}, "tool_use_id",
                   "toolu_01"),
    "PostToolUse": ({**TOOL, "tool_response": {"stdout": "a\n"}, "duration_ms": 7},
                    "tool_response", {"stdout": "a\n"}),
    "PostToolUseFailure": ({**TOOL, "error": "Exit code 3", "is_interrupt": False},
                           "error", "Exit code 3"),
    "PostToolBatch": ({"tool_calls": [{**TOOL, "tool_response": "a"}]}, "tool_calls",
                      [p.BatchedCall(**TOOL, tool_response="a")]),
    "PermissionRequest": ({"tool_name": "Write", "tool_input": {"file_path": "/x"},
                           "permission_suggestions": [{"type": "addDirectories",
                                                       "directories": ["/x"]}]},
                          "tool_name", "Write"),
    "PermissionDenied": ({**TOOL, "reason": "rule"}, "reason", "rule"),
    "UserPromptSubmit": ({"prompt": "hi", "source": "sdk", "session_title": "t"}, "prompt", "hi"),
    "UserPromptExpansion": ({"expansion_type": "slash_command", "command_name": "greet",
                             "command_args": "x", "prompt": "/greet x"}, "command_name", "greet"),
    "SessionStart": ({"source": "startup"}, "source", "startup"),
    "SessionEnd": ({"reason": "other"}, "reason", "other"),
    "Stop": ({"stop_hook_active": False, "last_assistant_message": "bye",
              "background_tasks": [{"id": "b1", "type": "subagent", "status": "running",
                                    "description": "scan", "agent_type": "general-purpose"}],
              "session_crons": []}, "last_assistant_message", "bye"),
    "StopFailure": ({"error": "overloaded", "error_details": "529"}, "error", "overloaded"),
    "SubagentStart": ({"agent_id": "a7f01b8a494f16420", "agent_type": "general-purpose"},
                      "agent_type", "general-purpose"),
    "SubagentStop": ({"agent_id": "a7f0", "agent_type": "general-purpose",
                      "agent_transcript_path": "/s/subagents/agent-a7f0.jsonl",
                      "stop_hook_active": False, "last_assistant_message": "done",
                      "background_tasks": [], "session_crons": []},
                     "agent_transcript_path", "/s/subagents/agent-a7f0.jsonl"),
    "PreCompact": ({"trigger": "manual", "custom_instructions": None}, "trigger", "manual"),
    "PostCompact": ({"trigger": "auto", "compact_summary": "sum"}, "compact_summary", "sum"),
    "PreModelSwitch": (SWITCH, "to_model", "claude-b"),
    "PostModelSwitch": ({**SWITCH, "source": "auto"}, "source", "auto"),
    "Notification": ({"message": "waiting", "notification_type": "idle_prompt"},
                     "notification_type", "idle_prompt"),
    "Setup": ({"trigger": "init"}, "trigger", "init"),
    "TeammateIdle": ({"teammate_name": "ann", "team_name": "t"}, "teammate_name", "ann"),
    "TaskCreated": ({"task_id": "7", "task_subject": "fix"}, "task_subject", "fix"),
    "TaskCompleted": ({"task_id": "7", "task_subject": "fix", "teammate_name": "ann"},
                      "task_id", "7"),
    "Elicitation": ({"mcp_server_name": "gh", "message": "token?", "mode": "form",
                     "requested_schema": {"type": "object"}}, "mcp_server_name", "gh"),
    "ElicitationResult": ({"mcp_server_name": "gh", "action": "accept",
                           "content": {"token": "x"}}, "action", "accept"),
    "ConfigChange": ({"source": "project_settings", "file_path": "/p/.claude/settings.json"},
                     "source", "project_settings"),
    "WorktreeCreate": ({"name": "feature"}, "name", "feature"),
    "WorktreeRemove": ({"worktree_path": "/w"}, "worktree_path", "/w"),
    "InstructionsLoaded": ({"file_path": "/p/CLAUDE.md", "memory_type": "Project",
                            "load_reason": "session_start"}, "memory_type", "Project"),
    "CwdChanged": ({"old_cwd": "/a", "new_cwd": "/b"}, "new_cwd", "/b"),
    "FileChanged": ({"file_path": "/p/a.py", "event": "change"}, "event", "change"),
    "DirectoryAdded": ({"directory": "/d", "source": "slash_command"}, "directory", "/d"),
    "MessageDisplay": ({"turn_id": "t1", "message_id": "m1", "index": 0, "final": True,
                        "delta": "bye"}, "delta", "bye"),
}

# Recorded in claude-code-hooks.md §1.3 (the Agent call) and §5 (an Agent's PostToolUse).
DOC_AGENT_CALL = {
    "session_id": "cd0a…", "transcript_path": "~/.claude/projects/-home-me-proj/cd0a….jsonl",
    "cwd": "/home/me/proj", "prompt_id": "5794…", "permission_mode": "default",
    "effort": {"level": "medium"}, "hook_event_name": "PreToolUse", "tool_name": "Agent",
    "tool_input": {"description": "a", "prompt": "say hi", "subagent_type": "general-purpose"},
    "tool_use_id": "toolu_01",
}
DOC_ASYNC_LAUNCH = {**DOC_AGENT_CALL, "hook_event_name": "PostToolUse", "tool_response": {
    "isAsync": True, "status": "async_launched", "agentId": "a7f0", "description": "a",
    "prompt": "say hi", "outputFile": "/tmp/a7f0.output", "canReadOutputFile": True}}


def payload(event: str, **extra: Any) -> dict[str, Any]:
    fields, _, _ = EVENT_FIELDS[event]
    return {**COMMON, "hook_event_name": event, **fields, **extra}


def test_every_event_claude_code_defines_has_a_model() -> None:
    assert set(p.EVENT_MODELS) == set(EVENTS) == set(EVENT_FIELDS)
    for name, model in p.EVENT_MODELS.items():
        assert get_args(model.model_fields["hook_event_name"].annotation) == (name,)


@pytest.mark.parametrize("event", sorted(EVENT_FIELDS))
def test_each_event_parses_into_its_model(event: str) -> None:
    _, attribute, value = EVENT_FIELDS[event]
    parsed = p.parse_payload(payload(event))
    assert type(parsed) is p.EVENT_MODELS[event]
    assert getattr(parsed, attribute) == value
    assert (parsed.session_id, parsed.cwd, parsed.model_extra) == ("cd0a-1", "/home/me/proj", {})


@pytest.mark.parametrize("event", sorted(EVENT_FIELDS))
def test_unknown_fields_are_kept_not_rejected(event: str) -> None:
    parsed = p.parse_payload(payload(event, brand_new_field={"since": "2.1.400"}))
    assert parsed.model_extra == {"brand_new_field": {"since": "2.1.400"}}


def test_unknown_fields_inside_nested_objects_are_kept() -> None:
    batch = p.parse_payload(payload("PostToolBatch", effort={"level": "high", "budget": 3},
                                    tool_calls=[{**TOOL, "tool_response": "a", "order": 1}]))
    assert isinstance(batch, p.PostToolBatch)
    assert batch.effort is not None
    assert batch.effort.model_extra == {"budget": 3}
    assert batch.tool_calls[0].model_extra == {"order": 1}


def test_an_unknown_event_parses_into_the_generic_model() -> None:
    parsed = p.parse_payload({**COMMON, "hook_event_name": "NewEvent2027", "detail": 1})
    assert type(parsed) is p.UnknownEvent
    assert (parsed.hook_event_name, parsed.model_extra) == ("NewEvent2027", {"detail": 1})


@pytest.mark.parametrize(("event", "optional"), [
    ("SessionStart", ("prompt_id", "permission_mode", "effort", "model", "agent_type")),
    ("SubagentStart", ("permission_mode", "effort")),
    ("Stop", ("last_assistant_message", "background_tasks", "session_crons")),
    ("UserPromptSubmit", ("source", "session_title")),
    ("PostToolUse", ("duration_ms", "mcp_server")),
    ("PostToolUseFailure", ("is_interrupt", "duration_ms")),
    ("PermissionRequest", ("permission_suggestions",)),
    ("Notification", ("title",)),
])
def test_fields_absent_on_some_payloads_are_optional(event: str,
                                                     optional: tuple[str, ...]) -> None:
    trimmed = {k: v for k, v in payload(event).items() if k not in optional}
    parsed = p.parse_payload(trimmed)
    assert type(parsed) is p.EVENT_MODELS[event]
    assert all(getattr(parsed, name) in (None, []) for name in optional)


@pytest.mark.parametrize(("event", "missing"), [
    ("PreToolUse", "tool_use_id"), ("UserPromptSubmit", "prompt"), ("Stop", "stop_hook_active"),
    ("SubagentStart", "agent_id"), ("SessionStart", "session_id"), ("NewEvent", "cwd"),
])
def test_a_missing_required_field_names_the_event_and_the_field(event: str,
                                                                 missing: str) -> None:
    raw = payload(event) if event in EVENT_FIELDS else {**COMMON, "hook_event_name": event}
    del raw[missing]
    with pytest.raises(p.PayloadError, match=rf"not a {event} payload .*{missing}: Field required"):
        p.parse_payload(raw)


def test_a_payload_error_is_a_toolkit_error_and_a_value_error() -> None:
    with pytest.raises(HookswarmError) as caught:
        p.parse_payload({"hook_event_name": "Stop"})
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value.__cause__, ValidationError)


@pytest.mark.parametrize("name", ["Agent", "Task"])
def test_the_doc_agent_call_is_an_agent_spawn_under_either_name(name: str) -> None:
    parsed = p.parse_payload({**DOC_AGENT_CALL, "tool_name": name})
    assert isinstance(parsed, p.PreToolUse)
    assert parsed.is_agent
    assert not parsed.in_subagent
    spawn = parsed.agent_input()
    assert spawn == p.AgentInput(description="a", prompt="say hi",
                                 subagent_type="general-purpose")
    assert spawn.in_background  # run_in_background unset: agents run in the background
    assert parsed.effort == p.Effort(level="medium")


def test_a_task_named_call_in_a_tool_batch_is_an_agent_spawn() -> None:
    parsed = p.parse_payload(payload("PostToolBatch", tool_calls=[
        {"tool_name": "Task", "tool_input": {"description": "a", "prompt": "b",
                                             "run_in_background": False},
         "tool_use_id": "toolu_A1", "tool_response": [{"type": "text", "text": "done"}]},
        {**TOOL, "tool_response": "x"}]))
    assert isinstance(parsed, p.PostToolBatch)
    agent, bash = parsed.tool_calls
    spawn = agent.agent_input()
    assert agent.is_agent
    assert spawn is not None
    assert not spawn.in_background
    assert not bash.is_agent
    assert bash.agent_input() is None


def test_the_doc_async_launch_response_is_kept_as_the_tool_gave_it() -> None:
    parsed = p.parse_payload(DOC_ASYNC_LAUNCH)
    assert isinstance(parsed, p.PostToolUse)
    assert parsed.tool_response["status"] == "async_launched"


def test_a_hook_inside_a_subagent_knows_it() -> None:
    parsed = p.parse_payload(payload("PreToolUse", agent_id="a7f0", agent_type="Explore"))
    assert parsed.in_subagent
    assert parsed.agent_type == "Explore"


def test_hookrun_upstream_answers_are_typed() -> None:
    upstream = {"lint": {"status": "ok", "exit_code": 0, "output": {"decision": "block"},
                         "reason": ""}}
    parsed = p.parse_payload(payload("Stop", hookrun={"upstream": upstream}))
    assert parsed.hookrun is not None
    assert parsed.hookrun.upstream["lint"].output == {"decision": "block"}


def test_models_are_frozen() -> None:
    parsed = p.parse_payload(payload("UserPromptSubmit"))
    with pytest.raises(ValidationError):
        parsed.cwd = "/elsewhere"


# ---------------------------------------------------------------- answer helpers


@pytest.mark.parametrize(("answer", "expected"), [
    (deny("no rm"), {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                            "permissionDecision": "deny",
                                            "permissionDecisionReason": "no rm"}}),
    (ask("sure?"), {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "permissionDecision": "ask",
                                           "permissionDecisionReason": "sure?"}}),
    (allow(), {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                      "permissionDecision": "allow"}}),
    (allow("fine", updated_input={"command": "ls -a"}),
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
                             "permissionDecisionReason": "fine",
                             "updatedInput": {"command": "ls -a"}}}),
    (block("tests fail"), {"decision": "block", "reason": "tests fail"}),
    (stop("budget spent"), {"continue": False, "stopReason": "budget spent"}),
    (context("SessionStart", "branch main"),
     {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "branch main"}}),
], ids=["deny", "ask", "allow", "allow-rewrite", "block", "stop", "context"])
def test_helpers_build_the_json_claude_code_reads(answer: dict[str, Any],
                                                  expected: dict[str, Any]) -> None:
    assert answer == expected


def test_allow_copies_the_rewritten_input() -> None:
    rewritten = {"command": "ls"}
    answer = allow(updated_input=rewritten)
    rewritten["command"] = "rm -rf /"
    assert answer["hookSpecificOutput"]["updatedInput"] == {"command": "ls"}


@pytest.mark.parametrize("event", sorted(set(EVENTS) - CONTEXT_EVENTS))
def test_context_refuses_events_that_take_no_context(event: str) -> None:
    with pytest.raises(ValueError, match=f"{event} answers cannot add context"):
        context(event, "x")


def test_context_events_are_all_known_events() -> None:
    assert set(EVENTS) >= CONTEXT_EVENTS


@pytest.mark.parametrize(("module", "loads_pydantic"), [
    ("hookswarm.lib.protocol", False), ("hookswarm.lib.payloads", True),
])
def test_only_the_payload_models_import_pydantic(module: str, loads_pydantic: bool) -> None:
    probe = f"import sys, {module}; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    assert out.strip() == str(loads_pydantic)


# ---------------------------------------------------------------- the real CLI

CAPTURE_PROMPT = "capture the payloads"
SURE_TO_FIRE = ("SessionStart", "InstructionsLoaded", "UserPromptSubmit", "PreToolUse",
                "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PostToolBatch",
                "SubagentStart", "SubagentStop", "Stop", "SessionEnd")


def logging_hook(directory: Path) -> str:
    """A command hook that saves each payload it gets as its own file (hooks run in parallel)."""
    code = (f"import sys, uuid; open({str(directory)!r} + '/' + uuid.uuid4().hex + '.json', "
            "'w').write(sys.stdin.read())")
    return f"{sys.executable} -c {json.dumps(code)}"


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Payloads the real CLI sent to a logging hook on every event, by event name.

    The scripted model runs Bash (success, then failure), asks for Write (not allowed, so a
    PermissionRequest) and spawns a foreground agent under the legacy name ``Task``.
    """
    root = tmp_path_factory.mktemp("capture")
    project, logs = root / "project", root / "logs"
    (project / ".claude").mkdir(parents=True)
    logs.mkdir()
    (project / "CLAUDE.md").write_text("Be brief.\n")
    write_settings(project, {"hooks": {event: [{"hooks": [
        {"type": "command", "command": logging_hook(logs)}]}] for event in EVENTS}})
    turns = [reply(tool_use("Bash", {"command": "true", "description": "succeed"})),
             reply(tool_use("Bash", {"command": "exit 3", "description": "fail"})),
             reply(tool_use("Write", {"file_path": str(project / "x.txt"), "content": "x"})),
             reply(tool_use("Task", {"description": "say hi", "prompt": "sub-agent prompt",
                                     "subagent_type": "general-purpose",
                                     "run_in_background": False})),
             reply("bye")]
    with MessagesAPI(Script({CAPTURE_PROMPT: turns})) as api:
        run = run_claude(project, CAPTURE_PROMPT, api=api, home=root / "home",
                         extra_args=["--allowedTools", "Bash Agent"], timeout=60)
    assert run.exit_code == 0, run.describe()
    by_event: dict[str, list[dict[str, Any]]] = {}
    for path in logs.iterdir():
        data = json.loads(path.read_text())
        by_event.setdefault(data["hook_event_name"], []).append(data)
    return by_event


@pytest.mark.timeout(120)
@pytest.mark.parametrize("event", SURE_TO_FIRE)
def test_real_payloads_parse_with_every_field_modelled(
        captured: dict[str, list[dict[str, Any]]], event: str) -> None:
    assert captured.get(event), f"the CLI sent no {event}; got {sorted(captured)}"
    for raw in captured[event]:
        parsed = p.parse_payload(raw)
        assert type(parsed) is p.EVENT_MODELS[event]
        assert parsed.model_extra == {}, f"2.1.328 sends {event} fields the model lacks"


@pytest.mark.timeout(120)
def test_every_real_payload_parses(captured: dict[str, list[dict[str, Any]]]) -> None:
    assert captured
    for event, raws in captured.items():
        assert all(type(p.parse_payload(raw)) is p.EVENT_MODELS[event] for raw in raws)


@pytest.mark.timeout(120)
def test_a_real_task_call_is_an_agent_spawn(captured: dict[str, list[dict[str, Any]]]) -> None:
    pre = [p.parse_payload(raw) for raw in captured["PreToolUse"]]
    batches = [p.parse_payload(raw) for raw in captured["PostToolBatch"]]
    spawns = [x for x in pre if isinstance(x, p.PreToolUse) and x.is_agent]
    batched = [c for b in batches if isinstance(b, p.PostToolBatch) for c in b.tool_calls
               if c.is_agent]
    assert [s.tool_name for s in spawns] == ["Agent"]  # PreToolUse reports the current name
    assert [c.tool_name for c in batched] == ["Task"]  # PostToolBatch keeps the model's name
    for call in (*spawns, *batched):
        spawn = call.agent_input()
        assert spawn is not None
        assert spawn.prompt == "sub-agent prompt"
        assert not spawn.in_background


TYPED_HOOKS = textwrap.dedent('''
    from hookswarm.lib.payloads import PreToolUse, UserPromptSubmit, parse_payload
    from hookswarm.lib.protocol import context, deny


    def prompt_context(raw):
        payload = parse_payload(raw)
        assert isinstance(payload, UserPromptSubmit)
        return context(payload.hook_event_name, f"CTX-TYPED for {payload.prompt!r}")


    def no_touch(raw):
        payload = parse_payload(raw)
        if isinstance(payload, PreToolUse) and "touch" in payload.tool_input["command"]:
            return deny(f"DENY-TYPED {payload.tool_name}")
        return None
''')
HOOKRUN_TOML = textwrap.dedent('''
    [[hooks]]
    name = "prompt-context"
    event = "UserPromptSubmit"
    call = "typed_hooks:prompt_context"

    [[hooks]]
    name = "no-touch"
    event = "PreToolUse"
    matcher = "Bash"
    call = "typed_hooks:no_touch"
''')


@pytest.mark.timeout(120)
def test_helper_answers_are_what_claude_code_accepts(claude_project: Path) -> None:
    hookrun = str(Path(sys.executable).with_name("hookrun"))
    (claude_project / "typed_hooks.py").write_text(TYPED_HOOKS)
    (claude_project / ".claude" / "hookrun.toml").write_text(HOOKRUN_TOML)
    write_settings(claude_project, {"hooks": {event: [{"hooks": [
        {"type": "command", "command": f"{hookrun} run"}]}]
        for event in ("UserPromptSubmit", "PreToolUse")}})
    prompt = "touch a file"
    touch = tool_use("Bash", {"command": "touch ran.txt", "description": "touch"})
    with MessagesAPI(Script({prompt: [reply(touch), reply("ok")]})) as api:
        run = run_claude(claude_project, prompt, api=api, extra_args=["--allowedTools", "Bash"])
        last = api.conversation(prompt)[-1].body
    assert run.exit_code == 0, run.describe()
    assert any("CTX-TYPED for 'touch a file'" in text for text in system_texts(last))
    [result] = tool_results(last)
    assert result.is_error
    assert "DENY-TYPED Bash" in result.content
    assert not (claude_project / "ran.txt").exists()
