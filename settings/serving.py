"""What ``hookrun install --serve`` keeps in the settings files: the port and the token.

The port is in the URL of every http entry (``http://127.0.0.1:PORT/hookrun-install/EVENT``);
the token is ``env.HOOKRUN_TOKEN`` in a personal file (``.claude/settings.local.json`` for a
project install, never the shared ``settings.json``), which Claude Code puts into the headers
of the entries that list it in ``allowedEnvVars``. Both survive a reinstall unchanged.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import socket
from typing import TYPE_CHECKING, Any

from hookswarm.lib.errors import SettingsError
from hookswarm.settings import edit, files
from hookswarm.settings.document import parse
from hookswarm.settings.style import detect

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

TOKEN_ENV = "HOOKRUN_TOKEN"
# Claude Code names the URL when a dead server blocks an onFailure "block" event: the query
# is what that message tells the person to do.
IF_DOWN = "?if-not-running=start-it-with-hookrun-serve"
URL = re.compile(r"^http://127\.0\.0\.1:(\d{1,5})/hookrun-install/([A-Za-z]+)"
                 + re.escape(IF_DOWN) + "$")


SESSION_START = re.compile(r" serve --session-start --port (\d{1,5})\b")


def url(port: int, event: str) -> str:
    return f"http://127.0.0.1:{port}/hookrun-install/{event}{IF_DOWN}"


def token_file(scope: str, *, project: str, environ: Mapping[str, str]) -> str:
    """Where the token lives: the scope's own file, except that a project install keeps it in
    the uncommitted ``settings.local.json``."""
    return files.settings_path("local" if scope == "project" else scope, project=project,
                               environ=environ)


def _json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(files.read(path) or b"{}")
    except (ValueError, SettingsError):  # unreadable: no port or token from this file
        return {}
    return data if isinstance(data, dict) else {}


def stored_token(path: str) -> str:
    env = _json(path).get("env")
    value = env.get(TOKEN_ENV) if isinstance(env, dict) else None
    return value if isinstance(value, str) else ""


def new_token() -> str:
    return secrets.token_urlsafe(24)


def stored_port(path: str) -> int:
    """The port of the entries ``install --serve`` wrote into ``path`` (0: none)."""
    hooks = _json(path).get("hooks")
    for groups in hooks.values() if isinstance(hooks, dict) else ():
        for group in groups if isinstance(groups, list) else ():
            for handler in group.get("hooks", []) if isinstance(group, dict) else ():
                found = _port_in(handler) if isinstance(handler, dict) else 0
                if found:
                    return found
    return 0


def _port_in(handler: dict[str, Any]) -> int:
    found = (URL.match(str(handler.get("url", ""))) if handler.get("type") == "http"
             else SESSION_START.search(str(handler.get("command", ""))))
    return int(found.group(1)) if found else 0


# The kernel gives client connections local ports from this range; a client socket on the
# server's port, live or in TIME_WAIT (a minute after it closed), keeps the server from binding
# it. So the installed port lies below it, where no connection lands by chance.
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
LOWEST_PORT = 20000
TRIES = 64


def free_port(*, choose: Callable[[int, int], int] = random.randint) -> int:
    """A port nothing uses now on 127.0.0.1, outside the kernel's ephemeral range if it can."""
    low, high = ephemeral_range()
    span = (LOWEST_PORT, low - 1) if low - 1 >= LOWEST_PORT else (high + 1, 65535)
    for _ in range(TRIES if span[0] <= span[1] else 0):
        port = choose(*span)
        if _free(port):
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ephemeral_range(path: str = EPHEMERAL_RANGE) -> tuple[int, int]:
    try:
        with open(path, encoding="ascii") as handle:
            low, high = (int(word) for word in handle.read().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


SCOPES = ("local", "project", "user")


def find(*, project: str, environ: Mapping[str, str],
         scopes: tuple[str, ...] = SCOPES) -> tuple[int, str]:
    """The installed port and token: the project's files first, then the user's."""
    port, token = 0, environ.get(TOKEN_ENV, "")
    for scope in scopes:
        if port and token:
            break
        path = files.settings_path(scope, project=project, environ=environ)
        port = port or stored_port(path)
        token = token or stored_token(path)
    return port, token


def put_token(text: str, token: str, *, path: str) -> str:
    """Settings text with ``env.HOOKRUN_TOKEN`` set to ``token``, the rest untouched."""
    document = parse(text, path)
    style = detect(document)
    if document.root is None:
        return style.render({"env": {TOKEN_ENV: token}}, base="") + style.newline
    env = document.root.get("env")
    if env is None:
        return edit.append(text, document.root, lambda base: style.render_member(
            "env", {TOKEN_ENV: token}, base=base), style)
    if env.value.kind != "object":
        raise SettingsError(f"{path}: 'env' must be an object; fix it by hand (nothing was "
                            "changed)")
    member = env.value.get(TOKEN_ENV)
    if member is not None:
        return edit.replace(text, member.value, json.dumps(token))
    return edit.append(text, env.value, lambda base: style.render_member(
        TOKEN_ENV, token, base=base), style)


def drop_token(text: str, *, path: str) -> str:
    """Settings text without ``env.HOOKRUN_TOKEN`` (and without an ``env`` it leaves empty)."""
    document = parse(text, path)
    env = document.root.get("env") if document.root is not None else None
    if env is None or env.value.kind != "object" or env.value.get(TOKEN_ENV) is None:
        return text
    assert document.root is not None
    if len(env.value.members) > 1:
        return edit.remove(text, env.value, env.value.index_of(TOKEN_ENV))
    return edit.remove(text, document.root, document.root.index_of("env"))
