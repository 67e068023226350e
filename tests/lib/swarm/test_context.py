"""Lazy context: inline below the threshold, a file above it."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.context import compose, needs_file


@pytest.mark.parametrize(("context", "limit", "to_file"), [
    ("", 500, False), ("x" * 500, 500, False), ("x" * 501, 500, True), ("x" * 11, 10, True),
])
def test_lazy_context_threshold(context: str, limit: int, to_file: bool) -> None:
    assert needs_file(context, inline_limit=limit) is to_file


def test_compose_inlines_or_points_at_the_file() -> None:
    assert compose("do it", "", context_file=None) == "do it"
    assert "<context>\nabc\n</context>" in compose("do it", "abc", context_file=None)
    pointed = compose("do it", "abc", context_file="/s/context/t.md")
    assert "/s/context/t.md" in pointed
    assert "abc" not in pointed
