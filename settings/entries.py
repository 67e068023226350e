"""The settings entries that hand an event to ``hookrun run``: what they say and how to spot them.

One entry per event that hookrun.toml uses::

    {"matcher": "Bash|Edit", "hooks": [{"type": "command",
        "command": "'/path/to/.venv/bin/hookrun' run PreToolUse # hookrun install",
        "timeout": 12}]}

Every command install writes ends in the shell comment ``# hookrun install``, and only a group
whose single handler is exactly such a command counts as install's own: a hand-written
``hookrun run SessionStart --config /team/hookrun.toml`` is the user's and is never touched.
``is_hookrun_run`` still recognises any ``hookrun run EVENT`` by its shape (``npm run Stop``
and ``make run PreToolUse`` are not), for the checks that care what runs, not who wrote it.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookswarm.lib.errors import SettingsError
from hookswarm.lib.events import matches_everything, plain_names, rules
from hookswarm.lib.hookconfig import EVENTS, Config, HookSpec
from hookswarm.lib.matcher import subject
from hookswarm.lib.protocol import AGENT_TOOL_NAMES
from hookswarm.lib.schedule import longest_chain
from hookswarm.settings import serving

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# hookrun kills a timed-out hook's process group and answers within about a second of the
# hook's own timeout; Claude Code must not give up on hookrun before that answer arrives.
TIMEOUT_MARGIN = 2.0
# Seconds SessionStart's entry may spend starting hookrun serve (waiting for another session's
# start included) before its own hooks run: the entry's timeout is this plus theirs.
SERVER_START_TIMEOUT = 30
MARK = " # hookrun install"  # a shell comment: /bin/sh ignores it, uninstall looks for it
IF_CONFIGURED = "--if-configured"

SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&"})


@dataclass(frozen=True, slots=True)
class Entry:
    """hookrun's settings entry for one event."""

    event: str
    command: str
    timeout: int
    matcher: str = ""
    url: str = ""  # an http entry (``install --serve``) instead of a command
    on_failure: str = ""

    def group(self) -> dict[str, Any]:
        """The matcher group as it goes into ``hooks[event]``."""
        handler = self._http() if self.url else {"type": "command", "command": self.command,
                                                 "timeout": self.timeout}
        return {"matcher": self.matcher, "hooks": [handler]} if self.matcher else {
            "hooks": [handler]}

    def _http(self) -> dict[str, Any]:
        handler: dict[str, Any] = {
            "type": "http", "url": self.url, "timeout": self.timeout,
            "headers": {"Authorization": f"Bearer ${serving.TOKEN_ENV}"},
            "allowedEnvVars": [serving.TOKEN_ENV]}
        if self.on_failure:
            handler["onFailure"] = self.on_failure
        return handler


def hookrun_executable() -> str:
    """The installed ``hookrun`` console script, as an absolute path."""
    beside = Path(sys.executable).with_name("hookrun")
    if beside.is_file():
        return str(beside)
    found = shutil.which("hookrun")
    if found:
        return os.path.abspath(found)
    raise SettingsError("cannot find the hookrun executable next to this Python or on PATH; "
                        "install hookswarm (./install.sh) or pass --hookrun PATH")


def run_command(executable: str, event: str, config_path: str | None, *,
                if_configured: bool = False) -> str:
    """An entry's shell command: ``'<hookrun>' run EVENT [--config PATH | --if-configured]``."""
    words = [shlex.quote(executable), "run", event]
    if config_path:
        words += ["--config", shlex.quote(config_path)]
    elif if_configured:
        words.append(IF_CONFIGURED)
    return " ".join(words)


def installed_command(executable: str, event: str, config_path: str | None, *,
                      if_configured: bool = False) -> str:
    """The command install writes: ``run_command`` plus the mark that says install wrote it."""
    return run_command(executable, event, config_path, if_configured=if_configured) + MARK


def serve_command(executable: str, port: int, config_path: str | None, *,
                  user: bool = False) -> str:
    """SessionStart's entry under ``install --serve``: start the server, run the event's hooks
    (``user``: one server for every project, from a user-scope install)."""
    words = [shlex.quote(executable), "serve", "--session-start", "--port", str(port)]
    if config_path:
        words += ["--config", shlex.quote(config_path)]
    return " ".join(words + (["--user"] if user else [])) + MARK


def is_installed(command: Any) -> bool:
    """Is this exactly a command ``installed_command`` or ``serve_command`` writes?"""
    if not isinstance(command, str) or not command.endswith(MARK):
        return False
    words = shell_words(command)
    if words[1:3] == ["serve", "--session-start"] and len(words) in (5, 6, 7, 8):
        user = words[-1] == "--user"
        config = words[6] if len(words) - user == 7 else None
        return words[4].isdigit() and command == serve_command(
            words[0], int(words[4]), config, user=user)
    return _run_shape(words[2:]) and command == _rebuilt(words) + MARK


def is_hookrun_run(command: Any) -> bool:
    """Does this shell command run ``'<hookrun>' run EVENT [--config PATH]``, whoever wrote it?"""
    if not isinstance(command, str):
        return False
    command = command.removesuffix(MARK)
    words = shell_words(command)
    if len(words) < 2 or words[1] != "run" or any(w in SHELL_OPERATORS for w in words):
        return False
    name = os.path.basename(words[0])
    if name == "hookrun":
        return True  # whatever its options (`--if-configured`, an older `--config` form)
    # Another program is hookrun only as a --hookrun PATH whose file name says so, in exactly
    # the text install writes: `./gradlew run Stop` stays the user's.
    return ("/" in words[0] and "hookrun" in name and _run_shape(words[2:])
            and command == _rebuilt(words))


def shell_words(command: str) -> list[str]:
    """The words of a shell command, operators (``&&``, ``;``, ``|``) as words of their own."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return []


def runs_hookrun(command: str) -> bool:
    """Does the command start ``hookrun run`` anywhere (a program whose name says hookrun)?"""
    words = shell_words(command)
    return any("hookrun" in os.path.basename(word) and after == "run"
               for word, after in itertools.pairwise(words))


def _run_shape(rest: Sequence[str]) -> bool:
    """``EVENT``, ``EVENT --if-configured`` or ``EVENT --config PATH``."""
    options = list(rest[1:])
    return (len(rest) >= 1 and rest[0] in EVENTS
            and (options in ([], [IF_CONFIGURED])
                 or (len(options) == 2 and options[0] == "--config" and bool(options[1]))))


def _rebuilt(words: Sequence[str]) -> str:
    """The ``run_command`` text of an entry's words, to tell install's exact text apart."""
    return run_command(words[0], words[2], words[4] if len(words) == 5 else None,
                       if_configured=len(words) == 4)


def is_hookrun_group(group: Any) -> bool:
    """Does this matcher group hand its event to ``hookrun run``, whoever wrote it?"""
    return _single_command(group, is_hookrun_run)


def is_installed_group(group: Any) -> bool:
    """Is this matcher group one that install wrote (and so may update or remove)?"""
    return _single_command(group, is_installed) or _installed_http(group)


def _installed_http(group: Any) -> bool:
    handlers = group.get("hooks") if isinstance(group, dict) else None
    if not isinstance(handlers, list) or len(handlers) != 1 or not isinstance(handlers[0], dict):
        return False
    return handlers[0].get("type") == "http" and bool(
        serving.URL.match(str(handlers[0].get("url", ""))))


def _single_command(group: Any, test: Callable[[Any], bool]) -> bool:
    handlers = group.get("hooks") if isinstance(group, dict) else None
    if not isinstance(handlers, list) or len(handlers) != 1:
        return False
    handler = handlers[0]
    return (isinstance(handler, dict) and handler.get("type") == "command"
            and test(handler.get("command")))


def desired(config: Config, *, executable: str, config_path: str | None,
            if_configured: bool = False, port: int = 0, user: bool = False,
            ) -> tuple[Entry, ...]:
    """One entry per event of ``config``, in Claude Code's event order; with a ``port``, http
    entries for ``hookrun serve`` where an http answer can say everything, and a SessionStart
    entry that starts the server.

    ``if_configured``: the command entries stay silent in a project without a hookrun.toml
    (user settings without ``--config`` apply to every project, as the plugin's entries do).
    """
    _check_recognisable(executable)
    events = set(config.events()) | ({"SessionStart"} if port else set())
    return tuple(_entry(config, event, executable=executable, config_path=config_path,
                        if_configured=if_configured, port=port, user=user)
                 for event in EVENTS if event in events)


def _entry(config: Config, event: str, *, executable: str, config_path: str | None,
           if_configured: bool, port: int, user: bool) -> Entry:
    hooks = config.for_event(event)
    matcher = combined_matcher(event, [h.matcher for h in hooks])
    timeout = entry_timeout(hooks)
    if port and event == "SessionStart":
        return Entry(event, serve_command(executable, port, config_path, user=user),
                     timeout + SERVER_START_TIMEOUT, matcher)
    if port and rules(event).http_entry:
        block = any(h.on_error == "block" for h in hooks) and not rules(
            event).on_failure_ignored
        return Entry(event, "", timeout, matcher, url=serving.url(port, event),
                     on_failure="block" if block else "")
    return Entry(event, installed_command(executable, event, config_path,
                                          if_configured=if_configured), timeout, matcher)


def _check_recognisable(executable: str) -> None:
    """Uninstall finds the entries by their shape, so install writes no entry it would miss."""
    if not is_hookrun_run(run_command(executable, "Stop", None)):
        raise SettingsError(f"--hookrun {executable!r}: give the program hookrun or a path "
                            "whose file name contains 'hookrun' (such as /opt/bin/hookrun-dev), "
                            "so that uninstall can tell hookrun's entries from commands like "
                            "`npm run Stop` or `./gradlew run Stop`")


def entry_timeout(hooks: Sequence[HookSpec]) -> int:
    """Seconds for the entry: the longest chain of timeouts along ``after`` edges, plus margin."""
    timeouts = {h.name: h.timeout for h in hooks}
    longest = longest_chain(list(timeouts), {h.name: h.after for h in hooks}, timeouts.__getitem__)
    return math.ceil(longest + TIMEOUT_MARGIN)


def combined_matcher(event: str, matchers: Sequence[str]) -> str:
    """A matcher that fires exactly when one of ``matchers`` would ("" matches everything)."""
    if subject(event, {}) is None or any(map(matches_everything, matchers)):
        return ""
    names: list[str] = []
    patterns: list[str] = []
    for matcher in matchers:
        plain = plain_names(matcher)
        if plain is not None:
            names += plain
        elif _compiles(matcher):
            patterns.append(matcher)  # one that does not compile matches nothing
    if not patterns:
        return "|".join(_unique(names)) or (matchers[0] if matchers else "")
    if not names:
        return "|".join(_unique(patterns))
    if AGENT_TOOL_NAMES & set(names):
        names += sorted(AGENT_TOOL_NAMES)  # inside a regex, Claude Code's alias may not apply
    # In a regex, a bare name is searched for anywhere: Edit would match NotebookEdit.
    return "|".join([f"^(?:{'|'.join(_unique(names))})$", *_unique(patterns)])


def matcher_covers(event: str, outer: str, inner: str) -> bool:
    """Does ``outer`` fire for every tool ``inner`` fires for (as far as the text can tell)?"""
    if subject(event, {}) is None or matches_everything(outer) or outer == inner:
        return True
    if matches_everything(inner):
        return False
    inner_names, outer_names = _plain_names(inner), _plain_names(outer)
    return inner_names is not None and outer_names is not None and inner_names <= outer_names


def _plain_names(matcher: str) -> frozenset[str] | None:
    """The names of a plain matcher, the Agent tool's two names as one; None for a regex."""
    words = plain_names(matcher)
    if words is None:
        return None
    return frozenset("Agent" if w in AGENT_TOOL_NAMES else w for w in words)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))

