"""The context budget: every hook's context joined into one block that fits a cap. Pure.

Claude Code writes an ``additionalContext`` longer than 10,000 characters to a file and shows
the model only its first 2 KB (checked on the 2.1.328 CLI; it counts each hook's entry on its
own). hookrun's merged block is one entry, so it stays under a cap set below that cut: exact
duplicate lines go first, then the longest contexts are shortened to a fair share each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence

_SEPARATOR = "\n\n"


class Fitted(NamedTuple):
    """The joined context, each hook's context size in bytes as given, and who was cut."""

    text: str
    sizes: dict[str, int]
    cut: tuple[str, ...]


def fit(entries: Sequence[tuple[str, str]], budget: int) -> Fitted:
    """Join ``(hook, text)`` entries in order within ``budget`` characters (0: no cap)."""
    sizes: dict[str, int] = {}
    for name, text in entries:
        sizes[name] = sizes.get(name, 0) + len(text.encode("utf-8", "surrogatepass"))
    kept = [(name, text) for name, text in _without_repeats(entries) if text]
    joined = _SEPARATOR.join(text for _, text in kept)
    if not budget or len(joined) <= budget:
        return Fitted(joined, sizes, ())
    room = budget - len(notice(budget, [name for name, _ in kept]))
    room -= len(_SEPARATOR) * len(kept)
    shares = fair_shares([len(text) for _, text in kept], max(0, room))
    cut = tuple(dict.fromkeys(name for (name, text), share in zip(kept, shares, strict=True)
                              if share < len(text)))
    parts = [_shorten(text, share) for (_, text), share in zip(kept, shares, strict=True)]
    parts.append(notice(budget, cut))
    return Fitted(_SEPARATOR.join(part for part in parts if part), sizes, cut)


def notice(budget: int, names: Sequence[str]) -> str:
    """The one line that tells the model which hooks' context was shortened."""
    return (f"[hookrun: context over {budget} characters; shortened: "
            f"{', '.join(dict.fromkeys(names))}]")


def fair_shares(lengths: Sequence[int], room: int) -> list[int]:
    """Max-min fair split of ``room``: short entries keep everything, long ones share the rest."""
    shares = [0] * len(lengths)
    left = room
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for done, index in enumerate(order):
        share = min(lengths[index], left // (len(order) - done))
        shares[index] = share
        left -= share
    return shares


def _without_repeats(entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each entry without the non-blank lines that already appeared, in this or an earlier one."""
    seen: set[str] = set()
    kept = []
    for name, text in entries:
        lines = []
        for line in text.split("\n"):
            if line.strip() and line in seen:
                continue
            seen.add(line)
            lines.append(line)
        kept.append((name, "\n".join(lines).strip("\n")))
    return kept


def _shorten(text: str, share: int) -> str:
    """``text`` within ``share`` characters, ending at a line break where one is near."""
    if len(text) <= share:
        return text
    head = text[:share]
    newline = head.rfind("\n")
    return head[:newline] if newline > share // 2 else head
