"""Reading and writing settings files: a lock per directory, atomic replacement, one backup.

A write goes to a temporary file in the same directory, is flushed to disk and renamed over
the target, so a reader sees the old file or the new one, never half of either. The target's
permission bits carry over. A symlinked settings file (dotfiles) is written where it points.

The lock is ``flock`` on the directory itself: its inode outlives every rename inside it, and
no lock file is left in a ``.claude/`` that may be committed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from typing import TYPE_CHECKING

from hookswarm.lib.errors import SettingsError
from hookswarm.lib.flock import lock_within
from hookswarm.lib.swarmdir import SWARM_DIR, make_dirs

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

SCOPES = ("project", "local", "user")
BACKUP_SUFFIX = ".hookrun-backup"
LOCK_TIMEOUT = 10.0  # one lock per directory: settings files and hookrun.toml side by side


def settings_path(scope: str, *, project: str, environ: Mapping[str, str]) -> str:
    """The settings file of a scope, as Claude Code reads it (claude-code-hooks.md §4.3)."""
    if scope == "project":
        return os.path.join(project, ".claude", "settings.json")
    if scope == "local":
        return os.path.join(project, ".claude", "settings.local.json")
    if scope == "user":
        config_dir = environ.get("CLAUDE_CONFIG_DIR") or os.path.join(
            environ.get("HOME") or os.path.expanduser("~"), ".claude")
        return os.path.join(config_dir, "settings.json")
    raise SettingsError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")


def backup_path(path: str) -> str:
    return side_path(path, BACKUP_SUFFIX)


def side_path(path: str, suffix: str) -> str:
    """Where hookrun keeps a file about the settings file ``path`` (its backup, its manifest).

    Beside the file, unless that would show in ``git status``, which git-aware context hooks
    report to the model: for a ``.claude/`` folder inside a git work tree, the folder's
    self-ignoring ``.swarm/settings/``.
    """
    real = os.path.realpath(path)
    folder, name = os.path.split(real)
    project = os.path.dirname(folder)
    if os.path.basename(folder) != ".claude" or not _in_git(project):
        return real + suffix
    return os.path.join(project, SWARM_DIR, "settings", name + suffix)


def _in_git(folder: str) -> bool:
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def read(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror}); nothing was changed") from None


@contextlib.contextmanager
def locked(*paths: str) -> Iterator[None]:
    """Hold the hookrun lock of each file's directory, in a fixed order."""
    directories = sorted({os.path.dirname(os.path.realpath(p)) for p in paths})
    with contextlib.ExitStack() as stack:
        for directory in directories:
            stack.enter_context(_locked_dir(directory))
        yield


@contextlib.contextmanager
def _locked_dir(directory: str) -> Iterator[None]:
    _make_dir(directory)
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise SettingsError(f"{directory}: cannot open the directory to lock it "
                            f"({exc.strerror}); nothing was changed") from None
    try:
        _acquire(fd, directory)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, directory: str) -> None:
    if not lock_within(fd, LOCK_TIMEOUT, max_pause=0.05):
        raise SettingsError(f"another hookrun has held the lock on {directory} for "
                            f"{LOCK_TIMEOUT:g} s; wait for it to finish and run again")


def write(path: str, data: bytes, *, like: str | None = None) -> None:
    """Replace the file atomically with ``data``, keeping its mode (or the mode of ``like``)."""
    target = os.path.realpath(path)
    _make_dir(os.path.dirname(target))
    temp = os.path.join(os.path.dirname(target),
                        f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    try:
        _write_new(temp, data, mode=_mode(os.path.realpath(like) if like else target))
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise SettingsError(f"{path}: cannot write ({exc.strerror}); the file was not "
                            "changed") from None


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.realpath(path))


def _write_new(temp: str, data: bytes, *, mode: int | None) -> None:
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if mode is not None:
        os.chmod(temp, mode)


def _mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _make_dir(directory: str) -> None:
    try:
        make_dirs(directory)
    except OSError as exc:
        raise SettingsError(f"{directory}: cannot create the directory ({exc.strerror})") from None
