"""The evidence guard's rule: pure functions over declared files and their snapshots.

A spawn may declare what it must produce: ``[expects: src/calc.py, tests/test_calc.py]`` in an
Agent prompt, or in an agent-team task's subject or description. The spawn records a *claim*:
the declared paths and a snapshot of each (exists, size, mtime, ctime, inode). When the agent
stops, every declared file must exist, be non-empty and differ from its snapshot in one of
them; file times alone are too coarse for fast agents, so size, inode and ctime count too.

No I/O and no clock here. Records are ``NamedTuple``s: the guard also runs as a command hook,
where ``dataclasses`` costs import time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MAX_FILES = 32
MAX_PATH_CHARS = 300
MAX_CLAIMS = 64
MAX_NOTES = 20
MAX_CLAIM_CHARS = 300
DEFAULT_MAX_BLOCKS = 2
TASK_PREFIX = "task:"

MISSING = "missing"
EMPTY = "empty"
UNCHANGED = "unchanged"

_DECLARATION = re.compile(r"\[expects:([^\]]*)\]", re.IGNORECASE)


class Mark(NamedTuple):
    """One file as the disk showed it; ``exists=False`` for a file that was not there."""

    path: str
    exists: bool = False
    size: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    ino: int = 0

    def same_version(self, other: Mark) -> bool:
        return self.exists and other.exists and self[2:] == other[2:]


class Claim(NamedTuple):
    """A spawn that declared files: who to tell, what it declared, and the files at the spawn.

    ``paths`` are as declared (for messages); ``before`` holds the absolute snapshot, in the
    same order. ``seq`` orders claims for eviction; ``blocks`` counts blocked stops.
    """

    key: str
    parent: str
    name: str
    paths: tuple[str, ...]
    before: tuple[Mark, ...]
    prompt_digest: str = ""
    agent_id: str = ""
    blocks: int = 0
    seq: int = 0


class Evidence(NamedTuple):
    """Open claims by spawn key, and notes waiting for each parent thread's next event."""

    claims: Mapping[str, Claim] = {}
    notes: Mapping[str, tuple[str, ...]] = {}


class Shortfall(NamedTuple):
    """A declared file that does not hold, and why: missing, empty or unchanged."""

    path: str
    why: str


class Ruling(NamedTuple):
    """What to do at a stop: block with ``reason``, and/or tell the parent ``note``."""

    block: bool
    reason: str = ""
    note: str = ""


# ---------------------------------------------------------------- the declaration


def declared(*texts: object) -> tuple[str, ...]:
    """The paths of every ``[expects: a, b]`` in ``texts``, in order, without duplicates."""
    found: list[str] = []
    for value in texts:
        for group in _DECLARATION.findall(value if isinstance(value, str) else ""):
            found.extend(p.strip().strip("`'\"") for p in group.split(","))
    unique = dict.fromkeys(p[:MAX_PATH_CHARS] for p in found if p.strip("`'\" "))
    return tuple(unique)[:MAX_FILES]


# ---------------------------------------------------------------- the judgement


def shortfalls(before: Sequence[Mark], after: Sequence[Mark],
               paths: Sequence[str]) -> list[Shortfall]:
    """The declared files that are missing, empty or unchanged since the snapshot."""
    found = []
    for path, old, new in zip(paths, before, after, strict=True):
        why = _why(old, new)
        if why:
            found.append(Shortfall(path, why))
    return found


def _why(old: Mark, new: Mark) -> str:
    if not new.exists:
        return MISSING
    if new.size == 0:
        return EMPTY
    return UNCHANGED if old.same_version(new) else ""


def rule(claim: Claim, after: Sequence[Mark], *, claimed: str, mode: str,
         max_blocks: int) -> Ruling:
    """Judge a stop: block while files fall short and blocks remain, else tell the parent."""
    short = shortfalls(claim.before, after, claim.paths)
    if not short:
        return Ruling(False, note=verified(claim))
    if mode == "block" and claim.blocks < max_blocks:
        return Ruling(True, reason=block_reason(claim, short, max_blocks - claim.blocks - 1))
    return Ruling(False, note=unverified(claim, short, claimed))


# ---------------------------------------------------------------- state transitions


def declare(evidence: Evidence, claim: Claim) -> Evidence:
    """Record a claim, dropping the oldest beyond ``MAX_CLAIMS`` (agents that never stopped)."""
    claims = {**evidence.claims, claim.key: claim}
    if len(claims) > MAX_CLAIMS:
        claims = dict(sorted(claims.items(), key=lambda item: item[1].seq)[-MAX_CLAIMS:])
    return evidence._replace(claims=claims)


def find(evidence: Evidence, *, agent_id: str, spawn_key: str, prompt_digest: str) -> Claim | None:
    """The claim of a stopping agent: already linked to it, else by spawn key, else by prompt.

    A prompt matches only an unlinked claim, and only when exactly one has that prompt.
    """
    claims = evidence.claims.values()
    linked = [c for c in claims if agent_id and c.agent_id == agent_id]
    if linked:
        return linked[0]
    if spawn_key in evidence.claims and not evidence.claims[spawn_key].agent_id:
        return evidence.claims[spawn_key]
    same = [c for c in claims if prompt_digest and not c.agent_id
            and c.prompt_digest == prompt_digest]
    return same[0] if len(same) == 1 else None


def blocked(evidence: Evidence, claim: Claim, agent_id: str) -> Evidence:
    """The claim's stop was blocked once more; link it to the agent for the next stop."""
    updated = claim._replace(agent_id=agent_id or claim.agent_id, blocks=claim.blocks + 1)
    return evidence._replace(claims={**evidence.claims, claim.key: updated})


def settle(evidence: Evidence, claim: Claim, note: str) -> Evidence:
    """The agent stops: drop its claim and leave ``note`` for its parent's next event."""
    claims = {k: c for k, c in evidence.claims.items() if k != claim.key}
    waiting = (*evidence.notes.get(claim.parent, ()), note)[-MAX_NOTES:]
    return Evidence(claims, {**evidence.notes, claim.parent: waiting})


def forget(evidence: Evidence, keys: frozenset[str]) -> Evidence:
    """Drop the claims of spawns that never started (a hook or the CLI refused them)."""
    if keys.isdisjoint(evidence.claims):
        return evidence
    return evidence._replace(claims={k: c for k, c in evidence.claims.items() if k not in keys})


def take_notes(evidence: Evidence, thread: str) -> tuple[Evidence, tuple[str, ...]]:
    """Hand over and forget the notes waiting for ``thread``."""
    notes = evidence.notes.get(thread, ())
    rest = {k: v for k, v in evidence.notes.items() if k != thread}
    return evidence._replace(notes=rest), notes


# ---------------------------------------------------------------- what the models are told


def _files(short: Sequence[Shortfall]) -> str:
    return ", ".join(f"{s.path} ({_EXPLAINED[s.why]})" for s in short)


_EXPLAINED = {MISSING: "missing", EMPTY: "empty",
              UNCHANGED: "unchanged since the agent was spawned"}


def block_reason(claim: Claim, short: Sequence[Shortfall], left: int) -> str:
    """Feedback for the sub-agent whose stop is blocked: what is missing and what to do."""
    after = ("this is the last block: if you stop again without them, your parent is told "
             "your result is unverified" if left == 0 else
             f"{left} more blocked stop(s) before your parent is told your result is unverified")
    return (f"hookswarm evidence guard: your task declared [expects: {', '.join(claim.paths)}], "
            f"but these files do not hold yet: {_files(short)}. Write them now (each must exist, "
            "be non-empty and be written by you during this task), then finish. If you cannot "
            f"produce them, say so plainly in your final message; {after}.")


def _who(claim: Claim) -> str:
    return f"{'task' if claim.key.startswith(TASK_PREFIX) else 'agent'} '{claim.name}'"


def verified(claim: Claim) -> str:
    count = len(claim.paths)
    return (f"hookswarm evidence guard: {_who(claim)} verified: {count}/{count} files "
            f"({', '.join(claim.paths)}) exist, are non-empty and changed since its spawn.")


def unverified(claim: Claim, short: Sequence[Shortfall], claimed: str) -> str:
    """The parent's note for an agent that stopped without its files."""
    said = " ".join(claimed.split())
    said = said if len(said) <= MAX_CLAIM_CHARS else said[:MAX_CLAIM_CHARS - 3] + "..."
    held = len(claim.paths) - len(short)
    return (f"hookswarm evidence guard: {_who(claim)} unverified: {_files(short)}; "
            f"{held}/{len(claim.paths)} declared files hold. It claimed: \"{said}\". Do not "
            "rely on that claim: check the files, or run the work again.")
