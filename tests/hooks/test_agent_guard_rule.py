"""The agent guard's pure rule, as tables: classification, the decision, and event sequences."""

from __future__ import annotations

from typing import Any

import pytest

from hookswarm.hooks import agent_guard_rule as rule
from hookswarm.hooks.agent_guard_rule import (
    AFTER_FOREGROUND,
    BACKGROUND,
    FAILED,
    FOREGROUND,
    MARKED,
    NEW_INPUT,
    NO_PREVIOUS,
    NOT_SINGLE,
    SEQUENTIAL,
    Message,
    Outcome,
    Session,
    Spawn,
    Thread,
)

# What Claude Code 2.1.328 put in PostToolBatch's tool_response (trimmed).
ASYNC = [{"type": "text", "text": "Async agent launched successfully. (This tool result is "
          "internal metadata.)\nagentId: a9bd\nThe agent is working in the background."}]
HAND_BACK = [{"type": "text", "text": "[Subagent hand-back] The text below is the final report "
              "of a subagent.\n  done\nagentId: a647"}]
DENIED = "PreToolUse:Agent hook error: hookswarm agent guard: ..."


@pytest.mark.parametrize(("tool_input", "response", "kind"), [
    ({"description": "a"}, ASYNC, BACKGROUND),
    ({"description": "a", "run_in_background": True}, ASYNC, BACKGROUND),
    ({"description": "a", "run_in_background": False}, HAND_BACK, FOREGROUND),
    # inside a sub-agent an unset run_in_background runs in the foreground
    ({"description": "a"}, HAND_BACK, FOREGROUND),
    ({"description": "a"}, DENIED, FAILED),
    ({"description": "a"}, None, FAILED),
    # the structured (PostToolUse) form
    ({"description": "a"}, {"isAsync": True, "status": "async_launched"}, BACKGROUND),
    ({"description": "a"}, {"status": "completed", "content": HAND_BACK}, FOREGROUND),
    ({"description": "a"}, {"content": ASYNC}, BACKGROUND),
    # a report that quotes the notice is still a foreground result
    ({"description": "a"}, [{"type": "text", "text": "[Subagent hand-back] ...\n  Async agent "
                             "launched successfully. The agent is working in the background."}],
     FOREGROUND),
    ({"description": "a"}, [], FOREGROUND),
    # unknown wording fails open: not background
    ({"description": "a"}, [{"type": "text", "text": "started"}], FOREGROUND),
    ("not a dict", ASYNC, BACKGROUND),
])
def test_outcome_of_classifies_the_model_facing_response(
        tool_input: Any, response: Any, kind: str) -> None:
    assert rule.outcome_of(tool_input, response).kind == kind


@pytest.mark.parametrize(("tool_input", "spawn"), [
    ({"description": "scan", "prompt": "look"}, Spawn("scan", False)),
    ({"description": "scan", "prompt": "[depends-on: scan results] review"}, Spawn("scan", True)),
    ({"description": "scan", "prompt": "review\n[Depends-On: the build]"}, Spawn("scan", True)),
    ({"description": "[depends-on: a] b", "prompt": "x"}, Spawn("[depends-on: a] b", True)),
    ({"description": "scan", "prompt": "depends on: nothing"}, Spawn("scan", False)),
    ({"prompt": 3}, Spawn("", False)),
    (None, Spawn("", False)),
])
def test_spawn_of_reads_description_and_marker(tool_input: Any, spawn: Spawn) -> None:
    assert rule.spawn_of(tool_input) == spawn


def test_batch_outcomes_keeps_agent_and_task_calls_only() -> None:
    calls = [
        {"tool_name": "Agent", "tool_input": {"description": "a"}, "tool_response": ASYNC},
        {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_response": "x"},
        {"tool_name": "Task", "tool_input": {"description": "t"}, "tool_response": HAND_BACK},
        "garbage",
    ]
    assert rule.batch_outcomes(calls) == [Outcome(BACKGROUND, "a"), Outcome(FOREGROUND, "t")]
    assert rule.batch_outcomes(None) == []


@pytest.mark.parametrize(("payload", "key"), [
    ({"agent_id": "a7f0"}, "a7f0"),
    ({}, rule.MAIN),
    ({"agent_id": ""}, rule.MAIN),
    ({"agent_id": 5}, rule.MAIN),
])
def test_thread_key(payload: dict[str, Any], key: str) -> None:
    assert rule.thread_key(payload) == key


PLAIN, MARK = Spawn("b", False), Spawn("b", True)


@pytest.mark.parametrize(("last", "epoch", "spawn", "deny", "why"), [
    (None, 0, PLAIN, False, NO_PREVIOUS),
    (Message(1, 0, 1), 2, PLAIN, False, NEW_INPUT),
    (Message(1, 1, 1), 1, PLAIN, False, AFTER_FOREGROUND),
    (Message(0, 1, 1), 1, PLAIN, False, AFTER_FOREGROUND),
    (Message(0, 0, 1), 1, PLAIN, False, NOT_SINGLE),
    (Message(3, 0, 1), 1, PLAIN, False, NOT_SINGLE),
    (Message(1, 0, 1), 1, MARK, False, MARKED),
    (Message(1, 0, 1, ("a",)), 1, PLAIN, True, SEQUENTIAL),
])
def test_decide(last: Message | None, epoch: int, spawn: Spawn, deny: bool, why: str) -> None:
    verdict = rule.decide(last, epoch, spawn)
    assert (verdict.deny, verdict.why) == (deny, why)


# ---------------------------------------------------------------- event sequences
#
# Each step: ("spawn", description[, marked]) -> records the verdict, ("batch", kinds...),
# ("prompt", prompt_id) for a payload's prompt_id, ("input",) for UserPromptSubmit.
# The table lists the verdicts of the spawns in order: "allow" or "deny".

def bg(description: str = "x") -> Outcome:
    return Outcome(BACKGROUND, description)


def fg(description: str = "x") -> Outcome:
    return Outcome(FOREGROUND, description)


def failed(description: str = "x") -> Outcome:
    return Outcome(FAILED, description)


def play(steps: list[tuple[Any, ...]]) -> list[str]:
    thread, verdicts = Thread(), []
    for step in steps:
        if step[0] == "spawn":
            thread, verdict = rule.spawn(thread, Spawn(step[1], len(step) > 2 and step[2]))
            verdicts.append("deny" if verdict.deny else "allow")
        elif step[0] == "batch":
            thread = rule.finish_message(thread, step[1:])
        elif step[0] == "prompt":
            thread = rule.see_prompt(thread, step[1])
        else:
            thread = rule.new_input(thread, "p1")
    return verdicts


SEQUENCES = {
    "three agents in one message": (
        [("spawn", "a"), ("spawn", "b"), ("spawn", "c"), ("batch", bg(), bg(), bg())],
        ["allow"] * 3),
    "one agent per message, same turn": (
        [("spawn", "a"), ("batch", bg()), ("spawn", "b")],
        ["allow", "deny"]),
    "denied, then the rest in one message": (
        [("spawn", "a"), ("batch", bg()), ("spawn", "b"), ("batch", failed()),
         ("spawn", "b"), ("spawn", "c"), ("batch", bg(), bg())],
        ["allow", "deny", "allow", "allow"]),
    "every sibling of a denied message is denied": (
        [("spawn", "a"), ("batch", bg()), ("spawn", "b"), ("input",), ("spawn", "c")],
        ["allow", "deny", "deny"]),
    "after a foreground agent": (
        [("spawn", "a"), ("batch", fg()), ("spawn", "b")],
        ["allow", "allow"]),
    "after a background and a foreground agent": (
        [("spawn", "a"), ("spawn", "b"), ("batch", bg(), fg()), ("spawn", "c")],
        ["allow", "allow", "allow"]),
    "with the dependency marker": (
        [("spawn", "a"), ("batch", bg()), ("spawn", "b", True)],
        ["allow", "allow"]),
    "after several agents": (
        [("spawn", "a"), ("spawn", "b"), ("batch", bg(), bg()), ("spawn", "c")],
        ["allow", "allow", "allow"]),
    "a message without agents in between": (
        [("prompt", "p1"), ("spawn", "a"), ("batch", bg()), ("batch",), ("spawn", "b")],
        ["allow", "allow"]),
    "a new prompt_id is a new turn": (
        [("prompt", "p1"), ("spawn", "a"), ("batch", bg()), ("prompt", "p2"), ("spawn", "b")],
        ["allow", "allow"]),
    "a new turn after a message without its tool batch (interrupted)": (
        [("prompt", "p1"), ("spawn", "a"), ("batch", bg()), ("spawn", "b", True),
         ("prompt", "p2"), ("spawn", "c")],
        ["allow", "allow", "allow"]),
    "the same prompt_id is the same turn": (
        [("prompt", "p1"), ("spawn", "a"), ("batch", bg()), ("prompt", "p1"), ("spawn", "b")],
        ["allow", "deny"]),
    "a task-notification between the messages": (
        [("prompt", "p1"), ("spawn", "a"), ("batch", bg()), ("input",), ("spawn", "b")],
        ["allow", "allow"]),
    "input that arrives while the message's tools run": (
        [("spawn", "a"), ("input",), ("batch", bg()), ("spawn", "b")],
        ["allow", "allow"]),
    "the spawn after a denied one-agent message": (
        [("spawn", "a"), ("batch", bg()), ("spawn", "b"), ("batch", failed()),
         ("spawn", "c"), ("batch", bg()), ("spawn", "d")],
        ["allow", "deny", "allow", "deny"]),
    "a failed spawn next to one background agent": (
        [("spawn", "a"), ("spawn", "b"), ("batch", bg(), failed()), ("spawn", "c")],
        ["allow", "allow", "deny"]),
}


@pytest.mark.parametrize(("steps", "verdicts"), list(SEQUENCES.values()), ids=list(SEQUENCES))
def test_sequences(steps: list[tuple[Any, ...]], verdicts: list[str]) -> None:
    assert play(steps) == verdicts


def test_spawn_counts_requests_and_finish_counts_started_agents() -> None:
    thread, _ = rule.spawn(Thread(), Spawn("a", False))
    thread, _ = rule.spawn(thread, Spawn("b", False))
    assert (thread.pending, thread.requested, thread.open_epoch) == (2, 2, 0)
    thread = rule.finish_message(thread, [bg("a"), fg("b"), failed("c")])
    assert (thread.pending, thread.spawned, thread.open_epoch) == (0, 2, None)
    assert thread.last == Message(1, 1, 0, ("a",))


def test_finish_message_bounds_the_names_it_keeps() -> None:
    thread = rule.finish_message(Thread(), [bg("n" * 500)] * 10)
    assert thread.last is not None
    assert len(thread.last.names) == rule.MAX_NAMES
    assert all(len(name) == rule.MAX_NAME_CHARS for name in thread.last.names)


@pytest.mark.parametrize(("thread", "outcomes", "unchanged"), [
    (Thread(), [], True),
    (Thread(last=Message(0, 0, 0)), [], True),
    (Thread(last=Message(2, 0, 0)), [], True),
    (Thread(last=Message(1, 1, 0)), [], True),
    (Thread(last=Message(1, 0, 0)), [], False),
    (Thread(open_epoch=0), [], False),
    (Thread(), [bg()], False),
])
def test_batch_changes_nothing(thread: Thread, outcomes: list[Outcome], unchanged: bool) -> None:
    assert rule.batch_changes_nothing(thread, outcomes) is unchanged


def test_new_input_moves_the_epoch_once_per_prompt() -> None:
    thread = rule.new_input(Thread(), "p1")
    assert (thread.epoch, thread.prompt_id) == (1, "p1")
    assert rule.see_prompt(thread, "p1") == thread
    assert rule.new_input(thread, "p1").epoch == 2
    assert rule.see_prompt(thread, None) == thread


def test_session_keeps_the_most_recently_used_threads() -> None:
    session = Session()
    for index in range(rule.MAX_THREADS + 10):
        session = session.put(f"agent-{index}", Thread())
    session = session.put("agent-0", Thread(epoch=5))
    assert len(session.threads) == rule.MAX_THREADS
    assert session.get("agent-0").epoch == 5
    assert "agent-1" not in session.threads
    assert f"agent-{rule.MAX_THREADS + 9}" in session.threads
    assert session.get("unknown") == Thread()


def test_guidance_names_the_earlier_agent_and_says_what_to_do() -> None:
    verdict = rule.decide(Message(1, 0, 0, ("scan api",)), 0, PLAIN)
    text = rule.guidance(verdict)
    assert "'scan api'" in text
    assert "ONE message" in text
    assert "[depends-on:" in text
    assert "run_in_background: false" in text
    assert "[depends-on:" in rule.warning(verdict)
