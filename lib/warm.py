"""Warm Python script hooks: which commands a zygote can start exactly, and the zygotes.

A command qualifies when ``/bin/sh`` would do nothing but start a Python interpreter on a
script or module: ``python3 x.py ARGS``, ``python -m mod ARGS``, ``./x.py ARGS`` with a python
shebang, ``$VAR`` expanded where the shell would expand it to one word. Anything else (other
options such as ``-X`` or ``-u``, pipes, redirections, ``uv run``) starts as a normal process.
The interpreter is the one ``/bin/sh`` finds on the hook's PATH; a shim script (pyenv) is asked
which interpreter it runs, in the hook's directory, as the shim itself decides it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import tempfile
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.lib import process

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.process import Child, ProcessOutcome, Zygote

_PYTHON = re.compile(r"^python(?:\d+(?:\.\d+)?)?$")
_SHELL_SPECIAL = re.compile(r"[|&;<>()`*?\[\]{}~!#\\\n]")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_SPLITS = re.compile(r"[\s*?\[]")
# What interpreter start-up reads from the environment: a zygote serves one set of them.
_STARTUP_ENV = re.compile(r"^(?:PYTHON\w*|HOME|LANG|LC_\w+|PYENV_VERSION)$")
PRELOAD_FILE = "warm-preload.json"


class Plan(NamedTuple):
    """How a fresh start would look: the interpreter word, ``sys.argv`` and what runs."""

    interpreter: str  # as the command or shebang names it (resolved later)
    argv: tuple[str, ...]
    script: str = ""
    module: str = ""


def plan(command: str, *, environ: Mapping[str, str], cwd: str) -> Plan | None:
    """The fresh start ``command`` means, or None when only a real shell can run it."""
    words = _words(command, environ)
    if not words:
        return None
    if _PYTHON.match(os.path.basename(words[0])):
        return _interpreter_command(words)
    return _shebang_command(words, cwd)


def _words(command: str, environ: Mapping[str, str]) -> list[str] | None:
    if _SHELL_SPECIAL.search(_VARIABLE.sub("", command)) or ("'" in command and "$" in command):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    expanded = []
    for word in words:
        value = _expand(word, environ)
        if value is None:
            return None
        expanded.append(value)
    return expanded


def _expand(word: str, environ: Mapping[str, str]) -> str | None:
    names = [a or b for a, b in _VARIABLE.findall(word)]
    # a value the shell could split or glob where unquoted (a project path with a space)
    if any(name not in environ or _SPLITS.search(environ[name]) for name in names):
        return None
    value = _VARIABLE.sub(lambda m: environ[m.group(1) or m.group(2)], word)
    return None if "$" in value or (names and not value) else value


def _interpreter_command(words: list[str]) -> Plan | None:
    rest = words[1:]
    if len(rest) >= 2 and rest[0] == "-m" and not rest[1].startswith("-"):
        return Plan(words[0], ("-m", *rest[2:]), module=rest[1])
    if not rest or rest[0].startswith("-"):
        return None
    return Plan(words[0], tuple(rest), script=rest[0])


def _shebang_command(words: list[str], cwd: str) -> Plan | None:
    script = words[0]
    path = os.path.join(cwd, script)
    if "/" not in script or not os.access(path, os.X_OK) or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    parts = first[2:].decode(errors="replace").split()
    if len(parts) == 2 and os.path.basename(parts[0]) == "env":
        parts = parts[1:]
    if len(parts) != 1 or not _PYTHON.match(os.path.basename(parts[0])):
        return None
    return Plan(parts[0], tuple(words), script=script)


def find_on_path(word: str, *, environ: Mapping[str, str], cwd: str) -> str | None:
    """What ``/bin/sh`` runs for ``word``: a path as given, else the first PATH hit."""
    if "/" in word:
        path = os.path.join(cwd, word)
        return path if os.access(path, os.X_OK) else None
    for directory in environ.get("PATH", "").split(":"):
        candidate = os.path.join(cwd, directory or ".", word)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _is_binary(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _version_files(cwd: str) -> tuple[tuple[str, int], ...]:
    """The ``.python-version`` files a pyenv-style shim reads from ``cwd`` upward."""
    found = []
    directory = os.path.abspath(cwd)
    while True:
        candidate = os.path.join(directory, ".python-version")
        if os.path.exists(candidate):
            found.append((candidate, os.stat(candidate).st_mtime_ns))
        parent = os.path.dirname(directory)
        if parent == directory:
            return tuple(found)
        directory = parent


def preloadable(script: str) -> list[str]:
    """The top-level modules a script imports (absolute imports only), to preload."""
    try:
        with open(script, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return list(dict.fromkeys(names))


class Shim(NamedTuple):
    """What a shim script resolved to: the interpreter, and the environment it changed."""

    interpreter: str
    changed: tuple[tuple[str, str | None], ...] = ()  # None: the shim removed the variable

    def environ(self, environ: Mapping[str, str]) -> dict[str, str]:
        result = dict(environ)
        for key, value in self.changed:
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return result


class Pool:
    """The zygotes of one ``hookrun serve``: one per interpreter and start-up environment."""

    def __init__(self, state_dir: str) -> None:
        self._state_dir = state_dir
        self._lock = threading.Lock()
        self._zygotes: dict[tuple[Any, ...], Zygote] = {}
        self._interpreters: dict[tuple[Any, ...], Shim | None] = {}
        self._learned: dict[str, list[str]] = _read_learned(state_dir)
        self._read: dict[str, tuple[int, int, int] | None] = {}  # scripts learned from, as read
        # Hooks being handed to each zygote now: a replaced zygote ends only once its last
        # hand-off is done (ending it earlier resets the connections it has not accepted yet).
        self._starting: dict[Zygote, int] = {}
        self._retired: set[Zygote] = set()
        self._sockets = tempfile.mkdtemp(prefix="hookrun-warm-")

    def start(self, command: str, *, environ: Mapping[str, str],
              cwd: str) -> Child | ProcessOutcome | None:
        """The hook started warm, or None: start it as a normal process."""
        found = plan(command, environ=environ, cwd=cwd)
        shim = found and self._interpreter(found.interpreter, environ, cwd)
        if found is None or not shim:
            return None
        interpreter, environ = shim.interpreter, shim.environ(environ)
        script = os.path.join(cwd, found.script) if found.script else ""
        if script and not os.path.isfile(script):
            return None  # the fresh start's own error message is the one to give
        zygote = self._zygote(interpreter, environ, script)
        if zygote is None:
            return None
        path0 = os.path.dirname(os.path.realpath(script)) if script else os.path.abspath(cwd)
        try:
            return zygote.start({"argv": list(found.argv), "env": dict(environ), "cwd": cwd,
                                 "script": found.script, "module": found.module,
                                 "path0": path0})
        finally:
            self._handed_off(zygote)

    def close(self) -> None:
        with self._lock:
            zygotes = {*self._zygotes.values(), *self._retired}
            self._zygotes = {}
            self._retired = {z for z in zygotes if z in self._starting}  # end at hand-off
        for zygote in zygotes - self._retired:
            zygote.close()

    def _handed_off(self, zygote: Zygote) -> None:
        """One start on ``zygote`` is over (the hook forked, or not): end it if it was replaced
        and no other start still waits on it."""
        with self._lock:
            self._starting[zygote] -= 1
            if self._starting[zygote]:
                return
            del self._starting[zygote]
            if zygote not in self._retired:
                return
            self._retired.discard(zygote)
        zygote.close()

    def _interpreter(self, word: str, environ: Mapping[str, str], cwd: str) -> Shim | None:
        found = find_on_path(word, environ=environ, cwd=cwd)
        if found is None or _is_binary(found):
            return Shim(found) if found else None
        key = (found, os.path.abspath(cwd), environ.get("PYENV_VERSION"), _version_files(cwd))
        with self._lock:
            if key not in self._interpreters:
                self._interpreters[key] = _ask(found, environ, cwd)
            return self._interpreters[key]

    def _zygote(self, interpreter: str, environ: Mapping[str, str],
                script: str) -> Zygote | None:
        startup = tuple(sorted((k, v) for k, v in environ.items() if _STARTUP_ENV.match(k)))
        key = (interpreter, startup)
        with self._lock:
            learned = self._learn(interpreter, script)
            zygote = self._zygotes.get(key)
            if zygote is None or not zygote.alive() or not set(learned) <= set(
                    zygote.preloaded):
                if zygote is not None:  # it lacks modules learned since: a new one preloads them
                    del self._zygotes[key]
                    self._retire(zygote)
                started = process.start_zygote(
                    interpreter, env=environ, preload=learned,
                    socket_path=os.path.join(self._sockets, f"z-{os.urandom(6).hex()}"))
                if isinstance(started, str):
                    return None
                self._zygotes[key] = zygote = started
            self._starting[zygote] = self._starting.get(zygote, 0) + 1
            return zygote

    def _retire(self, zygote: Zygote) -> None:
        """End a replaced zygote now, or after the starts still handing it hooks (lock held)."""
        if zygote in self._starting:
            self._retired.add(zygote)
        else:
            zygote.close()

    def _learn(self, interpreter: str, script: str) -> list[str]:
        known = self._learned.setdefault(interpreter, [])
        key = _stat_key(script) if script else None
        if not script or self._read.get(script) == key:
            return known  # parsed already, unchanged since
        self._read[script] = key
        new = [name for name in preloadable(script) if name not in known]
        if new:
            known += new
            _write_learned(self._state_dir, self._learned)
        return known


_ASK = "import json, os, sys; print(json.dumps([sys.executable, dict(os.environ)]))"


def _stat_key(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _ask(shim: str, environ: Mapping[str, str], cwd: str) -> Shim | None:
    """Which interpreter a shim script runs here, and how it changes the environment: run it
    once and ask the interpreter it starts."""
    child = process.start([shim, "-c", _ASK], cwd=cwd, env=environ)
    if isinstance(child, process.ProcessOutcome):
        return None
    outcome = child.communicate(b"", timeout=10.0, max_output=1 << 20)
    try:
        path, seen = json.loads(outcome.stdout)
    except ValueError:
        return None
    if outcome.exit_code != 0 or not isinstance(path, str) or not os.path.isabs(path):
        return None
    changed = [(k, v) for k, v in seen.items() if environ.get(k) != v]
    changed += [(k, None) for k in environ if k not in seen]
    return Shim(path, tuple(sorted(changed, key=lambda item: item[0])))


def _read_learned(state_dir: str) -> dict[str, list[str]]:
    try:
        with open(os.path.join(state_dir, PRELOAD_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: [n for n in v if isinstance(n, str)] for k, v in data.items()
            if isinstance(v, list)}


def _write_learned(state_dir: str, learned: Mapping[str, list[str]]) -> None:
    try:
        os.makedirs(state_dir, exist_ok=True)
        temp = os.path.join(state_dir, f"{PRELOAD_FILE}.{os.getpid()}.tmp")
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(learned, handle)
        os.replace(temp, os.path.join(state_dir, PRELOAD_FILE))
    except OSError:
        pass  # learning is an optimisation: a later run learns again
