"""The agent guard's state: one small JSON file per session under ``<project>/.swarm/guard/``.

Sibling PreToolUse hooks of one message run concurrently, so every change happens under a
per-session ``fcntl`` lock on ``<session>.lock`` (a stable inode: the data file itself is
replaced atomically, which would orphan a lock held on it). ``fcntl`` rather than ``filelock``:
the guard is on the hook hot path and ``filelock`` costs ~35 ms of imports.

Files of sessions idle for ``MAX_AGE`` seconds, and all but the ``MAX_SESSIONS`` newest, are
removed when a new session file is created.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

from hookswarm.hooks.agent_guard_rule import Message, Session, Thread
from hookswarm.hooks.evidence_rule import Claim, Evidence, Mark
from hookswarm.lib.errors import HookswarmError
from hookswarm.lib.flock import lock_within

VERSION = 1
LOCK_TIMEOUT = 2.0
MAX_AGE = 3 * 24 * 3600.0
MAX_SESSIONS = 200
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

T = TypeVar("T")
Change = Callable[[Session], tuple[Session, T]]


class StateUnavailable(HookswarmError):
    """The state cannot be used (I/O error, lock held too long); the guard fails open."""


class Place(NamedTuple):
    """Where one session's state lives."""

    directory: str
    name: str


def place_of(payload: Mapping[str, Any], environ: Mapping[str, str]) -> Place | None:
    """The session's state in ``$CLAUDE_PROJECT_DIR``, else ``cwd``; None without a session."""
    name = session_name(payload.get("session_id"))
    if not name:
        return None
    cwd = payload.get("cwd")
    project = environ.get("CLAUDE_PROJECT_DIR") or (cwd if isinstance(cwd, str) else "")
    return Place(guard_dir(project or os.getcwd()), name)


def guard_dir(project_dir: str) -> str:
    return os.path.join(project_dir, ".swarm", "guard")


def session_name(session_id: object) -> str:
    """A file-name-safe form of ``session_id`` (a UUID in practice); ``""`` if there is none."""
    if not isinstance(session_id, str):
        return ""
    return "".join(c if c in _SAFE else "_" for c in session_id)[:128]


# ---------------------------------------------------------------- JSON form


def to_json(session: Session) -> dict[str, Any]:
    threads = {key: _thread_json(thread) for key, thread in session.threads.items()}
    data = {"version": VERSION, "seq": session.seq, "threads": threads}
    if session.evidence != Evidence():
        data["evidence"] = _evidence_json(session.evidence)
    return data


def _evidence_json(evidence: Evidence) -> dict[str, Any]:
    claims = {key: {**claim._asdict(), "before": [list(mark) for mark in claim.before]}
              for key, claim in evidence.claims.items()}
    return {"claims": claims, "notes": {k: list(v) for k, v in evidence.notes.items()}}


def _thread_json(thread: Thread) -> dict[str, Any]:
    data = thread._asdict()
    data["last"] = None if thread.last is None else thread.last._asdict()
    return data


def from_json(data: object) -> Session:
    """Parse a state file's JSON; ``ValueError`` names what is wrong with it."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"not a version-{VERSION} agent guard state")
    threads = data.get("threads")
    if not isinstance(threads, dict):
        raise ValueError("'threads' is not an object")
    return Session(_int(data, "seq"), {str(k): _thread(v) for k, v in threads.items()},
                   _evidence(data.get("evidence", {})))


def _evidence(data: object) -> Evidence:
    if not isinstance(data, dict):
        raise ValueError("'evidence' is not an object")
    claims, notes = data.get("claims", {}), data.get("notes", {})
    if not isinstance(claims, dict) or not isinstance(notes, dict):
        raise ValueError("'evidence' holds no 'claims' and 'notes' objects")
    return Evidence({str(k): _claim(v) for k, v in claims.items()},
                    {str(k): tuple(_strings(v, "notes")) for k, v in notes.items()})


def _claim(data: object) -> Claim:
    if not isinstance(data, dict):
        raise ValueError("a claim is not an object")
    texts = [_string(data, key) for key in ("key", "parent", "name", "prompt_digest", "agent_id")]
    before = data.get("before")
    if not isinstance(before, list):
        raise ValueError("'before' is not a list")
    paths = tuple(_strings(data.get("paths"), "paths"))
    if len(before) != len(paths):
        raise ValueError("'before' and 'paths' differ in length")
    return Claim(texts[0], texts[1], texts[2], paths, tuple(_mark(m) for m in before),
                 texts[3], texts[4], _int(data, "blocks"), _int(data, "seq"))


def _mark(data: object) -> Mark:
    """A snapshot entry, stored compactly as ``[path, exists, size, mtime, ctime, inode]``."""
    if not (isinstance(data, list) and len(data) == len(Mark._fields)
            and isinstance(data[0], str) and isinstance(data[1], bool)
            and all(type(n) is int and n >= 0 for n in data[2:])):
        raise ValueError("a file mark is not [path, exists, size, mtime, ctime, inode]")
    return Mark(*data)


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"'{key}' is not a string")
    return value


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{key}' is not a list of strings")
    return value


def _thread(data: object) -> Thread:
    if not isinstance(data, dict):
        raise ValueError("a thread is not an object")
    prompt_id = data.get("prompt_id")
    if not isinstance(prompt_id, str):
        raise ValueError("'prompt_id' is not a string")
    open_epoch = None if data.get("open_epoch") is None else _int(data, "open_epoch")
    return Thread(_int(data, "epoch"), prompt_id, open_epoch, _int(data, "pending"),
                  _message(data.get("last")), _int(data, "requested"), _int(data, "spawned"),
                  _int(data, "touched"))


def _message(data: object) -> Message | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("'last' is not an object")
    names = _strings(data.get("names"), "names")
    return Message(_int(data, "background"), _int(data, "foreground"), _int(data, "epoch"),
                   tuple(names))


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"'{key}' is not a non-negative integer")
    return value


# ---------------------------------------------------------------- the file


def peek(directory: str, name: str) -> Session | None:
    """Read without the lock (files are replaced atomically); an empty session if missing.

    ``None`` when the file cannot be read or parsed: let :func:`update` report and repair it.
    """
    try:
        with open(os.path.join(directory, f"{name}.json"), "rb") as handle:
            return from_json(json.loads(handle.read()))
    except FileNotFoundError:
        return Session()
    except (OSError, ValueError, RecursionError):
        return None


def update(directory: str, name: str, change: Change[T], *, note: Callable[[str], None],
           now: float, timeout: float = LOCK_TIMEOUT) -> T:
    """Apply ``change`` to the session's state under its lock and write the result.

    A corrupt file is reported through ``note`` and replaced by a fresh state. Raises
    :class:`StateUnavailable` when the state cannot be read, locked or written.
    """
    path = os.path.join(directory, f"{name}.json")
    try:
        os.makedirs(directory, exist_ok=True)
        with locked(os.path.join(directory, f"{name}.lock"), timeout=timeout):
            session, created = _load(path, note)
            session, result = change(session)
            _write(path, session)
    except OSError as error:
        raise StateUnavailable(f"cannot use {path}: {error}") from error
    if created:
        sweep(directory, now=now, keep=name)
    return result


def _load(path: str, note: Callable[[str], None]) -> tuple[Session, bool]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return Session(), True
    try:
        return from_json(json.loads(raw)), False
    except (ValueError, RecursionError) as error:  # nested past the parser's depth: corrupt
        note(f"state file {path} is corrupt ({error}); allowing and starting a fresh state")
        return Session(), False


def _write(path: str, session: Session) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(to_json(session), separators=(",", ":")))  # dumps: C encoder
    os.replace(temporary, path)


@contextlib.contextmanager
def locked(path: str, *, timeout: float) -> Iterator[None]:
    """Hold the exclusive lock on ``path``; :class:`StateUnavailable` after ``timeout`` s."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, timeout)
        yield
    finally:
        os.close(fd)


def _acquire(fd: int, path: str, timeout: float) -> None:
    if not lock_within(fd, timeout):
        raise StateUnavailable(f"{path} stayed locked for {timeout:g} s")


# ---------------------------------------------------------------- housekeeping


def stale_sessions(mtimes: Mapping[str, float], *, now: float, keep: str,
                   max_age: float = MAX_AGE, max_sessions: int = MAX_SESSIONS) -> list[str]:
    """Sessions idle longer than ``max_age``, or older than the newest ``max_sessions``."""
    newest_first = sorted(mtimes, key=lambda name: mtimes[name], reverse=True)
    surplus = set(newest_first[max_sessions:])
    return sorted(name for name in mtimes
                  if name != keep and (now - mtimes[name] > max_age or name in surplus))


def sweep(directory: str, *, now: float, keep: str) -> None:
    """Remove old sessions' files; sessions whose lock is held are skipped, never waited for."""
    with contextlib.suppress(OSError):
        for name in stale_sessions(_session_mtimes(directory), now=now, keep=keep):
            _remove_session(directory, name)


def _session_mtimes(directory: str) -> dict[str, float]:
    mtimes: dict[str, float] = {}
    for entry in os.scandir(directory):
        name = entry.name.split(".", 1)[0]
        with contextlib.suppress(OSError):
            mtimes[name] = max(mtimes.get(name, 0.0), entry.stat().st_mtime)
    return mtimes


def _remove_session(directory: str, name: str) -> None:
    base = os.path.join(directory, name)
    with contextlib.suppress(StateUnavailable, OSError), locked(f"{base}.lock", timeout=0):
        for suffix in (".json", ".json.tmp", ".lock"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(base + suffix)
