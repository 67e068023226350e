"""Complexity scoring, as a table."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.complexity import complexity_score


@pytest.mark.parametrize(("chars", "expects", "owns", "recursive", "score"), [
    (10, 0, 0, False, 1),
    (2_000, 0, 0, False, 1),
    (2_001, 0, 0, False, 2),
    (8_001, 0, 0, False, 3),
    (10, 3, 0, False, 2),
    (10, 0, 3, False, 2),
    (10, 0, 1, True, 2),
    (2_001, 3, 1, True, 3),
    (9_000, 5, 5, True, 3),
])
def test_complexity_score(chars: int, expects: int, owns: int, recursive: bool,
                          score: int) -> None:
    assert complexity_score(text_chars=chars, expects=expects, owns=owns,
                            recursive_owns=recursive) == score
