"""hookrun's settings entries: the command, the covering matcher, the timeout, recognition."""

from __future__ import annotations

import shlex
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import SettingsError
from hookswarm.lib.hookconfig import HookSpec
from hookswarm.lib.matcher import matches
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
    ("PreToolUse", ["mcp__.*", "Bash"], "^(?:Bash)$|mcp__.*"),
    ("PreToolUse", ["Task", "mcp__.*"], "^(?:Task|Agent)$|mcp__.*"),
    ("PreToolUse", ["Edit", "mcp__fs__.*"], "^(?:Edit)$|mcp__fs__.*"),
    ("PreToolUse", ["Edit|Bash", "mcp__.*", "mcp__.*"], "^(?:Edit|Bash)$|mcp__.*"),
    ("PreToolUse", ["mcp__.*", "Notebook.*"], "mcp__.*|Notebook.*"),
    ("PreToolUse", ["Bash", "Edit("], "Bash"),
    ("PreToolUse", [","], ","),
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
        assert matches(combined, "PreToolUse", payload) is any(
            matches(m, "PreToolUse", payload) for m in matchers), (tool, combined)


PROPERTY_TOOLS = ["Edit", "NotebookEdit", "MultiEdit", "Bash", "Agent", "Task", "mcp__fs__read",
                  "Write", "Ba"]
MATCHERS = ["Edit", "Bash", "Agent", "Task", "MultiEdit", "mcp__fs__read", "Edit|Write",
            "Bash, Agent", "Task|Edit", "mcp__fs__.*", "mcp__.*", ".*Edit", "^Edit$", "Bas.*",
            "B.sh", "Ba", "Notebook.*", "Edit$", "^(Agent|Bash)$", "Edit(", ",", "*", ""]


@given(st.lists(st.sampled_from(MATCHERS), min_size=1, max_size=5))
def test_the_combined_matcher_matches_a_tool_iff_one_of_the_matchers_does(
        matchers: list[str]) -> None:
    combined = entries.combined_matcher("PreToolUse", matchers)
    for tool in PROPERTY_TOOLS:
        payload = {"tool_name": tool}
        assert matches(combined, "PreToolUse", payload) is any(
            matches(m, "PreToolUse", payload) for m in matchers), (tool, combined)


@pytest.mark.parametrize(("outer", "inner", "covers"), [
    ("", "Edit", True),
    ("*", "Edit|Write", True),
    ("Edit", "Edit", True),
    ("Bash|Edit|Write", "Edit|Write", True),
    ("Agent", "Task", True),
    ("Bash", "Edit|Write", False),
    ("Edit", "", False),
])
def test_which_matchers_cover_which(outer: str, inner: str, covers: bool) -> None:
    assert entries.matcher_covers("PreToolUse", outer, inner) is covers


@given(st.sampled_from(MATCHERS), st.sampled_from(MATCHERS))
def test_a_covering_matcher_fires_wherever_the_covered_one_does(outer: str, inner: str) -> None:
    if entries.matcher_covers("PreToolUse", outer, inner):
        for tool in PROPERTY_TOOLS:
            payload = {"tool_name": tool}
            assert matches(outer, "PreToolUse", payload) or not matches(
                inner, "PreToolUse", payload), (tool, outer, inner)


@pytest.mark.parametrize(("command", "ours"), [
    ("hookrun run", True),
    ("/x/.venv/bin/hookrun run PreToolUse", True),
    ("'/opt/hook swarm/bin/hookrun' run Stop --config /c.toml", True),
    ("/opt/tools/hookrun-dev run Stop", True),
    ("/opt/tools/hookrun-dev run Stop --if-configured", True),
    ("/opt/tools/hookrun-dev run Stop --config", False),
    ("/opt/tools/hookrun-dev run Stop --if-configured --config /c.toml", False),
    ("'/opt/tools/my hookrun.sh' run PreToolUse --config '/a b/h.toml'", True),
    ("./bin/hr run Stop", False),
    ("./gradlew run Stop", False),
    ("bin/task run PreToolUse --config x.toml", False),
    ("hookrun run Stop && rm -rf build", False),
    ("hookrun run Stop;rm -rf build", False),
    ("hookrun run Stop --if-configured", True),
    ("hookrun run --config /a.toml Stop", True),
    ("hookrun run Stop --config=/a.toml", True),
    ("/x/bin/hookrun run Stop; rm -rf build", False),
    ("npm run Stop", False),
    ("make run PreToolUse", False),
    ("yarn run Stop --config x", False),
    ("/usr/bin/make run Nope", False),
    ("/opt/tools/hr run Stop --fast", False),
    ("/opt/tools/hr  run Stop", False),
    ("'/opt/tools/hr' run Stop", False),
    ("/opt/tools/hr run Stop && rm -rf /tmp/x", False),
    ("hookrun validate", False),
    ("python3 hookrun.py run", False),
    ("myhookrun run", False),
    ("echo hookrun run", False),
    ("'unbalanced", False),
    ("", False),
])
def test_recognizing_hookrun_run(command: str, ours: bool) -> None:
    assert entries.is_hookrun_run(command) is ours


def test_install_knows_exactly_the_three_forms_it_writes() -> None:
    written = [entries.installed_command("/bin/hookrun", "Stop", config, if_configured=quiet)
               for config, quiet in ((None, False), (None, True), ("/c.toml", False))]
    assert written[1] == "/bin/hookrun run Stop --if-configured # hookrun install"
    others = ["/bin/hookrun run Stop --config # hookrun install",
              "/bin/hookrun run Stop --if-configured --config /c.toml # hookrun install",
              "/bin/hookrun run Stop  --if-configured # hookrun install",
              "/bin/hookrun run Stop --if-configured"]
    assert [entries.is_installed(c) for c in written + others] == [True] * 3 + [False] * 4


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


@pytest.mark.parametrize("executable", ["/bin/hookrun", "hookrun", "/opt/tools/hookrun-dev",
                                        "./hookrun.sh", "/opt/tools/my hookrun.sh"])
def test_every_entry_install_writes_is_recognised(executable: str) -> None:
    command = entries.run_command(executable, "PreToolUse", "/a b/h.toml")
    assert entries.is_hookrun_run(command)
    assert entries.is_hookrun_run(entries.run_command(executable, "Stop", None))


@pytest.mark.parametrize("executable", ["npm", "hookrun-dev", "./hr", "./gradlew"])
def test_a_bare_program_name_other_than_hookrun_is_refused(executable: str) -> None:
    config = configuration.parse({"hooks": [{"name": "s", "event": "Stop", "command": "y"}]},
                                 "h.toml")
    with pytest.raises(SettingsError, match="give the program hookrun or a path"):
        entries.desired(config, executable=executable, config_path=None)


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
        Entry("PreToolUse", "/bin/hookrun run PreToolUse # hookrun install", 10,
              "Bash|Edit|Write"),
        Entry("Stop", "/bin/hookrun run Stop # hookrun install", 32),
    )
    assert Entry("Stop", "c", 3).group() == {"hooks": [{"type": "command", "command": "c",
                                                         "timeout": 3}]}
