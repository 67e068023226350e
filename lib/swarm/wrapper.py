"""The ``files`` output mode: the model answers with fenced blocks labelled with paths, and swarm
writes them inside the task's ``owns``.

Small models label a file in several ways, all recognized:

- an info string with ``path=P`` (or ``file=P``): ```` ```python path=calc.py ````
- an info string that is itself a path: ```` ```calc.py ````
- a line right before the fence: ``File: calc.py``, ``**calc.py**``, ``### `calc.py` ``

A path is refused when it is absolute, climbs with ``..``, is not owned, or leads out of
the task's folder through a symlink; refusals are reported, never written. What the model
says it did never counts: ``expects`` judges the files afterwards, as for any task.

``blocks`` and ``problem`` are pure; ``write_answer`` is the edge that writes.
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookswarm.lib.swarm.ownership import absolute_globs, may_write, owned

if TYPE_CHECKING:
    from collections.abc import Sequence

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_KEY = re.compile(r"^(?:path|file|filename)=(?P<path>.+)$", re.IGNORECASE)
_LABEL = re.compile(r"^#{0,6}\s*(?:(?:file(?:name)?|path)\s*:\s*)?(?P<path>\S+?):?$",
                    re.IGNORECASE)
_PATHLIKE = re.compile(r"^(?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z0-9]+$|^(?:[\w.-]+/)+[\w.-]+$")
_ABSOLUTE = re.compile(r"^(?:/|~|[A-Za-z]:[\\/]|\\\\)")


@dataclass(frozen=True, slots=True)
class Block:
    """A labelled fenced block: where it says it goes, and its text."""

    path: str
    text: str
    line: int
    closed: bool = True


def blocks(answer: str) -> list[Block]:
    """Every fenced block of ``answer`` that carries a path label, in order."""
    lines = answer.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        end = _closing(lines, index + 1, opened.group("fence"))
        label = _info_path(opened.group("info")) or _label_before(lines, index)
        if label:
            body = "\n".join(lines[index + 1:end])
            found.append(Block(label, body + "\n" if body else "", index + 1, end < len(lines)))
        index = end + 1
    return found


def _closing(lines: Sequence[str], start: int, fence: str) -> int:
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return index
    return len(lines)


def _info_path(info: str) -> str:
    words = info.strip().split()
    for word in words:
        keyed = _KEY.match(word)
        if keyed:
            return keyed.group("path").strip("\"'")
    return next((w for w in words if _pathlike(w)), "")


def _label_before(lines: Sequence[str], fence_at: int) -> str:
    """The path on the nearest non-blank line before the fence (one blank line allowed)."""
    for index in (fence_at - 1, fence_at - 2):
        if index < 0:
            return ""
        line = lines[index].replace("*", "").replace("`", "").strip()
        if line:
            matched = _LABEL.match(line)
            path = matched.group("path") if matched else ""
            return path if _pathlike(path) else ""
    return ""


def _pathlike(word: str) -> bool:
    if _ABSOLUTE.match(word):
        return bool(_PATHLIKE.match(word.lstrip("/~").split(":", 1)[-1].lstrip("\\/")))
    return bool(_PATHLIKE.match(word))


def problem(path: str, owns: Sequence[str]) -> str:
    """Why a block's ``path`` must not be written (``owns`` anchored at "/"), or "" if fine.

    Pure: the symlink check needs the disk and happens in ``write_answer``.
    """
    if _ABSOLUTE.match(path):
        return "absolute paths are refused; label blocks with a path relative to the task"
    if ".." in re.split(r"[\\/]", path):
        return "'..' is refused; a block may only write below the task's folder"
    if not owns:
        return "the task owns no files; give it 'owns' (or 'expects')"
    if not owned(posixpath.normpath(posixpath.join("/", path)), absolute_globs("/", owns)):
        return f"not owned by the task (it owns: {', '.join(owns)})"
    return ""


@dataclass(frozen=True, slots=True)
class Written:
    """What ``write_answer`` did: files written, and blocks refused with the reason."""

    written: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]
    blocks: int
    unfinished: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.refused

    @property
    def reason(self) -> str:
        if self.refused:
            return "refused to write " + "; ".join(f"{p} ({why})" for p, why in self.refused)
        if self.unfinished and not self.written:
            return (f"the answer ended inside the block for {self.unfinished[0]} (cut off by "
                    "max_tokens?); nothing was written")
        if not self.blocks:
            return "the answer held no fenced block labelled with a path; nothing was written"
        return f"wrote {len(self.written)} file(s) from the answer: {', '.join(self.written)}"

    def as_details(self) -> dict[str, Any]:
        return {"files_written": list(self.written),
                "files_refused": [{"path": p, "why": why} for p, why in self.refused],
                "files_unfinished": list(self.unfinished)}


def write_answer(answer: str, *, cwd: str, owns: Sequence[str]) -> Written:
    """Write each labelled block of ``answer`` that the task may write; refuse the rest.

    A block the answer ends inside (no closing fence: the model ran out of tokens) is left
    unwritten and listed as unfinished; half a file is not the file.
    """
    written: list[str] = []
    refused: list[tuple[str, str]] = []
    found = blocks(answer)
    unfinished = tuple(b.path for b in found if not b.closed)
    for block in (b for b in found if b.closed):
        why = problem(block.path, owns) or _escapes(block.path, cwd, owns)
        if not why:
            why = _write(cwd, block)
        if why:
            refused.append((block.path, why))
        else:
            written.append(posixpath.normpath(block.path))
    return Written(tuple(written), tuple(refused), len(found), unfinished)


def _escapes(path: str, cwd: str, owns: Sequence[str]) -> str:
    if may_write(path, cwd=cwd, owns=owns):
        return ""
    return "a symlink leads it outside the files the task owns"


def _write(cwd: str, block: Block) -> str:
    """Write through a temporary file and a rename (a rename replaces a link, never follows it)."""
    target = os.path.join(os.path.realpath(cwd), block.path)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, block.text.encode())
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        return f"could not write it: {exc.strerror or exc}"
    return ""
