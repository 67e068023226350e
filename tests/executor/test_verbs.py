"""The report verbs through the real ``hookrun`` command: validate, profile, stats, test, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from tests.helpers.install import HOOKRUN
from tests.helpers.payloads import bash, prompt
from tests.helpers.project import Project, hookrun

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)

CHAIN = """
    [[hooks]]
    name = "fetch"
    event = "UserPromptSubmit"
    command = "{slow}"
    [[hooks]]
    name = "render"
    event = "UserPromptSubmit"
    command = "echo rendered"
    after = ["fetch"]
    [[hooks]]
    name = "side"
    event = "UserPromptSubmit"
    command = "echo side"
"""


def chain_project(project: Project) -> None:
    slow = project.script("slow.py", "import time; time.sleep(0.2); print('fetched')")
    project.config(CHAIN.format(slow=slow))


def test_profile_reports_the_critical_path_and_writes_an_svg(project: Project) -> None:
    chain_project(project)
    done = hookrun(project, "profile", "UserPromptSubmit", "--runs", "3", "--json",
                   "--svg", "t.svg", "--yes")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["version"], report["command"]) == (1, "profile")
    (profiled,) = report["profiles"]
    assert profiled["critical_path"] == ["fetch", "render"]
    assert profiled["speedup"] == pytest.approx(profiled["sequential_ms"]
                                                / profiled["wall_p50_ms"])
    rects = [el.get("data-hook") for el in ET.parse(project.root / "t.svg").getroot().iter()
             if el.get("class") == "bar"]
    assert rects == ["fetch", "render", "side"]


def test_profile_prints_a_table_and_a_timeline(project: Project) -> None:
    chain_project(project)
    done = hookrun(project, "profile", "UserPromptSubmit", "--runs", "2", "--yes")
    assert "critical path: fetch -> render" in done.stdout
    assert "sequential equivalent" in done.stdout
    assert done.stdout.count("|") >= 6  # three timeline rows


def test_profile_writes_no_run_records(project: Project) -> None:
    chain_project(project)
    assert hookrun(project, "profile", "UserPromptSubmit", "--runs", "2",
                   "--yes").returncode == 0
    assert not (project.root / ".swarm" / "hooks" / "runs.jsonl").exists()


def test_stats_reads_what_runs_recorded(project: Project) -> None:
    project.config('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncommand = "exit 1"\n'
                   '[[hooks]]\nname = "b"\nevent = "PreToolUse"\ncommand = "true"\n')
    for _ in range(3):
        project.run(bash())
    data = json.loads(hookrun(project, "stats", "--json").stdout)
    by_name = {h["name"]: h for h in data["hooks"]}
    assert (by_name["a"]["runs"], by_name["a"]["failures"]) == (3, 3)
    assert (by_name["b"]["runs"], by_name["b"]["failures"]) == (3, 0)
    assert "slowest (p95)" in hookrun(project, "stats").stdout
    ancient = {"ts": 1.0, "hooks": [{"name": "ancient", "start_ms": 0, "end_ms": 5,
                                     "status": "ok"}]}
    with open(project.root / ".swarm" / "hooks" / "runs.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(ancient) + "\n")
    every = {h["name"] for h in json.loads(hookrun(project, "stats", "--json").stdout)["hooks"]}
    recent = json.loads(hookrun(project, "stats", "--since", "1h", "--json").stdout)["hooks"]
    assert "ancient" in every
    assert {h["name"] for h in recent} == {"a", "b"}


def test_stats_rejects_a_bad_since(project: Project) -> None:
    done = hookrun(project, "stats", "--since", "soon")
    assert done.returncode == 2
    assert "such as 90s" in done.stderr


def test_validate_reports_errors_and_warnings(project: Project) -> None:
    project.config("""
        [[hooks]]
        name = "missing"
        event = "PreToolUse"
        command = "/nowhere/guard.sh --strict"
        [[hooks]]
        name = "noimport"
        event = "Stop"
        call = "not_a_module:fn"
        [[hooks]]
        name = "slow"
        event = "UserPromptSubmit"
        command = "true"
        timeout = 45
        [[hooks]]
        name = "again"
        event = "UserPromptSubmit"
        command = "true"
        [[hooks]]
        name = "badregex"
        event = "PreToolUse"
        matcher = "Bash("
        command = "true"
    """)
    done = hookrun(project, "validate", "--json")
    assert done.returncode == 1
    findings = {(f["level"], f["hook"]) for f in json.loads(done.stdout)["findings"]}
    assert findings == {("warning", "missing"), ("error", "noimport"), ("warning", "again"),
                        ("error", "badregex")}  # 45 s fits the plugin's 600 s


def test_validate_names_a_cycle(project: Project) -> None:
    project.config('[[hooks]]\nname = "a"\nevent = "Stop"\ncommand = "true"\nafter = ["b"]\n'
                   '[[hooks]]\nname = "b"\nevent = "Stop"\ncommand = "true"\nafter = ["a"]\n')
    done = hookrun(project, "validate")
    assert done.returncode == 1
    assert "dependency cycle a -> b -> a" in done.stderr


def test_validate_passes_a_good_config(project: Project) -> None:
    project.config('[[hooks]]\nname = "a"\nevent = "Stop"\ncommand = "true"\n')
    done = hookrun(project, "validate")
    assert (done.returncode, done.stdout.strip().endswith("OK, 1 hook")) == (0, True)


def test_golden_files_catch_a_changed_answer(project: Project) -> None:
    project.config('[[hooks]]\nname = "g"\nevent = "PreToolUse"\ncommand = "echo no >&2; exit 2"\n')
    fixture = project.root / "deny.json"
    fixture.write_text(json.dumps({**bash("rm -rf x"), "cwd": str(project.root)}))
    assert hookrun(project, "test", str(fixture)).returncode == 1  # no golden file yet
    assert hookrun(project, "test", "--update", str(fixture)).returncode == 0
    expected = json.loads((project.root / "deny.expected.json").read_text())
    assert expected["response"]["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert hookrun(project, "test", str(fixture)).returncode == 0
    project.config('[[hooks]]\nname = "g"\nevent = "PreToolUse"\ncommand = "true"\n')
    changed = hookrun(project, "test", str(fixture))
    assert changed.returncode == 1
    assert "permissionDecision" in changed.stdout
    assert "FAIL" in changed.stdout


@pytest.mark.parametrize("text", ['{"hook_event_name": "PreToolUse",', '["not", "a payload"]'])
def test_update_refuses_to_record_a_golden_file_for_an_unparsable_fixture(
        project: Project, text: str) -> None:
    project.config('[[hooks]]\nname = "g"\nevent = "PreToolUse"\ncommand = "true"\n')
    fixture = project.root / "broken.json"
    fixture.write_text(text)
    done = hookrun(project, "test", "--update", str(fixture))
    assert done.returncode == 1
    assert "INVALID" in done.stdout
    assert "fix the fixture" in done.stdout
    assert "0 passed, 1 failed" in done.stdout
    assert not (project.root / "broken.expected.json").exists()


def test_demo_runs_three_variants_without_claude_code(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([HOOKRUN, "demo"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=100)
    assert done.returncode == 0, done.stderr
    for title in ("== sequential processes", "== parallel processes", "== hookrun"):
        assert title in done.stdout
    assert done.stdout.count("memory_size") == 3
    assert "summary:" in done.stdout


def test_demo_in_a_relative_project_leaves_it_alone_and_shows_failed_processes(
        tmp_path: Path) -> None:
    mine = tmp_path / "my proj"
    mine.mkdir()
    (mine / "platform.py").write_text("raise SystemExit('shadowed platform')\n")
    before = sorted(p.name for p in mine.iterdir())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([HOOKRUN, "demo", "--project", "my proj"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=100)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in mine.iterdir()) == before  # no records, no cache in it
    sequential = done.stdout.split("== parallel processes")[0]
    assert sequential.count(" error") == 21  # python -m puts the project first: every one fails


def test_run_help_goes_through_click(project: Project) -> None:
    done = hookrun(project, "run", "--help")
    assert done.returncode == 0
    assert "payload on stdin" in done.stdout
    assert sys.executable  # the venv's hookrun is the one under test
    _ = prompt


@pytest.mark.parametrize("args", [["-h"], ["validate", "-h"], ["run", "-h"]])
def test_dash_h_is_help_like_dash_dash_help(project: Project, args: list[str]) -> None:
    short, long = hookrun(project, *args), hookrun(project, *args[:-1], "--help")
    assert (short.returncode, short.stdout) == (0, long.stdout)
    assert "Usage: hookrun" in short.stdout


NOISY = """
    import subprocess
    def hook(payload):
        print("debug output")
        subprocess.run(["echo", "child output"], check=True)
        return "ctx"
"""


def noisy_project(project: Project) -> None:
    project.module("noisy", NOISY)
    project.config('[[hooks]]\nname = "noisy"\nevent = "UserPromptSubmit"\ncall = "noisy:hook"\n')


def test_test_json_stays_json_when_a_call_hook_prints(project: Project) -> None:
    noisy_project(project)
    fixture = project.root / "ask.json"
    fixture.write_text(json.dumps({**prompt(), "cwd": str(project.root)}))
    hookrun(project, "test", "--update", str(fixture))
    done = hookrun(project, "test", "--json", str(fixture))
    assert json.loads(done.stdout)["ok"] is True, done.stdout
    assert "debug output" in done.stderr
    assert "child output" in done.stderr


def test_profile_json_stays_json_when_a_call_hook_prints(project: Project) -> None:
    noisy_project(project)
    done = hookrun(project, "profile", "UserPromptSubmit", "--runs", "2", "--json", "--yes")
    assert json.loads(done.stdout)["profiles"][0]["hooks"][0]["name"] == "noisy", done.stdout
    assert "child output" in done.stderr


@pytest.mark.parametrize(("payload", "args", "words"), [
    ("{not json", ("--payload", "p.json"), "not valid JSON"),
    ("[1, 2]", ("--payload", "p.json"), "not an object"),
    (b"\xff\xfe", ("--payload", "p.json"), "not valid JSON"),
    ("{}", ("--svg", "/nonexistent/x.svg"), "/nonexistent does not exist"),
])
def test_profile_names_a_bad_payload_or_svg_path_in_one_line(
        project: Project, payload: str | bytes, args: tuple[str, ...], words: str) -> None:
    chain_project(project)
    path = project.root / "p.json"
    path.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
    done = hookrun(project, "profile", "UserPromptSubmit", "--runs", "1", "--yes", *args)
    assert done.returncode == 2
    assert done.stderr.startswith("hookrun profile: ")
    assert done.stderr.count("\n") == 1
    assert words in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("event", "words"), [
    ("userpromptsubmit", "did you mean UserPromptSubmit?"),
    ("PreTool", "unknown event 'PreTool'"),
])
def test_profile_names_an_unknown_event(project: Project, event: str, words: str) -> None:
    chain_project(project)
    done = hookrun(project, "profile", event, "--runs", "1")
    assert done.returncode == 2
    assert words in done.stderr


def test_stats_text_columns_fit_the_longest_hook_name(project: Project) -> None:
    long_name = "check-that-the-migration-files-are-in-order"
    project.config(f'[[hooks]]\nname = "{long_name}"\nevent = "PreToolUse"\ncommand = "true"\n'
                   '[[hooks]]\nname = "b"\nevent = "PreToolUse"\ncommand = "true"\n')
    project.run(bash())
    lines = hookrun(project, "stats").stdout.splitlines()
    header, rows = lines[0], lines[1:3]
    assert header.startswith("hook" + " " * (len(long_name) - 3) + "   runs")
    assert all(row.index(" 1 ") == rows[0].index(" 1 ") for row in rows)
    assert "cancel" in header
    assert "skip" in header
    assert "ctx B" in header


LOGGER = """
    import json, sys
    payload = json.load(sys.stdin)
    with open("calls.log", "a") as log:
        log.write(payload["hook_event_name"] + " " + payload["tool_name"] + "\\n")
"""


def logging_project(project: Project) -> None:
    logger = project.script("logger.py", LOGGER)
    project.config(f"""
        [[hooks]]
        name = "bash-log"
        event = "PreToolUse"
        matcher = "Bash"
        command = "{logger}"
        [[hooks]]
        name = "file-log"
        event = "PreToolUse"
        matcher = "Write|Edit"
        command = "{logger}"
        [[hooks]]
        name = "mcp-log"
        event = "PreToolUse"
        matcher = "mcp__.*"
        command = "{logger}"
    """)


def calls(project: Project) -> list[str]:
    log = project.root / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_profile_lists_the_hooks_and_needs_yes_without_a_terminal(project: Project) -> None:
    logging_project(project)
    done = hookrun(project, "profile", "PreToolUse", "--runs", "1")
    assert done.returncode == 2
    assert "with tool Bash: bash-log" in done.stderr
    assert "with tool Write: file-log" in done.stderr
    assert "skipped mcp-log: its matcher 'mcp__.*'" in done.stderr
    assert "pass --yes" in done.stderr
    assert calls(project) == []


def test_profile_builds_a_matching_payload_per_matcher(project: Project) -> None:
    logging_project(project)
    done = hookrun(project, "profile", "PreToolUse", "--runs", "2", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [p["label"] for p in report["profiles"]] == ["tool Bash", "tool Write"]
    assert report["plan"]["skipped"][0]["name"] == "mcp-log"
    assert sorted(calls(project)) == ["PreToolUse Bash"] * 2 + ["PreToolUse Write"] * 2


def answer_on_a_terminal(project: Project, answer: bytes) -> subprocess.CompletedProcess[bytes]:
    leader, follower = os.openpty()
    os.write(leader, answer)
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root)}
    env.pop("HOOKRUN_CONFIG", None)
    try:
        return subprocess.run([HOOKRUN, "profile", "PreToolUse", "--runs", "1"],
                              stdin=follower, capture_output=True, cwd=project.root, env=env,
                              timeout=100)
    finally:
        os.close(follower)
        os.close(leader)


def test_profile_asks_on_a_terminal(project: Project) -> None:
    logging_project(project)
    refused = answer_on_a_terminal(project, b"n\n")
    assert refused.returncode == 1
    assert b"nothing ran" in refused.stderr
    assert calls(project) == []
    agreed = answer_on_a_terminal(project, b"y\n")
    assert agreed.returncode == 0, agreed.stderr
    assert sorted(calls(project)) == ["PreToolUse Bash", "PreToolUse Write"]


def test_profile_from_records_runs_nothing(project: Project) -> None:
    logging_project(project)
    for tool in ("Bash", "Bash", "Write"):
        project.run({**bash(), "tool_name": tool})
    before = calls(project)
    done = hookrun(project, "profile", "PreToolUse", "--from-records", "--json")
    assert done.returncode == 0, done.stderr
    assert calls(project) == before
    by_label = {p["label"]: p for p in json.loads(done.stdout)["profiles"]}
    assert by_label["recorded runs, tool Bash"]["runs"] == 2
    assert [h["name"] for h in by_label["recorded runs, tool Write"]["hooks"]] == ["file-log"]
