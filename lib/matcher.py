"""Claude Code's matcher semantics, as verified on the real CLI (claude-code-hooks.md §4.2)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from hookswarm.lib.events import matches_everything, plain_names, rules
from hookswarm.lib.protocol import AGENT_TOOL_NAMES

if TYPE_CHECKING:
    from collections.abc import Mapping


def match_field(event: str) -> str | None:
    """The payload field an ``event``'s matchers test, or None for events without matchers."""
    return rules(event).matches_on


def subject(event: str, payload: Mapping[str, Any]) -> str | None:
    """The payload field a matcher is tested against, or None for events without matchers."""
    field = rules(event).matches_on
    if field is None:
        return None
    value = payload.get(field)
    return value if isinstance(value, str) else ""


def matches(matcher: str, event: str, payload: Mapping[str, Any]) -> bool:
    """Does a hook with ``matcher`` fire for this payload?"""
    target = subject(event, payload)
    if target is None or matches_everything(matcher):
        return True
    names = {target} | (AGENT_TOOL_NAMES if target in AGENT_TOOL_NAMES else set())
    return any(_test(matcher, name) for name in names)


@lru_cache(maxsize=256)
def _alternatives(matcher: str) -> frozenset[str] | None:
    names = plain_names(matcher)
    return None if names is None else frozenset(names)


def _test(matcher: str, name: str) -> bool:
    words = _alternatives(matcher)
    if words is not None:
        return name in words
    try:
        return re.search(matcher, name) is not None
    except re.error:
        return False
