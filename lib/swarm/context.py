"""Lazy context: short context goes inline in the prompt, long context into a file it names."""

from __future__ import annotations

DEFAULT_INLINE = 500


def needs_file(context: str, *, inline_limit: int = DEFAULT_INLINE) -> bool:
    """Whether ``context`` is too long to inline (more than ``inline_limit`` characters)."""
    return len(context) > inline_limit


def compose(prompt: str, context: str, *, context_file: str | None) -> str:
    """The prompt the worker gets: with the context inline, or pointing at ``context_file``."""
    if not context:
        return prompt
    if context_file is None:
        return f"{prompt}\n\n<context>\n{context}\n</context>"
    return (f"{prompt}\n\nThe context for this task ({len(context)} characters) is in the file "
            f"{context_file} — read it before you start.")
