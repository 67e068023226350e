"""The scripted Messages API drives the real Claude Code CLI: replies, tools, hooks, stalls."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.messages_api import (
    MessagesAPI,
    RecordedRequest,
    Reply,
    Script,
    ScriptError,
    assistant_turns,
    first_user_text,
    reply,
    system_texts,
    task_notifications,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import (
    claude_command,
    claude_env,
    command_hook,
    kill_group,
    parse_events,
    run_claude,
    write_settings,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.timeout(30)

ALLOW_BASH = ("--allowedTools", "Bash")

DENY_TOUCH = json.dumps({"hookSpecificOutput": {
    "hookEventName": "PreToolUse",
    "permissionDecision": "deny",
    "permissionDecisionReason": "touch is forbidden in this project",
}})


def _post(api: MessagesAPI, path: str, body: dict[str, Any]) -> str:
    request = urllib.request.Request(f"{api.base_url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def _sse_events(api: MessagesAPI, body: dict[str, Any]) -> list[dict[str, Any]]:
    lines = _post(api, "/v1/messages", body).splitlines()
    return [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]


def test_stream_has_the_messages_api_event_sequence_and_unique_ids() -> None:
    body = {"stream": True, "model": "m", "messages": [{"role": "user", "content": "hi"}]}
    script = Script({"hi": [reply("a", tool_use("Bash", {"command": "true"}))]})
    with MessagesAPI(script) as api:
        first, second = _sse_events(api, body), _sse_events(api, body)

    assert [e["type"] for e in first] == [
        "message_start",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]
    assert first[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert json.loads(first[5]["delta"]["partial_json"]) == {"command": "true"}
    ids = {events[0]["message"]["id"] for events in (first, second)}
    tool_ids = {events[4]["content_block"]["id"] for events in (first, second)}
    assert len(ids) == 2
    assert all(i.startswith("msg_") for i in ids)
    assert len(tool_ids) == 2
    assert all(i.startswith("toolu_") for i in tool_ids)


def test_non_stream_and_other_endpoints_get_plain_json() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with MessagesAPI({"hi": [reply("hello")]}) as api:
        message = json.loads(_post(api, "/v1/messages", body))
        counted = json.loads(_post(api, "/v1/messages/count_tokens", body))

    assert (message["content"], message["stop_reason"]) == ([{"type": "text", "text": "hello"}],
                                                            "end_turn")
    assert counted == {"input_tokens": 10}
    assert [r.is_messages for r in api.requests] == [True, False]


def test_a_crashing_script_fails_the_test_that_owns_it() -> None:
    def script(body: dict[str, Any]) -> Reply:
        raise KeyError("no reply for this turn")

    api = MessagesAPI(script).start()
    with pytest.raises(urllib.error.HTTPError) as answered:
        _post(api, "/v1/messages", {"messages": []})
    api.stop()

    assert answered.value.code == 500
    with pytest.raises(ScriptError, match="no reply for this turn"):
        api.check()


def test_text_reply_reaches_the_result(messages_api: MessagesAPI, claude_project: Path) -> None:
    messages_api.script = Script({"say hello": [reply("hello from the fake")]})

    run = run_claude(claude_project, "say hello", api=messages_api,
                     extra_args=["--model", "claude-fake-test"])

    assert run.exit_code == 0, run.describe()
    assert run.result["is_error"] is False, run.describe()
    assert run.result_text == "hello from the fake"
    assert [r.model for r in messages_api.conversation("say hello")] == ["claude-fake-test"]


def test_scripted_bash_call_runs_and_its_result_reaches_the_model(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    prompt = "make the marker file"
    messages_api.script = Script({prompt: [
        reply("on it", tool_use("Bash", {"command": "touch ran.txt"}, id="toolu_touch")),
        reply("marker made"),
    ]})

    run = run_claude(claude_project, prompt, api=messages_api, extra_args=ALLOW_BASH)

    assert run.result_text == "marker made", run.describe()
    assert (claude_project / "ran.txt").is_file()
    first, second = messages_api.conversation(prompt)
    assert tool_results(first) == []
    [result] = tool_results(second)
    assert (result.tool_use_id, result.is_error) == ("toolu_touch", False)


def test_pre_tool_use_deny_hook_blocks_the_tool(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    write_settings(claude_project, command_hook("PreToolUse", f"echo '{DENY_TOUCH}'",
                                                matcher="Bash"))
    prompt = "try to touch"
    messages_api.script = Script({prompt: [reply(tool_use("Bash", {"command": "touch ran.txt"})),
                                           reply("blocked, giving up")]})

    run = run_claude(claude_project, prompt, api=messages_api, extra_args=ALLOW_BASH)

    assert run.result_text == "blocked, giving up", run.describe()
    assert not (claude_project / "ran.txt").exists()
    [result] = tool_results(messages_api.conversation(prompt)[-1])
    assert result.is_error
    assert "touch is forbidden in this project" in result.content


def test_user_prompt_submit_plain_stdout_reaches_the_model(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    write_settings(claude_project, command_hook("UserPromptSubmit", "echo context-from-the-hook"))

    run = run_claude(claude_project, "hello", api=messages_api)

    assert run.result_text == "done", run.describe()
    [request] = messages_api.conversation("hello")
    assert any("UserPromptSubmit hook success: context-from-the-hook" in t
               for t in system_texts(request))


def test_background_agent_is_scripted_by_its_prompt_and_notifies_the_parent(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    spawn = tool_use("Agent", {"description": "count the files", "prompt": "count files please",
                               "subagent_type": "general-purpose"})
    script = Script({"delegate": [reply(spawn), reply("waiting"), reply("all done")],
                     "count files please": [reply("there are 3 files")]})

    def parent_has_answered_the_spawn(request: RecordedRequest) -> bool:
        return first_user_text(request) == "delegate" and assistant_turns(request) == 1

    def sub_agent_finishes_after_the_parent_turn(body: dict[str, Any]) -> Reply:
        # Otherwise the notification may ride along in the parent's second request.
        if first_user_text(body) == "count files please":
            messages_api.wait_for(parent_has_answered_the_spawn, timeout=10)
        return script(body)

    messages_api.script = sub_agent_finishes_after_the_parent_turn
    run = run_claude(claude_project, "delegate", api=messages_api,
                     extra_args=["--allowedTools", "Agent"])

    assert run.result_text == "all done", run.describe()
    assert len(messages_api.conversation("count files please")) == 1
    [note] = task_notifications(messages_api.conversation("delegate")[-1])
    assert "<result>there are 3 files</result>" in note


def test_stream_json_input_gives_one_result_per_user_turn(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    messages_api.script = Script({"turn one": [reply("first answer"), reply("second answer")]})

    run = run_claude(claude_project, ["turn one", "turn two"], api=messages_api)

    assert [r["result"] for r in run.of_type("result")] == ["first answer", "second answer"]
    assert len(messages_api.conversation("turn one")) == 2


def test_http_400_ends_the_run_with_an_api_error(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    messages_api.script = lambda body: Reply.error(400, "scripted refusal")

    run = run_claude(claude_project, "hello", api=messages_api)

    assert run.exit_code == 1, run.describe()
    assert run.result["is_error"] is True
    assert run.result["api_error_status"] == 400
    assert "scripted refusal" in run.result_text


def test_stalled_stream_holds_the_cli_until_the_server_stops(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with MessagesAPI(lambda body: Reply.stall(partial="half a thought")) as api:
        command = claude_command("hello", extra_args=["--include-partial-messages"])
        child = subprocess.Popen(command, cwd=project, env=claude_env(api, tmp_path / "home"),
                                 stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _read_until(child, lambda event: "half a thought" in json.dumps(event))
            api.stop()
            rest, _ = child.communicate(timeout=20)
        finally:
            kill_group(child.pid)
    [result] = [e for e in parse_events(rest) if e.get("type") == "result"]
    assert (result["is_error"], result["terminal_reason"]) == (True, "api_error"), result


def _read_until(child: subprocess.Popen[str], done: Callable[[dict[str, Any]], bool]) -> None:
    assert child.stdout is not None
    seen: list[dict[str, Any]] = []
    for line in child.stdout:
        seen.append(json.loads(line))
        if done(seen[-1]):
            return
    pytest.fail(f"the CLI exited before streaming the partial text: {seen[-3:]}")
