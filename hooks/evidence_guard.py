"""The evidence guard: hold a sub-agent to the files its prompt says it will produce.

An Agent (or legacy Task) prompt may declare ``[expects: src/calc.py, tests/test_calc.py]``.
The rule is in :mod:`evidence_rule`; this module reads payloads and the disk. Events:

- ``PreToolUse`` with matcher ``Agent|Task``: record the declaration and a snapshot of the
  files, keyed by the call's ``tool_use_id``, in the agent guard's per-session state;
- ``SubagentStop``: find the claim (through ``agent-<id>.meta.json``'s ``toolUseId`` next to
  the agent's transcript, else the transcript's first user message, which is the prompt) and
  check each file: it exists, is non-empty and changed since the spawn. Block the stop with
  a reason while one does not hold, up to ``max_blocks`` times; then let it stop and leave a
  note "unverified" for the parent, or "verified: N/N files" when all hold;
- ``TaskCreated`` / ``TaskCompleted`` (agent teams): the same, with the task's subject and
  description as the declaration; a blocked completion is exit 2, as Claude Code expects;
- ``UserPromptSubmit`` and ``PostToolBatch``: hand the waiting notes to the parent thread as
  context on its next event; a tool batch also drops the claims of spawns that were refused.

A spawn that declares nothing is left alone. As a hookrun ``call``: ``call =
"hookswarm.hooks.evidence_guard:check"``, ``options = { mode = "block", max_blocks = 2 }``. As a
plain command hook: ``python -m hookswarm.hooks.evidence_guard``. Mode: ``options.mode``, else
``$HOOKSWARM_EVIDENCE_GUARD``, else ``block``; ``warn`` never blocks (the parent is told at
once), ``off`` does nothing. ``max_blocks``: the option, else ``$HOOKSWARM_EVIDENCE_BLOCKS``,
else 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from hookswarm.hooks import agent_guard_state as state
from hookswarm.hooks import command_hook
from hookswarm.hooks import evidence_rule as rule
from hookswarm.hooks.agent_guard_rule import MAIN, Session, is_agent_tool, thread_key
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.protocol import Block, block, context

MODES = ("block", "warn", "off")
ENV_MODE = "HOOKSWARM_EVIDENCE_GUARD"
ENV_BLOCKS = "HOOKSWARM_EVIDENCE_BLOCKS"
OPTIONS = frozenset({"mode", "max_blocks"})
TASK_PREFIX = rule.TASK_PREFIX
HEAD_BYTES = 256 * 1024
NOTE_EVENTS = ("UserPromptSubmit", "PostToolBatch")

# The hookrun.toml entries that turn the guard on, for `hookrun install`'s table of guards. The
# mode and the block limit act where a stop is judged, so they sit on those two entries.
_CALL = "hookswarm.hooks.evidence_guard:check"
_JUDGES = {"options": {"mode": "block", "max_blocks": rule.DEFAULT_MAX_BLOCKS}}
HOOKRUN_ENTRIES: tuple[Mapping[str, Any], ...] = (
    {"name": "evidence-guard-spawn", "event": "PreToolUse", "matcher": "Agent|Task",
     "call": _CALL},
    {"name": "evidence-guard-stop", "event": "SubagentStop", "call": _CALL, **_JUDGES},
    {"name": "evidence-guard-task-created", "event": "TaskCreated", "call": _CALL},
    {"name": "evidence-guard-task-completed", "event": "TaskCompleted", "call": _CALL, **_JUDGES},
    {"name": "evidence-guard-batch", "event": "PostToolBatch", "call": _CALL},
    {"name": "evidence-guard-turn", "event": "UserPromptSubmit", "call": _CALL},
)

Answer = dict[str, Any] | None


class Settings(NamedTuple):
    mode: str = "block"
    max_blocks: int = rule.DEFAULT_MAX_BLOCKS


class Stopping(NamedTuple):
    """Who is stopping: the claim's lookup keys, the agent's last words, how to answer."""

    agent_id: str
    spawn_key: str
    prompt_digest: str
    claimed: str
    declared: tuple[str, ...] = ()
    cwd: str = ""
    name: str = ""


def check(payload: dict[str, Any], **options: Any) -> Answer:
    """hookrun ``call`` entry; raises :class:`Block` to refuse a TaskCompleted."""
    return handle(payload, settings=resolve(options, os.environ), environ=os.environ)


def resolve(options: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Options, else the environment, else ``block`` with 2 blocks; bad values name the fix."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(f"the evidence guard has no option '{unknown[0]}' (it takes: "
                          "mode, max_blocks)", key=unknown[0])
    mode = options.get("mode", environ.get(ENV_MODE) or "block")
    if mode not in MODES:
        where = "options.mode" if "mode" in options else f"${ENV_MODE}"
        raise ConfigError(f"{where} is {mode!r}; use one of: {', '.join(MODES)}", key="mode")
    return Settings(str(mode), _max_blocks(options, environ))


def _max_blocks(options: Mapping[str, Any], environ: Mapping[str, str]) -> int:
    if "max_blocks" in options:
        value, where = options["max_blocks"], "options.max_blocks"
    else:
        value, where = environ.get(ENV_BLOCKS) or rule.DEFAULT_MAX_BLOCKS, f"${ENV_BLOCKS}"
    try:
        count = int(value) if not isinstance(value, (bool, float)) else -1
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ConfigError(f"{where} is {value!r}; use a whole number of blocks, 0 or more",
                          key="max_blocks")
    return count


def handle(payload: Mapping[str, Any], *, settings: Settings,
           environ: Mapping[str, str]) -> Answer:
    """Dispatch one hook event; the state is the agent guard's, in ``.swarm/guard/``."""
    handler = _HANDLERS.get(str(payload.get("hook_event_name")))
    place = state.place_of(payload, environ)
    if settings.mode == "off" or handler is None or place is None:
        return None
    return handler(payload, settings, place)


# ---------------------------------------------------------------- spawns


def _spawn(payload: Mapping[str, Any], settings: Settings, place: state.Place) -> Answer:
    fields = payload.get("tool_input")
    if not is_agent_tool(payload.get("tool_name")) or not isinstance(fields, Mapping):
        return None
    prompt = _text(fields.get("prompt"))
    paths = rule.declared(prompt, fields.get("description"))
    if paths:
        key = _text(payload.get("tool_use_id")) or f"prompt:{digest(prompt)}"
        _declare(place, key, thread_key(payload), _text(fields.get("description")), paths,
                 _cwd(payload), digest(prompt))
    return None


def _task_created(payload: Mapping[str, Any], settings: Settings, place: state.Place) -> Answer:
    paths = rule.declared(payload.get("task_subject"), payload.get("task_description"))
    if paths:
        _declare(place, TASK_PREFIX + _text(payload.get("task_id")), MAIN,
                 _text(payload.get("task_subject")), paths, _cwd(payload), "")
    return None


def _declare(place: state.Place, key: str, parent: str, name: str, paths: tuple[str, ...],
             cwd: str, prompt_digest: str) -> None:
    before = snapshot(paths, cwd)

    def change(session: Session) -> tuple[Session, None]:
        claim = rule.Claim(key, parent, name or key, paths, before, prompt_digest,
                           seq=session.seq + 1)
        evidence = rule.declare(session.evidence, claim)
        return session._replace(seq=session.seq + 1, evidence=evidence), None

    command_hook.update(place, change, _note)


# ---------------------------------------------------------------- stops


def _subagent_stop(payload: Mapping[str, Any], settings: Settings, place: state.Place) -> Answer:
    known = _known(place)
    if known is None or not known.evidence.claims:
        return None
    transcript = _text(payload.get("agent_transcript_path"))
    stopping = Stopping(_text(payload.get("agent_id")), spawn_key_of(transcript), "",
                        _text(payload.get("last_assistant_message")))
    if not stopping.spawn_key:
        stopping = stopping._replace(prompt_digest=digest(first_prompt(transcript)))
    ruling = _judge(place, known, stopping, settings)
    return block(ruling.reason) if ruling is not None and ruling.block else None


def _task_completed(payload: Mapping[str, Any], settings: Settings,
                    place: state.Place) -> Answer:
    known = _known(place)
    task_id = _text(payload.get("task_id"))
    paths = rule.declared(payload.get("task_subject"), payload.get("task_description"))
    stopping = Stopping(TASK_PREFIX + task_id, TASK_PREFIX + task_id, "",
                        f"task {task_id} is complete", paths, _cwd(payload),
                        _text(payload.get("task_subject")))
    ruling = None if known is None else _judge(place, known, stopping, settings)
    if ruling is not None and ruling.block:
        raise Block(ruling.reason)
    return None


def _known(place: state.Place) -> Session | None:
    known = state.peek(place.directory, place.name)
    if known is None:
        _note(f"state file {os.path.join(place.directory, place.name)}.json is corrupt or "
              "unreadable; allowing the stop")
    return known


def _judge(place: state.Place, known: Session, stopping: Stopping,
           settings: Settings) -> rule.Ruling | None:
    claim = _claim_of(known.evidence, stopping)
    if claim is None:
        return None
    after = tuple(_mark(mark.path) for mark in claim.before)

    def change(session: Session) -> tuple[Session, rule.Ruling | None]:
        current = _claim_of(session.evidence, stopping)
        if current is None or current.paths != claim.paths:
            return session, None
        ruling = rule.rule(current, after, claimed=stopping.claimed, mode=settings.mode,
                           max_blocks=settings.max_blocks)
        evidence = (rule.blocked(session.evidence, current, stopping.agent_id) if ruling.block
                    else rule.settle(session.evidence, current, ruling.note))
        return session._replace(evidence=evidence), ruling

    return command_hook.update(place, change, _note)


def _claim_of(evidence: rule.Evidence, stopping: Stopping) -> rule.Claim | None:
    found = rule.find(evidence, agent_id=stopping.agent_id, spawn_key=stopping.spawn_key,
                      prompt_digest=stopping.prompt_digest)
    if found is not None or not stopping.declared:
        return found
    return rule.Claim(stopping.spawn_key, MAIN, stopping.name or stopping.spawn_key,
                      stopping.declared, snapshot_unknown(stopping.declared, stopping.cwd))


# ---------------------------------------------------------------- notes for the parent


def _deliver(payload: Mapping[str, Any], settings: Settings, place: state.Place) -> Answer:
    """Hand the thread its notes; on PostToolBatch also forget spawns that never started."""
    thread, refused = thread_key(payload), refused_spawns(payload.get("tool_calls"))
    known = state.peek(place.directory, place.name)
    if known is not None and not known.evidence.notes.get(thread) and refused.isdisjoint(
            known.evidence.claims):
        return None

    def change(session: Session) -> tuple[Session, tuple[str, ...]]:
        evidence, notes = rule.take_notes(rule.forget(session.evidence, refused), thread)
        return session._replace(evidence=evidence), notes

    notes = command_hook.update(place, change, _note)
    return context(str(payload["hook_event_name"]), "\n".join(notes)) if notes else None


def refused_spawns(tool_calls: object) -> frozenset[str]:
    """The Agent calls of a tool batch that were refused: their response is an error string."""
    calls = tool_calls if isinstance(tool_calls, list) else []
    return frozenset(_text(c.get("tool_use_id")) for c in calls if isinstance(c, Mapping)
                     and is_agent_tool(c.get("tool_name"))
                     and isinstance(c.get("tool_response"), str))


_HANDLERS: dict[str, Callable[[Mapping[str, Any], Settings, state.Place], Answer]] = {
    "PreToolUse": _spawn,
    "SubagentStop": _subagent_stop,
    "TaskCreated": _task_created,
    "TaskCompleted": _task_completed,
    **dict.fromkeys(NOTE_EVENTS, _deliver),
}


# ---------------------------------------------------------------- the disk


def snapshot(paths: tuple[str, ...], cwd: str) -> tuple[rule.Mark, ...]:
    """Each declared file as it is now; relative paths are under ``cwd``."""
    return tuple(_mark(os.path.join(cwd, path)) for path in paths)


def snapshot_unknown(paths: tuple[str, ...], cwd: str) -> tuple[rule.Mark, ...]:
    """No snapshot was taken (TaskCreated was not wired): judge existence and size only."""
    return tuple(rule.Mark(os.path.join(cwd, path)) for path in paths)


def _mark(path: str) -> rule.Mark:
    try:
        found = os.stat(path)
    except OSError:
        return rule.Mark(path)
    return rule.Mark(path, True, found.st_size, found.st_mtime_ns, found.st_ctime_ns,
                     found.st_ino)


def spawn_key_of(transcript: str) -> str:
    """The spawning call's ``tool_use_id`` from ``agent-<id>.meta.json`` beside the transcript.

    Claude Code 2.1.328 writes that file when the agent starts, before its transcript.
    """
    if not transcript.endswith(".jsonl"):
        return ""
    try:
        with open(transcript[:-len(".jsonl")] + ".meta.json", "rb") as handle:
            meta = json.loads(handle.read(HEAD_BYTES))
    except (OSError, ValueError, RecursionError):
        return ""
    return _text(meta.get("toolUseId")) if isinstance(meta, dict) else ""


def first_prompt(transcript: str) -> str:
    """The first user message of a sub-agent transcript (its prompt), reading only its head."""
    try:
        with open(transcript, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return ""
    for line in head.splitlines():
        message = _user_message(line)
        if message is not None:
            return message
    return ""


def _user_message(line: bytes) -> str | None:
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    is_user = isinstance(entry, dict) and entry.get("type") == "user"
    message = entry.get("message") if is_user else None
    return _own_text(message.get("content")) if isinstance(message, dict) else None


def _own_text(content: object) -> str | None:
    """A message's text, leaving out the ``<system-reminder>`` blocks the CLI adds."""
    if isinstance(content, list):
        texts = [_text(block.get("text")) for block in content if isinstance(block, dict)]
        return "\n".join(t for t in texts if not t.lstrip().startswith("<system-reminder>"))
    return content if isinstance(content, str) else None


def digest(prompt: str) -> str:
    import hashlib  # only stops without meta.json and declaring spawns need it

    return hashlib.sha256(prompt.strip().encode()).hexdigest()[:32] if prompt.strip() else ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _cwd(payload: Mapping[str, Any]) -> str:
    return _text(payload.get("cwd")) or os.getcwd()


# ---------------------------------------------------------------- state and diagnostics


_note = command_hook.noter("hookswarm evidence guard")


def main() -> int:
    """Command-hook entry: answer on stdout; exit 1 on a config error, 2 refusing a task."""
    return command_hook.main(check, _note)


if __name__ == "__main__":
    raise SystemExit(main())
