"""Typed models of the JSON that Claude Code sends to hooks, for people who write ``call`` hooks.

``parse_payload(payload)`` returns the model for the payload's ``hook_event_name``; each model
is named after its event (``PreToolUse``, ``Stop``, ...), and events this module does not know
yet get an :class:`UnknownEvent`. Check which one you got with ``isinstance``. Field names,
and which fields are optional, follow the hook input schemas of Claude Code 2.1.328. Fields
that Claude Code adds later are kept, not rejected: read them from ``payload.model_extra``.
Enumerated values (``source``, ``reason``, ``trigger``, ...) are plain strings, because new
values appear without notice.

Importing this module imports pydantic (about 0.1 s), more start-up time than a whole
``hookrun run`` may spend, so hookrun never imports it: only the hooks that ask for it pay.
Models are built on first use (``defer_build``), so a hook pays only for its own event's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from hookswarm.lib.errors import HookswarmError
from hookswarm.lib.protocol import AGENT_TOOL_NAMES


class PayloadError(HookswarmError, ValueError):
    """A payload that does not have the fields its event should carry."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class Effort(_Model):
    """The reasoning effort of the current turn (``"low"`` ... ``"max"``)."""

    level: str


class McpServer(_Model):
    """The MCP server behind an ``mcp__<server>__<tool>`` tool."""

    name: str
    source: str


class Upstream(_Model):
    """What one of a hook's ``after`` dependencies answered (added by hookrun, not Claude Code)."""

    status: str
    exit_code: int | None = None
    output: Any = None
    reason: str = ""


class Hookrun(_Model):
    """hookrun's own additions to the payload of a hook that has ``after`` dependencies."""

    upstream: dict[str, Upstream] = {}


class AgentInput(_Model):
    """The input of the sub-agent tool (``Agent``, called ``Task`` in older versions)."""

    description: str
    prompt: str
    subagent_type: str | None = None
    model: str | None = None
    effort: str | None = None
    run_in_background: bool | None = None
    name: str | None = None
    isolation: str | None = None

    @property
    def in_background(self) -> bool:
        """Agents run in the background unless the call says ``run_in_background: false``."""
        return self.run_in_background is not False


class ToolCall(_Model):
    """A call of one tool: its name and input."""

    tool_name: str
    tool_input: dict[str, Any]

    @property
    def is_agent(self) -> bool:
        """Is this a sub-agent spawn? True for ``Agent`` and for the legacy name ``Task``."""
        return self.tool_name in AGENT_TOOL_NAMES

    def agent_input(self) -> AgentInput | None:
        """The typed input of an Agent/Task call; ``None`` for every other tool."""
        return AgentInput.model_validate(self.tool_input) if self.is_agent else None


class HookPayload(_Model):
    """The fields every event carries.

    ``agent_id`` is set only when the hook fires inside a sub-agent (whose ``session_id`` and
    ``transcript_path`` are the parent's). ``prompt_id`` is absent before the first prompt,
    ``permission_mode`` on session-lifecycle events, ``effort`` outside tool-use contexts.
    """

    hook_event_name: str
    session_id: str
    transcript_path: str
    cwd: str
    prompt_id: str | None = None
    permission_mode: str | None = None
    agent_id: str | None = None
    agent_type: str | None = None
    effort: Effort | None = None
    hookrun: Hookrun | None = None

    @property
    def in_subagent(self) -> bool:
        """Did the event happen inside a sub-agent rather than the main conversation?"""
        return self.agent_id is not None


class UnknownEvent(HookPayload):
    """An event this module has no model for; its own fields are in ``model_extra``."""


class PreToolUse(HookPayload, ToolCall):
    hook_event_name: Literal["PreToolUse"]
    tool_use_id: str
    mcp_server: McpServer | None = None


class PermissionRequest(HookPayload, ToolCall):
    hook_event_name: Literal["PermissionRequest"]
    permission_suggestions: list[dict[str, Any]] = []
    mcp_server: McpServer | None = None


class PostToolUse(HookPayload, ToolCall):
    """``tool_response`` is the tool's structured output (not what the model sees)."""

    hook_event_name: Literal["PostToolUse"]
    tool_response: Any
    tool_use_id: str
    duration_ms: float | None = None
    mcp_server: McpServer | None = None


class PostToolUseFailure(HookPayload, ToolCall):
    hook_event_name: Literal["PostToolUseFailure"]
    tool_use_id: str
    error: str
    is_interrupt: bool | None = None
    duration_ms: float | None = None
    mcp_server: McpServer | None = None


class PermissionDenied(HookPayload, ToolCall):
    hook_event_name: Literal["PermissionDenied"]
    tool_use_id: str
    reason: str
    mcp_server: McpServer | None = None


class BatchedCall(ToolCall):
    """One call of a PostToolBatch; ``tool_response`` is what the model sees."""

    tool_use_id: str
    tool_response: Any = None


class PostToolBatch(HookPayload):
    """Fires once per assistant message, after all of its tool calls resolved."""

    hook_event_name: Literal["PostToolBatch"]
    tool_calls: list[BatchedCall]


class Notification(HookPayload):
    hook_event_name: Literal["Notification"]
    message: str
    title: str | None = None
    notification_type: str


class UserPromptSubmit(HookPayload):
    """Also fires for the ``<task-notification>`` turns that finished background agents add."""

    hook_event_name: Literal["UserPromptSubmit"]
    prompt: str
    source: str | None = None
    session_title: str | None = None


class UserPromptExpansion(HookPayload):
    hook_event_name: Literal["UserPromptExpansion"]
    expansion_type: str
    command_name: str
    command_args: str
    command_source: str | None = None
    prompt: str


class SessionStart(HookPayload):
    hook_event_name: Literal["SessionStart"]
    source: str
    model: str | None = None
    session_title: str | None = None
    seconds_since_last_response: float | None = None
    context_tokens: int | None = None
    prompt_cache_likely_expired: bool | None = None
    estimated_cache_write_usd: float | None = None


class SessionEnd(HookPayload):
    hook_event_name: Literal["SessionEnd"]
    reason: str


class BackgroundTask(_Model):
    """Background work still in flight when the turn stops."""

    id: str
    type: str
    status: str
    description: str
    command: str | None = None
    agent_type: str | None = None
    server: str | None = None
    tool: str | None = None
    name: str | None = None


class SessionCron(_Model):
    """A scheduled wake-up of the session."""

    id: str
    schedule: str
    recurring: bool
    prompt: str


class Stop(HookPayload):
    hook_event_name: Literal["Stop"]
    stop_hook_active: bool
    last_assistant_message: str | None = None
    background_tasks: list[BackgroundTask] = []
    session_crons: list[SessionCron] = []


class StopFailure(HookPayload):
    hook_event_name: Literal["StopFailure"]
    error: str
    error_details: str | None = None
    last_assistant_message: str | None = None


class SubagentStart(HookPayload):
    hook_event_name: Literal["SubagentStart"]
    agent_id: str
    agent_type: str


class SubagentStop(HookPayload):
    hook_event_name: Literal["SubagentStop"]
    agent_id: str
    agent_type: str
    agent_transcript_path: str
    stop_hook_active: bool
    last_assistant_message: str | None = None
    background_tasks: list[BackgroundTask] = []
    session_crons: list[SessionCron] = []


class PreCompact(HookPayload):
    hook_event_name: Literal["PreCompact"]
    trigger: str
    custom_instructions: str | None = None


class PostCompact(HookPayload):
    hook_event_name: Literal["PostCompact"]
    trigger: str
    compact_summary: str


class _ModelSwitch(HookPayload):
    from_model: str
    to_model: str
    requested_model: str | None = None
    source: str
    context_tokens: int
    prompt_cache_warm: bool
    cache_ttl: str
    estimated_cache_write_usd: float
    pricing: str


class PreModelSwitch(_ModelSwitch):
    hook_event_name: Literal["PreModelSwitch"]


class PostModelSwitch(_ModelSwitch):
    hook_event_name: Literal["PostModelSwitch"]


class Setup(HookPayload):
    hook_event_name: Literal["Setup"]
    trigger: str


class TeammateIdle(HookPayload):
    hook_event_name: Literal["TeammateIdle"]
    teammate_name: str
    team_name: str | None = None


class TaskCreated(HookPayload):
    hook_event_name: Literal["TaskCreated"]
    task_id: str
    task_subject: str
    task_description: str | None = None
    teammate_name: str | None = None
    team_name: str | None = None


class TaskCompleted(HookPayload):
    hook_event_name: Literal["TaskCompleted"]
    task_id: str
    task_subject: str
    task_description: str | None = None
    teammate_name: str | None = None
    team_name: str | None = None


class Elicitation(HookPayload):
    hook_event_name: Literal["Elicitation"]
    mcp_server_name: str
    message: str
    mode: str | None = None
    url: str | None = None
    elicitation_id: str | None = None
    requested_schema: dict[str, Any] | None = None


class ElicitationResult(HookPayload):
    hook_event_name: Literal["ElicitationResult"]
    mcp_server_name: str
    elicitation_id: str | None = None
    mode: str | None = None
    action: str
    content: dict[str, Any] | None = None


class ConfigChange(HookPayload):
    hook_event_name: Literal["ConfigChange"]
    source: str
    file_path: str | None = None


class WorktreeCreate(HookPayload):
    hook_event_name: Literal["WorktreeCreate"]
    name: str


class WorktreeRemove(HookPayload):
    hook_event_name: Literal["WorktreeRemove"]
    worktree_path: str


class InstructionsLoaded(HookPayload):
    hook_event_name: Literal["InstructionsLoaded"]
    file_path: str
    memory_type: str
    load_reason: str
    globs: list[str] | None = None
    trigger_file_path: str | None = None
    parent_file_path: str | None = None


class CwdChanged(HookPayload):
    hook_event_name: Literal["CwdChanged"]
    old_cwd: str
    new_cwd: str


class FileChanged(HookPayload):
    hook_event_name: Literal["FileChanged"]
    file_path: str
    event: str


class DirectoryAdded(HookPayload):
    hook_event_name: Literal["DirectoryAdded"]
    directory: str
    source: str


class MessageDisplay(HookPayload):
    hook_event_name: Literal["MessageDisplay"]
    turn_id: str
    message_id: str
    index: int
    final: bool
    delta: str


EVENT_MODELS: dict[str, type[HookPayload]] = {model.__name__: model for model in (
    PreToolUse, PostToolUse, PostToolUseFailure, PostToolBatch, Notification, UserPromptSubmit,
    UserPromptExpansion, SessionStart, SessionEnd, Stop, StopFailure, SubagentStart,
    SubagentStop, PreCompact, PostCompact, PreModelSwitch, PostModelSwitch, PermissionRequest,
    PermissionDenied, Setup, TeammateIdle, TaskCreated, TaskCompleted, Elicitation,
    ElicitationResult, ConfigChange, WorktreeCreate, WorktreeRemove, InstructionsLoaded,
    CwdChanged, FileChanged, DirectoryAdded, MessageDisplay,
)}


def parse_payload(payload: Mapping[str, Any]) -> HookPayload:
    """The typed model of a hook payload, chosen by its ``hook_event_name``.

    Raises :class:`PayloadError` when a field the event always carries is missing or has the
    wrong type; unknown fields and unknown events are accepted.
    """
    event = payload.get("hook_event_name")
    model = EVENT_MODELS.get(event, UnknownEvent) if isinstance(event, str) else UnknownEvent
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(_explain(event, exc)) from exc


def _explain(event: object, exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in exc.errors()
    )
    return (f"not a {event if isinstance(event, str) else 'hook'} payload as Claude Code sends "
            f"it ({problems}); read fields that may be absent from the dict itself")
