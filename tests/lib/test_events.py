"""The one table of events: its rules hang together, and every reader sees the same table."""

from __future__ import annotations

import pytest

from hookswarm.executor import merge, validate
from hookswarm.lib import events, matcher, payloads, protocol
from hookswarm.lib import hookconfig as config
from hookswarm.lib.hookconfig import HookSpec
from hookswarm.settings import entries


def test_the_table_lists_every_event_of_claude_code_once_in_its_order() -> None:
    assert len(events.NAMES) == len(set(events.NAMES)) == 33
    assert set(events.NAMES) == set(payloads.EVENT_MODELS)
    assert events.NAMES[:3] == ("PreToolUse", "PostToolUse", "PostToolUseFailure")


@pytest.mark.parametrize("rules", events.TABLE, ids=lambda r: r.name)
def test_the_rules_of_each_event_hang_together(rules: events.EventRules) -> None:
    assert not (rules.block_stops or rules.decision_block) or rules.can_block
    assert not rules.plain_text_context or rules.takes_context
    assert not rules.tool_event or rules.matches_on == "tool_name"
    assert not (rules.on_failure_ignored and rules.block_stops)


def test_every_reader_takes_its_sets_from_the_table() -> None:
    assert config.EVENTS == events.NAMES
    assert events.where("takes_context") == protocol.CONTEXT_EVENTS
    assert events.where("on_failure_ignored") == protocol.ON_FAILURE_IGNORED
    assert events.where("block_stops") == merge.BLOCK_PREVENTS
    assert {r.name for r in events.TABLE if not r.can_block} == merge.CANNOT_BLOCK
    assert {e for e in events.NAMES if matcher.subject(e, {}) is not None} == {
        r.name for r in events.TABLE if r.matches_on}


def test_an_event_the_table_does_not_know_gets_the_defaults() -> None:
    assert events.rules("FutureEvent") == events.EventRules("FutureEvent")


@pytest.mark.parametrize(("text", "names"), [
    ("Bash", ("Bash",)),
    ("Edit|Write", ("Edit", "Write")),
    ("Bash, Read | Bash", ("Bash", "Read")),
    ("mcp__.*", None),
    ("Bash(", None),
    ("", None),
])
def test_plain_names(text: str, names: tuple[str, ...] | None) -> None:
    assert events.plain_names(text) == names


@pytest.mark.parametrize("text", ["Bash", "Edit|Write", "Notebook Edit", "mcp__.*", "Bash(",
                                  "^(Read|Glob)$", "", "*"])
def test_matcher_validate_and_install_read_a_matcher_alike(text: str) -> None:
    """One idea of a plain matcher: validate rejects exactly what the matcher cannot use."""
    tools = ["Bash", "Edit", "Write", "NotebookEdit", "Notebook Edit", "mcp__x", "Read"]
    fires = {t for t in tools if matcher.matches(text, "PreToolUse", {"tool_name": t})}
    hook = HookSpec(position=0, name="h", event="PreToolUse", command="x", matcher=text)
    errors = list(validate._matcher(hook))
    assert bool(errors) == (text == "Bash(")
    assert not errors or fires == set()
    combined = entries.combined_matcher("PreToolUse", [text])
    assert {t for t in tools
            if matcher.matches(combined, "PreToolUse", {"tool_name": t})} >= fires
