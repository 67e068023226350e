"""hookrun's settings entries: the command, the covering matcher, the timeout, recognition."""

from __future__ import annotations

import shlex
import sys
import tomllib
from pathlib import Path

import pytest

from hookswarm.executor import config as configuration
from hookswarm.executor.config import HookSpec
from hookswarm.executor.matcher import matches
from hookswarm.settings import entries
from hookswarm.settings.entries import Entry


def hook(name: str, timeout: float = 10, after: tuple[str, ...] = (),
         matcher: str = "") -> HookSpec:
    return HookSpec(position=0, name=name, event="PreToolUse", command="true",
                    timeout=timeout, after=after, matcher=matcher)


@pytest.mark.parametrize(("hooks", "seconds"), [
    ([hook("a", 5)], 7),
    ([hook("a", 5), hook("b", 30)], 32),
    ([hook("a", 0.5)], 3),
    ([hook("a", 5), hook("b", 10, after=("a",))], 17),
    ([hook("a", 5), hook("b", 10, after=("a",)), hook("c", 1, after=("b", "a"))], 18),
    ([hook("a", 20), hook("b", 1), hook("c", 1, after=("b",))], 22),
    ([hook("a", 5, after=("gone",))], 7),
])
def test_the_entry_outlasts_the_longest_chain_of_hook_timeouts(hooks: list[HookSpec],
                                                               seconds: int) -> None:
    assert entries.entry_timeout(hooks) == seconds


@pytest.mark.parametrize(("event", "matchers", "combined"), [
    ("PreToolUse", ["Bash"], "Bash"),
    ("PreToolUse", ["Bash", "Edit|Write"], "Bash|Edit|Write"),
    ("PreToolUse", ["Bash, Edit", "Edit | Bash"], "Bash|Edit"),
    ("PreToolUse", ["Bash", ""], ""),
    ("PreToolUse", ["*", "Bash"], ""),
    ("PreToolUse", ["mcp__.*", "Bash"], "Bash|mcp__.*"),
    ("PreToolUse", ["Task", "mcp__.*"], "Task|Agent|mcp__.*"),
    ("SessionStart", ["startup", "resume"], "startup|resume"),
    ("UserPromptSubmit", ["anything"], ""),
    ("Stop", [""], ""),
])
def test_the_combined_matcher(event: str, matchers: list[str], combined: str) -> None:
    assert entries.combined_matcher(event, matchers) == combined


TOOLS = ["Bash", "Edit", "Write", "Agent", "Task", "Read", "mcp__git__status", "NotebookEdit"]


@pytest.mark.parametrize("matchers", [
    ["Bash"], ["Edit|Write", "Bash"], ["Task"], ["Agent", "mcp__.*"], ["B.sh", "Read"],
    ["^Edit$", "Task, Read"], ["Notebook.*"],
])
def test_the_combined_matcher_fires_whenever_one_of_its_hooks_would(matchers: list[str]) -> None:
    combined = entries.combined_matcher("PreToolUse", matchers)
    for tool in TOOLS:
        payload = {"tool_name": tool}
        if any(matches(m, "PreToolUse", payload) for m in matchers):
            assert matches(combined, "PreToolUse", payload), (tool, combined)


@pytest.mark.parametrize(("command", "ours"), [
    ("hookrun run", True),
    ("/x/.venv/bin/hookrun run PreToolUse", True),
    ("'/opt/hook swarm/bin/hookrun' run Stop --config /c.toml", True),
    ("hookrun validate", False),
    ("python3 hookrun.py run", False),
    ("myhookrun run", False),
    ("echo hookrun run", False),
    ("'unbalanced", False),
    ("", False),
])
def test_recognizing_hookrun_run(command: str, ours: bool) -> None:
    assert entries.is_hookrun_run(command) is ours


@pytest.mark.parametrize(("group", "ours"), [
    ({"hooks": [{"type": "command", "command": "hookrun run"}]}, True),
    ({"matcher": "Bash", "hooks": [{"type": "command", "command": "hookrun run", "timeout": 9}]},
     True),
    ({"hooks": [{"type": "command", "command": "hookrun run"}, {"type": "command",
                                                                 "command": "x"}]}, False),
    ({"hooks": [{"type": "http", "command": "hookrun run"}]}, False),
    ({"hooks": []}, False),
    ({"hooks": "hookrun run"}, False),
    (["hookrun run"], False),
])
def test_recognizing_hookruns_groups(group: object, ours: bool) -> None:
    assert entries.is_hookrun_group(group) is ours


def test_the_command_quotes_paths_for_the_shell() -> None:
    command = entries.run_command("/opt/hook swarm/bin/hookrun", "PreToolUse", "/a b/h.toml")
    assert command == "'/opt/hook swarm/bin/hookrun' run PreToolUse --config '/a b/h.toml'"
    assert shlex.split(command) == ["/opt/hook swarm/bin/hookrun", "run", "PreToolUse",
                                    "--config", "/a b/h.toml"]


def test_the_default_executable_is_this_installations_hookrun() -> None:
    assert entries.hookrun_executable() == str(Path(sys.executable).with_name("hookrun"))


def test_desired_gives_one_entry_per_event_in_claude_codes_order() -> None:
    toml = """
        [[hooks]]
        name = "log"
        event = "Stop"
        command = "true"
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        matcher = "Bash"
        command = "true"
        timeout = 4
        [[hooks]]
        name = "edits"
        event = "PreToolUse"
        matcher = "Edit|Write"
        command = "true"
        timeout = 8
    """
    config = configuration.parse(tomllib.loads(toml.replace("\n        ", "\n")), "h.toml")
    assert entries.desired(config, executable="/bin/hookrun", config_path=None) == (
        Entry("PreToolUse", "/bin/hookrun run PreToolUse", 10, "Bash|Edit|Write"),
        Entry("Stop", "/bin/hookrun run Stop", 32),
    )
    assert Entry("Stop", "c", 3).group() == {"hooks": [{"type": "command", "command": "c",
                                                         "timeout": 3}]}
