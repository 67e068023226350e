"""File ownership: which paths a task may write, and whether two tasks' globs can collide.

Stdlib only: the ownership guard hook imports this module on every write a worker attempts.
Glob syntax: ``*`` and ``?`` stay inside one path segment, ``[...]`` is a character class, a
``**`` segment spans any number of directories (``src/**`` owns every file below ``src``), and
a trailing ``/`` means the same as ``/**``. Anchoring globs (``absolute_globs``) resolves
symlinks in their literal leading folders, as the guard resolves the paths it judges; the
matching and overlap checks themselves are pure.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

WRITE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")


def absolute_globs(cwd: str, globs: Iterable[str]) -> tuple[str, ...]:
    """The globs anchored at ``cwd``, normalized and with symlinks resolved in their literal
    leading folders, so globs of different tasks compare the way the guard judges writes."""
    return tuple(_real_glob(_anchored(cwd, g)) for g in globs)


def outside(root: str, cwd: str, paths: Iterable[tuple[str, str]], *,
            root_is_real: bool = False) -> list[tuple[str, str]]:
    """Which of ``cwd`` and the ``(key, glob)`` pairs (anchored at ``cwd``) reach past ``root``.

    A glob can reach only below its literal leading folders, so those decide. Symlinks are
    resolved, so a link out of the project counts as outside. ``root_is_real``: ``root`` is
    resolved already (a caller checking many tasks resolves it once).
    """
    real_root = root if root_is_real else os.path.realpath(root)
    real_cwd = cwd if cwd == real_root else os.path.realpath(cwd)
    found = [("cwd", cwd)] if not _within(real_cwd, real_root) else []
    for key, glob in paths:
        if not _within(_literal_head(_real_glob(_anchored(cwd, glob))), real_root):
            found.append((key, glob))
    return found


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _literal_head(glob: str) -> str:
    segments = glob.split("/")
    literal = next((i for i, s in enumerate(segments) if any(c in s for c in "*?[")),
                   len(segments))
    return "/".join(segments[:literal]) or "/"


def _anchored(cwd: str, glob: str) -> str:
    folder = glob.endswith("/")
    glob = posixpath.normpath(posixpath.join(cwd, glob))
    return posixpath.join(glob, "**") if folder else glob


def owned(path: str, globs: Iterable[str]) -> bool:
    """Whether the absolute, normalized ``path`` matches one of the absolute ``globs``."""
    return any(_regex(g).fullmatch(path) is not None for g in globs)


def may_write(path: str, *, cwd: str, owns: Sequence[str]) -> bool:
    """Whether a worker running in ``cwd`` and owning ``owns`` may write ``path``.

    Symlinks are resolved on both sides, so a link inside an owned folder that points
    elsewhere does not open a way out.
    """
    root = os.path.realpath(cwd)
    target = os.path.realpath(os.path.join(root, path))
    return owned(target, absolute_globs(root, owns))


def _real_glob(glob: str) -> str:
    """Resolve symlinks in the literal leading directories of an absolute glob."""
    segments = glob.split("/")
    literal = next((i for i, s in enumerate(segments) if any(c in s for c in "*?[")),
                   len(segments) - 1)
    head = "/".join(segments[:literal]) or "/"
    return posixpath.join(os.path.realpath(head), *segments[literal:])


def overlapping(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether some path is matched by a glob of ``a`` and a glob of ``b`` (absolute globs)."""
    return any(globs_overlap(x, y) for x in a for y in b)


@lru_cache(maxsize=4096)
def globs_overlap(a: str, b: str) -> bool:
    """Whether one path can match both globs: the intersection of two automata is non-empty."""
    return _intersects(_nfa(a), _nfa(b))


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    segments = pattern.split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:.*/)?")
        else:
            body = "".join(_atom_regex(atom) for atom in _atoms(segment))
            parts.append(body if last else body + "/")
    return re.compile("".join(parts), re.DOTALL)


# An atom is one unit of a segment: a literal character, "?", "*" or a character class.
@dataclass(frozen=True, slots=True)
class _Class:
    chars: frozenset[str]
    negated: bool


_Atom = str | _Class


def _atoms(segment: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "[":
            parsed = _parse_class(segment, i)
            if parsed is not None:
                atoms.append(parsed[0])
                i = parsed[1]
                continue
        atoms.append(char if char in "*?" else "\\" + char)
        i += 1
    return atoms


def _parse_class(segment: str, start: int) -> tuple[_Class, int] | None:
    end = segment.find("]", start + 2)
    if end < 0:
        return None
    body = segment[start + 1:end]
    negated = body[:1] in ("!", "^")
    body = body[1:] if negated else body
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return _Class(frozenset(chars - {"/"}), negated), end + 1


def _atom_regex(atom: _Atom) -> str:
    if isinstance(atom, _Class):
        chars = "".join(re.escape(c) for c in sorted(atom.chars))
        return f"[{'^/' if atom.negated else ''}{chars}]" if chars or atom.negated else "(?!)"
    if atom == "*":
        return "[^/]*"
    if atom == "?":
        return "[^/]"
    return re.escape(atom[1:])


# ---------------------------------------------------------------- automata for overlap

_ANY = "any"          # any character, "/" included (inside "**")
_SEGMENT = "segment"  # any character but "/"

_Label = str | _Class  # a literal is "\\c"; otherwise _ANY, _SEGMENT or a class


@dataclass(slots=True)
class _Nfa:
    edges: list[list[tuple[_Label | None, int]]]  # None labels an epsilon edge
    accept: int

    def new(self) -> int:
        self.edges.append([])
        return len(self.edges) - 1

    def add(self, source: int, label: _Label | None, target: int) -> None:
        self.edges[source].append((label, target))


@lru_cache(maxsize=1024)
def _nfa(pattern: str) -> _Nfa:
    nfa = _Nfa(edges=[[]], accept=0)
    state = 0
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            state = _double_star(nfa, state, last=last)
            continue
        for atom in _atoms(segment):
            state = _atom_edges(nfa, state, atom)
        if not last:
            nxt = nfa.new()
            nfa.add(state, "\\/", nxt)
            state = nxt
    nfa.accept = state
    return nfa


def _double_star(nfa: _Nfa, state: int, *, last: bool) -> int:
    if last:
        nfa.add(state, _ANY, state)
        return state
    loop, out = nfa.new(), nfa.new()
    nfa.add(state, None, out)
    nfa.add(state, None, loop)
    nfa.add(loop, _ANY, loop)
    nfa.add(loop, "\\/", out)
    return out


def _atom_edges(nfa: _Nfa, state: int, atom: _Atom) -> int:
    if atom == "*":
        loop = nfa.new()
        nfa.add(state, None, loop)
        nfa.add(loop, _SEGMENT, loop)
        return loop
    nxt = nfa.new()
    nfa.add(state, _SEGMENT if atom == "?" else atom, nxt)
    return nxt


def _closure(nfa: _Nfa, states: Iterable[int]) -> frozenset[int]:
    seen = set(states)
    stack = list(seen)
    while stack:
        for label, target in nfa.edges[stack.pop()]:
            if label is None and target not in seen:
                seen.add(target)
                stack.append(target)
    return frozenset(seen)


def _intersects(a: _Nfa, b: _Nfa) -> bool:
    start = (_closure(a, [0]), _closure(b, [0]))
    seen = {start}
    stack = [start]
    while stack:
        left, right = stack.pop()
        if a.accept in left and b.accept in right:
            return True
        for step in _steps(a, left, b, right):
            if step not in seen:
                seen.add(step)
                stack.append(step)
    return False


def _steps(a: _Nfa, left: frozenset[int], b: _Nfa,
           right: frozenset[int]) -> Iterable[tuple[frozenset[int], frozenset[int]]]:
    for sa in left:
        for la, ta in a.edges[sa]:
            if la is None:
                continue
            for sb in right:
                for lb, tb in b.edges[sb]:
                    if lb is not None and _compatible(la, lb):
                        yield _closure(a, [ta]), _closure(b, [tb])


def _compatible(x: _Label, y: _Label) -> bool:
    """Whether some single character satisfies both labels."""
    if isinstance(x, str) and x.startswith("\\"):
        return _accepts(y, x[1:])
    if isinstance(y, str) and y.startswith("\\"):
        return _accepts(x, y[1:])
    if isinstance(x, _Class) and isinstance(y, _Class):
        return _classes_meet(x, y)
    return _satisfiable(x) and _satisfiable(y)


def _accepts(label: _Label, char: str) -> bool:
    if isinstance(label, _Class):
        return char != "/" and ((char in label.chars) != label.negated)
    if label == _ANY:
        return True
    if label == _SEGMENT:
        return char != "/"
    return label[1:] == char


def _satisfiable(label: _Label) -> bool:
    return not isinstance(label, _Class) or label.negated or bool(label.chars)


def _classes_meet(x: _Class, y: _Class) -> bool:
    if x.negated and y.negated:
        return True
    if x.negated:
        return bool(y.chars - x.chars)
    if y.negated:
        return bool(x.chars - y.chars)
    return bool(x.chars & y.chars)
