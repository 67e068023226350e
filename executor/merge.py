"""Merging every hook's answer into the one response Claude Code expects. Pure: no I/O.

The rules follow what Claude Code does with the same hooks configured natively (checked
against the real CLI), except where Claude Code is racy: context keeps config order, every
deny reason is kept, and ``updatedInput`` is the last rewrite along the dependency order.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor.context import Fitted, fit, notice
from hookswarm.executor.results import BLOCKED, OK, HookResult
from hookswarm.lib.events import TABLE, where
from hookswarm.lib.hookconfig import DEFAULT_BUDGET
from hookswarm.lib.protocol import ON_FAILURE_IGNORED

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# The per-event rules, from the one table in lib/events.py.
PLAIN_TEXT_IS_CONTEXT = where("plain_text_context")
DECISION_BLOCK_EVENTS = where("decision_block")
BLOCK_PREVENTS = where("block_stops")
CANNOT_BLOCK = frozenset(r.name for r in TABLE if not r.can_block)
_RANK = {"allow": 1, "ask": 2, "defer": 3, "deny": 4}
_SPECIAL_KEYS = frozenset({"hookEventName", "additionalContext", "permissionDecision",
                           "permissionDecisionReason", "decision"})


class Response(NamedTuple):
    """What ``hookrun run`` prints and exits with; ``outcome`` labels the run record."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    outcome: str = "ok"
    context_bytes: Mapping[str, int] = {}  # each hook's context as given, for the run record
    context_cut: tuple[str, ...] = ()  # hooks whose context the budget shortened


def with_note(response: Response, line: str) -> Response:
    """``response`` with ``line`` first in its ``systemMessage``, which the user sees."""
    if response.exit_code != 0:  # an exit-2 answer is its stderr
        return response._replace(stderr=f"{line}\n{response.stderr}")
    answer = json.loads(response.stdout) if response.stdout else {}
    earlier = answer.get("systemMessage")
    answer["systemMessage"] = "\n".join([line, *([earlier] if earlier else [])])
    return response._replace(stdout=json.dumps(answer, ensure_ascii=False))


class _Merged:
    """The answers seen so far, accumulated in order."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.contexts: list[tuple[str, str]] = []  # (hook, text)
        self.passed_stderr: list[str] = []
        self.decisions: list[tuple[str, str]] = []
        self.request_decisions: list[dict[str, Any]] = []
        self.system: list[str] = []
        self.stop_reasons: list[str] = []
        self.stopped = False
        self.suppress = False
        self.specific: dict[str, Any] = {}
        self.notes: list[str] = []


def merge(event: str, results: Iterable[HookResult], *, on_error: Mapping[str, str],
          budget: int = DEFAULT_BUDGET) -> Response:
    """Merge ``results`` (in config order, dependencies first) for ``event``.

    ``budget`` caps the joined context in characters (0: no cap); see ``context.fit``.
    """
    merged = _Merged()
    for result in results:
        _absorb(merged, event, result, on_error.get(result.name, "allow"))
    return _render(event, merged, budget)


def blocks(event: str, result: HookResult, on_error: str) -> bool:
    """Does this one result make the merged answer a block (or a deny) on ``event``?"""
    merged = _Merged()
    _absorb(merged, event, result, on_error)
    return (bool(merged.blocks) or any(d == "deny" for d, _ in merged.decisions)
            or any(d.get("behavior") == "deny" for d in merged.request_decisions))


def fails_closed(event: str, on_error: str) -> bool:
    """Does a failed hook block ``event``? Not where Claude Code ignores onFailure or exit 2."""
    return on_error == "block" and event not in ON_FAILURE_IGNORED and event not in CANNOT_BLOCK


def failure_note(event: str, result: HookResult, on_error: str) -> str:
    """The one line a person sees for a failed hook: what happened and what to do."""
    if fails_closed(event, on_error):
        effect = 'blocking because on_error = "block"'
    elif on_error == "block":
        effect = f'ignored: on_error = "block" does not apply to {event} hooks'
    else:
        effect = 'ignored (fail open); fix the hook, or set on_error = "block" to fail closed'
    return f"hookrun: hook '{result.name}' {result.reason}: {effect}"


def _absorb(merged: _Merged, event: str, result: HookResult, on_error: str) -> None:
    if result.stderr:  # Claude Code shows it in its hook events; so does hookrun, labelled
        merged.passed_stderr.extend(f"[{result.name}] {line}"
                                    for line in result.stderr.rstrip("\n").split("\n"))
    if result.failed:
        note = failure_note(event, result, on_error)
        merged.notes.append(note)
        if fails_closed(event, on_error):
            merged.blocks.append(note)
        if isinstance(result.output, dict):  # a JSON answer counts even from a failed exit
            _absorb_json(merged, event, result.name, result.output)
    elif result.status == BLOCKED and event in CANNOT_BLOCK:
        merged.notes.append(f"hookrun: hook '{result.name}' exited 2, which cannot block "
                            f"{event} (shown to you only): {result.reason.rstrip()}")
    elif result.status == BLOCKED:
        merged.blocks.append(result.reason)
    elif result.status == OK and isinstance(result.output, str):
        if event in PLAIN_TEXT_IS_CONTEXT:
            merged.contexts.append((result.name, result.output.strip()))
    elif result.status == OK and isinstance(result.output, dict):
        _absorb_json(merged, event, result.name, result.output)


def _absorb_json(merged: _Merged, event: str, name: str, answer: Mapping[str, Any]) -> None:
    if answer.get("continue") is False:
        merged.stopped = True
        if isinstance(answer.get("stopReason"), str):
            merged.stop_reasons.append(answer["stopReason"])
    merged.suppress = merged.suppress or answer.get("suppressOutput") is True
    if isinstance(answer.get("systemMessage"), str):
        merged.system.append(answer["systemMessage"])
    _absorb_decision(merged, event, answer)
    specific = answer.get("hookSpecificOutput")
    if isinstance(specific, dict):
        _absorb_specific(merged, name, specific)


def _absorb_decision(merged: _Merged, event: str, answer: Mapping[str, Any]) -> None:
    decision, reason = answer.get("decision"), str(answer.get("reason") or "")
    if event == "PreToolUse" and decision in ("approve", "block"):
        merged.decisions.append(("allow" if decision == "approve" else "deny", reason))
    elif decision == "block" and event not in CANNOT_BLOCK:
        merged.blocks.append(reason)


def _absorb_specific(merged: _Merged, name: str, specific: Mapping[str, Any]) -> None:
    context = specific.get("additionalContext")
    if isinstance(context, str) and context:
        merged.contexts.append((name, context))
    decision = specific.get("permissionDecision")
    if decision in _RANK:
        merged.decisions.append((decision, str(specific.get("permissionDecisionReason") or "")))
    if isinstance(specific.get("decision"), dict):
        merged.request_decisions.append(specific["decision"])
    for key, value in specific.items():
        if key not in _SPECIAL_KEYS:
            merged.specific[key] = value


def _render(event: str, merged: _Merged, budget: int) -> Response:
    answer: dict[str, Any] = {}
    specific: dict[str, Any] = dict(merged.specific)
    outcome = "ok"
    exit_code, stderr_lines = 0, list(merged.notes)
    if merged.blocks:
        outcome = "block"
        if event == "PreToolUse":
            merged.decisions.append(("deny", "\n".join(merged.blocks)))
        elif event == "PermissionRequest":
            merged.request_decisions.append({"behavior": "deny",
                                             "message": "\n".join(merged.blocks)})
        elif event in DECISION_BLOCK_EVENTS:
            answer.update(decision="block", reason="\n".join(merged.blocks))
        else:
            exit_code = 2
            stderr_lines.extend(merged.blocks)
    if merged.decisions:
        decision, reason = _strictest(merged.decisions)
        specific["permissionDecision"] = decision
        if reason:
            specific["permissionDecisionReason"] = reason
        outcome = decision
    if merged.request_decisions:
        specific["decision"] = _request_decision(merged.request_decisions)
        outcome = specific["decision"].get("behavior", outcome)
    fitted = _fit_context(merged.contexts, budget, specific, stderr_lines)
    if specific:
        answer["hookSpecificOutput"] = {"hookEventName": event, **specific}
    _common_fields(answer, merged)
    stdout = json.dumps(answer, ensure_ascii=False) if answer and exit_code == 0 else ""
    stderr = "".join(line + "\n" for line in merged.passed_stderr + stderr_lines)
    return Response(stdout=stdout, stderr=stderr, exit_code=exit_code, outcome=outcome,
                    context_bytes=fitted.sizes, context_cut=fitted.cut)


def _fit_context(contexts: list[tuple[str, str]], budget: int, specific: dict[str, Any],
                 stderr_lines: list[str]) -> Fitted:
    """Put the budgeted context into ``specific``; a cut adds its notice to ``stderr_lines``."""
    fitted = fit(contexts, budget)
    if fitted.text:
        specific["additionalContext"] = fitted.text
    if fitted.cut:
        stderr_lines.append(notice(budget, fitted.cut))
    return fitted


def _common_fields(answer: dict[str, Any], merged: _Merged) -> None:
    if merged.stopped:
        answer["continue"] = False
        if merged.stop_reasons:
            answer["stopReason"] = "\n".join(merged.stop_reasons)
    if merged.suppress:
        answer["suppressOutput"] = True
    system = merged.system + merged.notes
    if system:
        answer["systemMessage"] = "\n".join(system)


def _strictest(decisions: list[tuple[str, str]]) -> tuple[str, str]:
    """The most restrictive decision and every reason given for it, in order."""
    top = max(_RANK[decision] for decision, _ in decisions)
    winner = next(decision for decision, _ in decisions if _RANK[decision] == top)
    reasons = [reason for decision, reason in decisions if decision == winner and reason]
    return winner, "\n".join(reasons)


def _request_decision(decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """PermissionRequest: any deny wins (messages joined); otherwise the last allow."""
    denies = [d for d in decisions if d.get("behavior") == "deny"]
    if not denies:
        return decisions[-1]
    messages = [str(d["message"]) for d in denies if d.get("message")]
    merged: dict[str, Any] = {"behavior": "deny"}
    if messages:
        merged["message"] = "\n".join(messages)
    if any(d.get("interrupt") for d in denies):
        merged["interrupt"] = True
    return merged
