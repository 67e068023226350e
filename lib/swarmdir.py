"""The ``.swarm/`` folder that hookrun and swarm share, and the ``.gitignore`` it carries.

Git-aware context hooks report ``git status`` to the model; ``.swarm/`` must never show
there, so whoever creates it also writes ``.swarm/.gitignore`` containing ``*``. Standard
library only: ``hookrun run`` writes its records through here on every event.
"""

from __future__ import annotations

import os

SWARM_DIR = ".swarm"
GITIGNORE = "*\n"


def make_dirs(path: str) -> None:
    """``os.makedirs(path)``; if ``path`` lies in a ``.swarm`` folder, that folder is ignored."""
    os.makedirs(path, exist_ok=True)
    parts = os.path.abspath(path).split(os.sep)
    if SWARM_DIR in parts:
        ignore_in_git(os.sep.join(parts[:len(parts) - parts[::-1].index(SWARM_DIR)]))


def ignore_in_git(folder: str) -> None:
    """Write ``folder/.gitignore`` containing ``*`` unless the folder already has one."""
    try:
        fd = os.open(os.path.join(folder, ".gitignore"), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o644)
    except FileExistsError:
        return
    try:
        os.write(fd, GITIGNORE.encode())
    finally:
        os.close(fd)
