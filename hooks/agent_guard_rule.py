"""The agent guard's rule: pure functions over each thread's spawn history. No I/O, no clock.

A *thread* is the main conversation or one sub-agent (keyed by ``agent_id``). Its history is
tiny: the summary of its last finished assistant message (how many agents it started in the
background and in the foreground) and an *epoch* that moves on whenever new input reaches the
model (a user prompt, a ``<task-notification>``, a new ``prompt_id``).

One-at-a-time spawning is: the last finished message of this epoch started exactly one agent, in
the background, and the current message starts an agent again. The earlier agent's result
cannot have reached the model yet, so the two spawns did not depend on each other and belonged
in one message. A spawn that depends on something else carries the ``[depends-on: ...]`` marker.

The records are ``NamedTuple``s rather than dataclasses: the guard runs as a command hook on
every Agent call and every tool batch, and ``dataclasses`` costs ~8 ms of imports there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from hookswarm.hooks.evidence_rule import Evidence

AGENT_TOOLS = frozenset({"Agent", "Task"})
MAIN = "main"
MARKER = "[depends-on:"
MAX_THREADS = 64
MAX_NAMES = 3
MAX_NAME_CHARS = 60
MAX_PENDING = 1000

BACKGROUND = "background"
FOREGROUND = "foreground"
FAILED = "failed"

# How the model-facing tool_result of an agent started in the background begins in Claude Code
# 2.1.328 ("Async agent launched successfully. ..."). Only the start of the first block counts,
# so a foreground agent's report that quotes it is not mistaken for one; anything else counts
# as not-background, so unknown wording fails open.
_ASYNC_START = "async agent launched"

NO_PREVIOUS = "no earlier message in this thread"
NEW_INPUT = "new input reached the model since the last message"
AFTER_FOREGROUND = "the last message ran an agent in the foreground"
NOT_SINGLE = "the last message did not start exactly one agent"
MARKED = "the spawn carries the [depends-on: ...] marker"
SEQUENTIAL = "one-at-a-time spawning"


class Spawn(NamedTuple):
    """One Agent/Task call as PreToolUse shows it."""

    description: str
    marked: bool


class Outcome(NamedTuple):
    """How one Agent/Task call of a finished message ended: background, foreground or failed."""

    kind: str
    description: str


class Message(NamedTuple):
    """The summary of a thread's last finished assistant message."""

    background: int
    foreground: int
    epoch: int
    names: tuple[str, ...] = ()


class Thread(NamedTuple):
    """One thread's history; ``open_epoch`` is set while a message's Agent calls are running."""

    epoch: int = 0
    prompt_id: str = ""
    open_epoch: int | None = None
    pending: int = 0
    last: Message | None = None
    requested: int = 0
    spawned: int = 0
    touched: int = 0


class Session(NamedTuple):
    """Every thread of one Claude Code session; ``seq`` counts changes (for LRU eviction).

    ``evidence`` is the evidence guard's part of the same state (declared spawns and notes).
    """

    seq: int = 0
    threads: Mapping[str, Thread] = {}
    evidence: Evidence = Evidence()

    def get(self, key: str) -> Thread:
        return self.threads.get(key, Thread())

    def put(self, key: str, thread: Thread) -> Session:
        seq = self.seq + 1
        threads = {**self.threads, key: thread._replace(touched=seq)}
        return self._replace(seq=seq, threads=_newest(threads, MAX_THREADS))


class Verdict(NamedTuple):
    """Whether a spawn is one-at-a-time, why, and the earlier agent's name for the message."""

    deny: bool
    why: str
    names: tuple[str, ...] = ()


def _newest(threads: Mapping[str, Thread], limit: int) -> dict[str, Thread]:
    if len(threads) <= limit:
        return dict(threads)
    keep = sorted(threads.items(), key=lambda item: item[1].touched)[-limit:]
    return dict(keep)


# ---------------------------------------------------------------- reading payloads


def thread_key(payload: Mapping[str, Any]) -> str:
    """``agent_id`` inside a sub-agent, else the main thread."""
    agent_id = payload.get("agent_id")
    return agent_id if isinstance(agent_id, str) and agent_id else MAIN


def is_agent_tool(name: object) -> bool:
    return name in AGENT_TOOLS


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def spawn_of(tool_input: object) -> Spawn:
    """The facts the rule needs from an Agent call's input."""
    fields = tool_input if isinstance(tool_input, Mapping) else {}
    description = _text(fields.get("description"))
    marked = any(MARKER in _text(fields.get(key)).lower() for key in ("prompt", "description"))
    return Spawn(description, marked)


def outcome_of(tool_input: object, tool_response: object) -> Outcome:
    """Classify a finished Agent call from PostToolBatch's model-facing ``tool_response``.

    A bare string is an error (a hook's denial, a refused spawn). Content blocks (or the
    structured PostToolUse form) are a started agent: background only on positive evidence,
    since sub-agents run their own spawns in the foreground even with ``run_in_background``
    unset.
    """
    description = spawn_of(tool_input).description
    if isinstance(tool_response, str) or tool_response is None:
        return Outcome(FAILED, description)
    return Outcome(BACKGROUND if _is_async(tool_response) else FOREGROUND, description)


def _is_async(tool_response: object) -> bool:
    if isinstance(tool_response, Mapping):
        if tool_response.get("isAsync") is True or tool_response.get("status") == "async_launched":
            return True
        inner = tool_response.get("content", tool_response.get("text"))
        return inner is not None and _is_async(inner)
    if isinstance(tool_response, list):
        return bool(tool_response) and _is_async(tool_response[0])
    if isinstance(tool_response, str):
        return tool_response.lstrip().lower().startswith(_ASYNC_START)
    return False


def batch_outcomes(tool_calls: object) -> list[Outcome]:
    """The Agent/Task calls of a PostToolBatch payload's ``tool_calls``, classified."""
    calls = tool_calls if isinstance(tool_calls, list) else []
    return [outcome_of(c.get("tool_input"), c.get("tool_response"))
            for c in calls if isinstance(c, Mapping) and is_agent_tool(c.get("tool_name"))]


# ---------------------------------------------------------------- the decision


def decide(last: Message | None, epoch: int, spawn: Spawn) -> Verdict:
    """Deny a spawn that follows a message which started exactly one background agent."""
    if last is None:
        return Verdict(False, NO_PREVIOUS)
    if last.epoch != epoch:
        return Verdict(False, NEW_INPUT)
    if last.foreground:
        return Verdict(False, AFTER_FOREGROUND)
    if last.background != 1:
        return Verdict(False, NOT_SINGLE)
    if spawn.marked:
        return Verdict(False, MARKED)
    return Verdict(True, SEQUENTIAL, last.names)


# ---------------------------------------------------------------- transitions


def see_prompt(thread: Thread, prompt_id: object) -> Thread:
    """A ``prompt_id`` the thread has not seen means a new user prompt: a new epoch.

    A prompt after another one also ends a message whose tool batch never finished (the user
    interrupted it): mid-turn input keeps its ``prompt_id``, so no sibling call follows.
    """
    if not isinstance(prompt_id, str) or not prompt_id or prompt_id == thread.prompt_id:
        return thread
    moved = thread._replace(epoch=thread.epoch + 1, prompt_id=prompt_id)
    return moved._replace(open_epoch=None, pending=0) if thread.prompt_id else moved


def new_input(thread: Thread, prompt_id: object) -> Thread:
    """UserPromptSubmit: a prompt or a ``<task-notification>`` reached the model."""
    seen = see_prompt(thread, prompt_id)
    return seen if seen is not thread else thread._replace(epoch=thread.epoch + 1)


def spawn(thread: Thread, call: Spawn) -> tuple[Thread, Verdict]:
    """PreToolUse for an Agent call: judge it against the last message, then record it.

    Every call of one message is judged against the epoch of the message's first call, so
    sibling calls get the same verdict even if new input arrives while they run.
    """
    opened = thread.epoch if thread.open_epoch is None else thread.open_epoch
    verdict = decide(thread.last, opened, call)
    return thread._replace(open_epoch=opened, pending=min(thread.pending + 1, MAX_PENDING),
                           requested=thread.requested + 1), verdict


def finish_message(thread: Thread, outcomes: Iterable[Outcome]) -> Thread:
    """PostToolBatch: the message is over; remember what it started."""
    outcomes = list(outcomes)
    background = [o.description for o in outcomes if o.kind == BACKGROUND]
    foreground = sum(1 for o in outcomes if o.kind == FOREGROUND)
    epoch = thread.epoch if thread.open_epoch is None else thread.open_epoch
    names = tuple(name[:MAX_NAME_CHARS] for name in background[:MAX_NAMES])
    last = Message(len(background), foreground, epoch, names)
    return thread._replace(last=last, open_epoch=None, pending=0,
                           spawned=thread.spawned + len(background) + foreground)


def batch_changes_nothing(thread: Thread, outcomes: Sequence[Outcome]) -> bool:
    """A tool batch without agents after a message that could not lead to a denial.

    Such a batch leaves every later decision unchanged, so the guard need not write state.
    """
    if outcomes or thread.open_epoch is not None:
        return False
    last = thread.last
    return last is None or last.background != 1 or last.foreground > 0


# ---------------------------------------------------------------- what the model is told


def guidance(verdict: Verdict) -> str:
    """The deny reason: what happened and exactly what to do instead."""
    return (f"hookswarm agent guard: {_what_happened(verdict)} Agents run in the background, "
            "so one Agent call per message only adds round trips. Put every remaining "
            "independent Agent call into ONE message now (several Agent tool calls in the same "
            "response); they run in parallel. If this agent needs an earlier agent's result, "
            "wait for that agent's completion notification first (or next time run the earlier "
            "one with run_in_background: false). If it truly depends on something you learned "
            "since your last message, resend it with its prompt starting "
            "`[depends-on: <what it needs>]`.")


def warning(verdict: Verdict) -> str:
    """The warn-mode note: the same advice, the spawn itself goes ahead."""
    return (f"hookswarm agent guard (warning only): {_what_happened(verdict)} Next time put all "
            "independent Agent calls into one message so they start together; mark a spawn that "
            "really depends on earlier work with `[depends-on: <what it needs>]` in its prompt.")


def _what_happened(verdict: Verdict) -> str:
    named = ", ".join(f"'{name}'" for name in verdict.names)
    earlier = f" ({named})" if named else ""
    return (f"your previous message started a single background agent{earlier} and this "
            "message starts another one, with nothing new to wait for in between.")
