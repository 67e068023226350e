"""What ``hookrun profile`` will run, before it runs anything. Pure: no I/O.

Each hook needs a payload its matcher fires on: without ``--payload`` one is built per
matcher from the tools (or sources, triggers, ...) Claude Code sends, reusing a payload
already chosen where it fits. A hook no payload fires is skipped, and the plan says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.lib.matcher import match_field, matches, subject

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hookswarm.lib.hookconfig import HookSpec

_EXAMPLE_FILE = "hookrun-profile-example.txt"
_TOOL_INPUTS: dict[str, dict[str, Any]] = {
    "Bash": {"command": "true", "description": "hookrun profile"},
    "Write": {"file_path": _EXAMPLE_FILE, "content": "example\n"},
    "Edit": {"file_path": _EXAMPLE_FILE, "old_string": "example", "new_string": "sample"},
    "Read": {"file_path": _EXAMPLE_FILE},
    "Glob": {"pattern": "*.py"},
    "Grep": {"pattern": "TODO"},
    "NotebookEdit": {"notebook_path": "example.ipynb", "new_source": "print(1)"},
    "WebFetch": {"url": "https://example.com", "prompt": "summarize"},
    "WebSearch": {"query": "hookrun"},
    "Agent": {"description": "profile", "prompt": "say hi", "subagent_type": "general-purpose"},
}
_SUBJECTS: dict[str, tuple[str, ...]] = {
    "source": ("startup", "resume", "clear", "compact"),
    "reason": ("other", "clear", "logout", "prompt_input_exit"),
    "notification_type": ("permission_prompt", "idle_prompt"),
    "trigger": ("manual", "auto", "init"),
    "agent_type": ("general-purpose", "Explore", "Plan"),
    "load_reason": ("session_start",),
    "error": ("rate_limit", "server_error"),
}


class Planned(NamedTuple):
    """One payload and every hook it fires."""

    label: str
    payload: dict[str, Any]
    hooks: tuple[str, ...]


class Skipped(NamedTuple):
    name: str
    reason: str


class Plan(NamedTuple):
    """The payloads ``profile`` will send, and the hooks none of them fires."""

    event: str
    runs: list[Planned]
    skipped: list[Skipped]

    def as_json(self) -> dict[str, Any]:
        return {"event": self.event,
                "runs": [{"label": p.label, "hooks": list(p.hooks)} for p in self.runs],
                "skipped": [s._asdict() for s in self.skipped]}

    def lines(self, runs: int) -> list[str]:
        """The listing shown before anything runs."""
        out = [f"hookrun profile runs these {self.event} hooks {runs} time(s) each, for real "
               "(their side effects included):"]
        for planned in self.runs:
            out.append(f"  with {planned.label}: {', '.join(planned.hooks)}")
        out += [f"  skipped {s.name}: {s.reason}" for s in self.skipped]
        return out


def default_payload(event: str, cwd: str) -> dict[str, Any]:
    """The fields every payload of ``event`` carries."""
    payload: dict[str, Any] = {"hook_event_name": event, "session_id": "hookrun-profile",
                               "cwd": cwd, "transcript_path": ""}
    if event == "UserPromptSubmit":
        payload["prompt"] = "hookrun profile"
    if event == "PostToolBatch":
        payload["tool_calls"] = []
    return payload


def plan(event: str, hooks: Sequence[HookSpec], *, cwd: str,
         payload: Mapping[str, Any] | None = None) -> Plan:
    """The payloads to profile ``hooks`` with: ``payload`` alone, or one per matcher."""
    if payload is not None:
        given = {**payload, "hook_event_name": event}
        fired = tuple(h.name for h in hooks if matches(h.matcher, event, given))
        skipped = [Skipped(h.name, f"its matcher {h.matcher!r} does not match "
                                   f"{_describe(event, given)} in the --payload file")
                   for h in hooks if h.name not in fired]
        return Plan(event, [Planned("the --payload file", given, fired)] if fired else [],
                    skipped)
    chosen: list[dict[str, Any]] = []
    skipped = []
    for hook in hooks:
        if any(matches(hook.matcher, event, p) for p in chosen):
            continue
        built = _payload_for(event, hook.matcher, cwd)
        if built is None:
            skipped.append(Skipped(hook.name, _unmatched(event, hook.matcher)))
        else:
            chosen.append(built)
    runs = [Planned(_describe(event, p), p,
                    tuple(h.name for h in hooks if matches(h.matcher, event, p)))
            for p in chosen]
    return Plan(event, runs, skipped)


def _payload_for(event: str, matcher: str, cwd: str) -> dict[str, Any] | None:
    """A payload of ``event`` that ``matcher`` fires on, or None if none can be built."""
    base = default_payload(event, cwd)
    field = match_field(event)
    if field is None:
        return base
    for value in _candidates(field, matcher):
        payload = {**base, field: value, **_tool_fields(field, value)}
        if matches(matcher, event, payload):
            return payload
    return None


def _candidates(field: str, matcher: str) -> list[str]:
    known = list(_TOOL_INPUTS) if field == "tool_name" else list(_SUBJECTS.get(field, ()))
    words = [w.strip() for w in matcher.replace(",", "|").split("|")]
    return known + [w for w in words if w.replace("_", "").isalnum() and w not in known]


def _tool_fields(field: str, tool: str) -> dict[str, Any]:
    if field != "tool_name":
        return {}
    return {"tool_input": dict(_TOOL_INPUTS.get(tool, {})), "tool_use_id": "toolu_profile",
            "tool_response": {}}


def _describe(event: str, payload: Mapping[str, Any]) -> str:
    field = match_field(event)
    if field is None:
        return "a plain payload"
    value = subject(event, payload)
    return f"{field.replace('_name', '')} {value}" if value else f"no {field}"


def _unmatched(event: str, matcher: str) -> str:
    field = (match_field(event) or "").replace("_name", "")
    return (f"its matcher {matcher!r} fires on no {field} hookrun can build a payload for; "
            f"give one with --payload FILE")
