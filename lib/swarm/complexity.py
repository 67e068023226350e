"""A task's complexity (1 low, 2 medium, 3 high) when the task file does not say: pure scoring."""

from __future__ import annotations

LONG_TEXT = 2_000
VERY_LONG_TEXT = 8_000
MANY_FILES = 3


def complexity_score(*, text_chars: int, expects: int, owns: int, recursive_owns: bool) -> int:
    """Score from the size of the request and how much it may touch; 1..3."""
    points = 0
    if text_chars > VERY_LONG_TEXT:
        points += 2
    elif text_chars > LONG_TEXT:
        points += 1
    if expects >= MANY_FILES or owns >= MANY_FILES:
        points += 1
    if recursive_owns:
        points += 1
    return 1 + min(points, 2)
