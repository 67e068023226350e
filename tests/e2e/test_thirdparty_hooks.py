"""Published-style hooks, native and through hookrun, compared by what a user could see.

Three projects of hooks in the shapes people publish and copy (``tests/fixtures/thirdparty``):
``published`` (loggers rewriting JSON files, a sibling module, bash + jq validators, a
formatter, a linter that blocks, CLAUDE_ENV_FILE, a backgrounded notifier, a slow check, a
SessionEnd summary), ``odd`` (output Claude Code reads in surprising ways, legacy decisions,
a rewrite, and a hook that records the Claude Code variables it sees on every event) and
``cd`` (relative script paths after the model changed directory, a background job holding a
hook's stdout); ``gate`` sends ``odd`` a prompt its exit-2 gate drops. Each runs natively
once, then moved by ``hookrun import --write`` and ``hookrun install`` (command entries,
``--serve`` with fresh processes, ``--serve`` warm). The model's input, the tool results,
every file the hooks wrote (byte for byte, after making the project path and per-session ids
equal) and how the run ended must match. The intended differences are made equal first and
listed in ``intended``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pytest

from tests.fakes.messages_api import Reply, reply, tool_use
from tests.helpers.claude_cli import require_claude
from tests.helpers.thirdparty import MODES, Run, make_project, observe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.timeout(300)
PROJECT = "my project"  # a space, as in "My Projects": unquoted $CLAUDE_PROJECT_DIR splits


@dataclass(frozen=True)
class Scenario:
    settings: str
    prompt: str
    replies: Callable[[Path], list[Reply]]
    tools: str
    markers: tuple[str, ...]
    wait_for: tuple[str, ...] = ()
    raced: tuple[str, ...] = ()  # written natively or not, by a hook beside a block (below)


# Over a pipe's 64 KiB, so a hook that never reads its input leaves the writer blocked.
BIG = "".join(f"line {i:06d} of a generated fixture  \n" for i in range(8000))


def _published(root: Path) -> list[Reply]:
    return [
        reply(tool_use("Bash", {"command": "rm -rf build", "description": "clean"})),
        reply(tool_use("Write", {"file_path": str(root / "notes.md"),
                                 "content": "hello   \nTODO: tidy\t\n" + BIG})),
        reply(tool_use("Read", {"file_path": str(root / ".env")})),
        reply(tool_use("Bash", {"command": "seq 1 30000; echo $PROJECT_FLAVOR > flavor.txt",
                                "description": "count"})),
        reply("finished"),
        reply("done now"),
    ]


def _odd(root: Path) -> list[Reply]:
    return [
        reply(tool_use("Bash", {"command": "curl http://127.0.0.1:9/x", "description": "get"})),
        reply(tool_use("Bash", {"command": "npm install > npm.txt", "description": "deps"})),
        reply(tool_use("Write", {"file_path": str(root / "README.md"), "content": "# docs\n"})),
        reply("finished"),
    ]


def _cd(root: Path) -> list[Reply]:
    return [
        reply(tool_use("Bash", {"command": "mkdir -p sub && cd sub && echo token SECRET-abc",
                                "description": "into sub"})),
        reply(tool_use("Bash", {"command": "touch y", "description": "y"})),
        reply("finished"),
    ]


SCENARIOS = {
    "published": Scenario(
        "settings.json", "tidy the project", _published, "Bash Write Read",
        ("CTX-TODO", "[git] branch: main, uncommitted: 0", "CTX-CONVENTIONS: tabs, not spaces; "
         "ünïcödé ✓", 'Rules for "tidy the project" (CTX-JQ-RULES)', "CTX-BANNER", "DENY-RM-RF",
         "LINT-TODO", "DENY-SECRETS", "CTX-BIG-OUTPUT: 6222 lines", "PLAIN-POST-NOTE",
         "SYS-NOTE", "STOP-FEEDBACK", "likely a formatter", "CTX-NO-READ"),
        wait_for=("logs/notified.txt",)),
    "odd": Scenario(
        "odd/settings.json", "set up the docs", _odd, "Bash",
        ("CTX-LATIN1: caf\ufffd cr\ufffdme", "CTX-CRLF: first line  \r\nsecond line",
         '{"finding": "CTX-LINE-ONE"}\n{"finding": "CTX-LINE-TWO"}', "CTX-SPACED-JSON",
         '"CTX-JSON-STRING"', "CTX-JSON-ARRAY", "CTX-WRONG-EVENT", "LEGACY-BLOCK",
         "CTX-HEAD-ONLY", "PROMPT-GATE")),
    # The same hooks on a prompt that pastes a key: the exit-2 gate drops it before the model.
    # Natively, whether env_dump.sh beside the gate has written its log when Claude Code acts
    # on the block is a race; hookrun lets it finish (cancel_on_block is opt-in).
    "gate": Scenario("odd/settings.json", "use key sk-live-123 please",
                     lambda root: [reply("never")], "Bash", ("PROMPT-GATE",),
                     raced=("logs/env-UserPromptSubmit.txt",)),
    # After the model's ``cd sub`` Claude Code runs hooks in sub/: relative script paths are
    # gone (sh exits 2, "No such file"), which blocks tools but, on Stop, not the turn's end.
    "cd": Scenario(
        "cwd/settings.json", "work in sub", _cd, "Bash",
        ("CTX-EARLY", "CTX-LATE", "SECRET-abc", "token [redacted]",
         "cannot open .claude/hooks/where.sh",
         "cannot open .claude/hooks/post_exit2.sh", "POST-EXIT-2", "Stop hook")),
}


def intended(run: Run, *, without: tuple[str, ...] = ()) -> Run:
    """``run`` with hookrun's documented differences made equal.

    Context arrives as one block in config order (Claude Code: a block per hook, labelled
    ``hook success`` for plain text, in completion order), so the model's input is compared
    by ``lines`` and ``seen``; a ``decision: block`` names the settings entry that ran, which
    is hookrun's. The files in ``without`` are left out.
    """
    entry = re.compile(r'from command: "[^"]*"')
    return replace(run, model_input=(), tool_results=tuple(
        (error, entry.sub("from command: <entry>", text)) for error, text in run.tool_results),
        files={path: data for path, data in run.files.items() if path not in without})


_LABEL = re.compile(r'^\S+ hook (?:success|additional context|blocking error from command: '
                    r'"[^"\n]*"): ', re.MULTILINE)


def lines(run: Run) -> Counter[str]:
    """Every line the model was given, without the labels Claude Code puts before a hook's
    block, so that one block in config order compares with a block per hook."""
    text = _LABEL.sub("", "\n".join(run.model_input))
    return Counter(line.strip() for line in text.splitlines() if line.strip())


def seen(run: Run, markers: tuple[str, ...]) -> Counter[str]:
    text = "\n".join(run.model_input) + "\n".join(t for _, t in run.tool_results)
    return Counter({marker: text.count(marker) for marker in markers})


_native: dict[str, Run] = {}


def native_run(name: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The scenario run with its hooks native, once per test session."""
    if name not in _native:
        root = make_project(tmp_path_factory.mktemp(name) / "0" / PROJECT, "native",
                            SCENARIOS[name].settings)
        _native[name] = _observe(root, SCENARIOS[name])
    return _native[name]


def _observe(root: Path, scenario: Scenario) -> Run:
    return observe(root, scenario.prompt, scenario.replies(root), tools=scenario.tools,
                   wait_for=scenario.wait_for)


@pytest.mark.parametrize("mode", [m for m in MODES if m != "native"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_published_hooks_behave_as_they_do_natively(
        name: str, mode: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    require_claude()
    scenario = SCENARIOS[name]
    native = native_run(name, tmp_path_factory)
    root = make_project(tmp_path / str(MODES.index(mode)) / PROJECT, mode, scenario.settings)
    through = _observe(root, scenario)
    assert seen(through, scenario.markers) == seen(native, scenario.markers)
    assert lines(through) == lines(native)
    assert all(path in through.files for path in scenario.raced)  # no hook is cut short
    through, native = (intended(run, without=scenario.raced) for run in (through, native))
    assert through.files == native.files
    assert through == native
