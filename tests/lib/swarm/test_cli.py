"""The ``swarm`` command line, and crash safety with a real ``swarm serve`` killed by SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.helpers.processes import gone, wait_until
from tests.helpers.swarm import recorded_peak, swarm


def write_tasks(path: Path, tasks: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"defaults": {"backend": "command"}, "tasks": tasks}))
    return path


def test_run_prints_a_summary_and_exits_by_verified_outcome(tmp_path: Path) -> None:
    good = write_tasks(tmp_path / "good.json", [
        {"id": "w1", "argv": ["sh", "-c", "echo hi > a.txt"], "expects": ["a.txt"]}])
    code, out, _ = swarm(tmp_path, "run", str(good))
    assert code == 0
    assert out.splitlines()[0].split() == ["TASK", "STATUS", "QUEUED", "SECONDS", "LOG",
                                           "REASON"]
    assert out.splitlines()[1].split()[4] == ".swarm/logs/w1.stream.txt"
    assert "w1" in out
    assert "succeeded" in out
    liar = write_tasks(tmp_path / "liar.json", [
        {"id": "w2", "argv": ["echo", "I wrote b.txt"], "expects": ["b.txt"]}])
    code, out, _ = swarm(tmp_path, "run", str(liar), "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["version"], report["command"]) == (1, "run")
    assert report["results"][0]["status"] == "unverified"


def test_a_malformed_task_file_names_task_and_key_and_starts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    bad = write_tasks(tmp_path / "bad.json", [
        {"id": "fine", "argv": ["touch", str(marker)]},
        {"id": "broken", "argv": ["true"], "expect": ["typo.txt"]}])
    code, _, err = swarm(tmp_path, "run", str(bad))
    assert code == 2
    assert "task #2 (id 'broken')" in err
    assert "key 'expect'" in err
    assert not marker.exists()
    assert not list((tmp_path / ".swarm" / "requests").glob("*")) if (
        tmp_path / ".swarm").exists() else True


def test_spawn_runs_one_task_from_flags(tmp_path: Path) -> None:
    code, out, _ = swarm(tmp_path, "spawn", "--id", "one", "--expects", "o.txt", "--",
                         "sh", "-c", "echo x > o.txt")
    assert code == 0
    assert "one" in out
    assert "succeeded" in out
    code, out, _ = swarm(tmp_path, "spawn", "--id", "two", "--json", "--", "true")
    assert (code, json.loads(out)["command"]) == (0, "spawn")


def test_submit_status_logs_and_clean(tmp_path: Path) -> None:
    code, out, _ = swarm(tmp_path, "submit", "--id", "q1", "--", "echo", "hello from q1")
    assert (code, out.strip()) == (0, "q1")
    code, out, _ = swarm(tmp_path, "status", "--json")
    status = json.loads(out)
    assert (status["version"], status["command"]) == (1, "status")
    assert (status["queued"], status["active"]) == (1, 0)
    code, _, err = swarm(tmp_path, "serve", "--exit-when-idle")
    assert code == 0
    assert "ended q1" in err
    code, out, _ = swarm(tmp_path, "logs", "q1", "-f")
    assert (code, out) == (0, "hello from q1\n")
    status = json.loads(swarm(tmp_path, "status", "--json")[1])
    assert (status["finished"], status["by_status"]) == (1, {"succeeded": 1})
    assert status["efficiency"] is not None
    assert swarm(tmp_path, "logs", "nope")[0] == 2
    code, out, _ = swarm(tmp_path, "clean", "--all")
    assert (code, out.strip()) == (0, "removed 1 finished task(s)")
    assert json.loads(swarm(tmp_path, "status", "--json")[1])["finished"] == 0


@pytest.mark.parametrize("as_json", [False, True])
def test_logs_follow_ends_when_the_task_leaves_the_store_without_a_result(
        tmp_path: Path, as_json: bool) -> None:
    swarm(tmp_path, "submit", "--id", "q1", "--", "echo", "never run")
    log = tmp_path / ".swarm" / "logs" / "q1.stream.txt"
    log.write_text("printed so far\n")
    follow = subprocess.Popen(
        [sys.executable, "-m", "hookswarm.lib.swarm.cli", "--dir", str(tmp_path), "logs", "-f",
         "q1", *(["--json"] if as_json else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert follow.stdout is not None
        if not as_json:
            assert follow.stdout.readline() == "printed so far\n"  # it is following now
        (tmp_path / ".swarm" / "requests" / "q1.json").unlink()  # as a clean by hand would
        out, err = follow.communicate(timeout=30)
    finally:
        follow.kill()
    if as_json:
        assert follow.returncode == 0
        assert (json.loads(out)["status"], json.loads(out)["text"]) == (None, "printed so far\n")
    else:
        assert follow.returncode == 1
        assert err == ("swarm: task 'q1' left .swarm/ before it had a result (removed by `swarm "
                       "clean` or by hand); its log ends here\n")


def test_serve_exits_1_when_a_task_it_ended_failed(tmp_path: Path) -> None:
    swarm(tmp_path, "submit", "--id", "bad", "--", "sh", "-c", "exit 3")
    swarm(tmp_path, "submit", "--id", "good", "--", "true")
    code, _, err = swarm(tmp_path, "serve", "--exit-when-idle")
    assert "ended bad status=failed" in err
    assert "ended good status=succeeded" in err
    assert code == 1
    swarm(tmp_path, "submit", "--id", "good2", "--", "true")
    assert swarm(tmp_path, "serve", "--exit-when-idle")[0] == 0  # only this serve's tasks count


def test_status_all_and_last_list_finished_tasks_as_the_logs_hint_says(tmp_path: Path) -> None:
    for name in ("t1", "t2", "t3"):
        swarm(tmp_path, "submit", "--id", name, "--", "true")
        swarm(tmp_path, "serve", "--exit-when-idle")  # one at a time: t3 ends last
    code, _, err = swarm(tmp_path, "logs", "nope")
    assert code == 2
    assert "`swarm status --all` lists every finished task" in err
    listed = json.loads(swarm(tmp_path, "status", "--all", "--json")[1])["tasks"]
    assert [(t["id"], t["status"]) for t in listed] == [
        ("t1", "succeeded"), ("t2", "succeeded"), ("t3", "succeeded")]
    assert all(t["log"].endswith(f"{t['id']}.stream.txt") for t in listed)
    code, out, _ = swarm(tmp_path, "status", "--last", "1")
    assert code == 0
    assert "succeeded  t3" in out
    assert "t2" not in out
    assert "tasks" not in json.loads(swarm(tmp_path, "status", "--json")[1])


def test_submit_logs_and_clean_speak_json(tmp_path: Path) -> None:
    code, out, _ = swarm(tmp_path, "submit", "--json", "--id", "j1", "--", "echo", "hi from j1")
    assert (code, json.loads(out)) == (0, {"version": 1, "command": "submit", "ids": ["j1"]})
    swarm(tmp_path, "serve", "--exit-when-idle")
    code, out, _ = swarm(tmp_path, "logs", "j1", "-f", "--json")
    report = json.loads(out)
    assert code == 0
    assert (report["version"], report["command"]) == (1, "logs")
    assert (report["id"], report["status"], report["text"]) == ("j1", "succeeded", "hi from j1\n")
    assert report["log"].endswith("j1.stream.txt")
    code, out, _ = swarm(tmp_path, "clean", "--all", "--json")
    assert (code, json.loads(out)) == (
        0, {"version": 1, "command": "clean", "removed": ["j1"], "skipped": False})


@pytest.mark.timeout(60)  # before the fix this waited 600 s for the CLI to "come back"
def test_a_first_claude_task_without_the_cli_fails_at_once_with_the_fix(tmp_path: Path) -> None:
    env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "HOOKSWARM_CLAUDE_BIN": None}
    code, out, err = swarm(tmp_path, "--claude-bin", str(tmp_path / "no-claude"), "spawn",
                           "--json", "--prompt", "write a.txt", env=env)
    [result] = json.loads(out)["results"]
    assert (code, result["status"]) == (1, "failed")
    assert "no-claude is not installed" in result["reason"]
    assert "HOOKSWARM_CLAUDE_BIN or [claude] bin" in result["reason"]
    assert "waiting" not in err


def test_health_reports_a_missing_cli_and_exits_1(tmp_path: Path) -> None:
    env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    code, out, _ = swarm(tmp_path, "--claude-bin", str(tmp_path / "claude"), "health", "--json",
                         env=env)
    report = json.loads(out)
    assert code == 1
    assert (report["version"], report["command"]) == (1, "health")
    assert report["backends"]["command"]["ok"] is True
    assert report["backends"]["claude"]["ok"] is False
    assert "HOOKSWARM_CLAUDE_BIN" in report["backends"]["claude"]["detail"]


def test_health_exits_1_only_for_a_down_backend_that_something_uses(tmp_path: Path) -> None:
    env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
           "HOOKSWARM_CLAUDE_BIN": str(tmp_path / "no-claude")}
    code, out, _ = swarm(tmp_path, "health", "--json", env=env)
    claude = json.loads(out)["backends"]["claude"]
    assert (code, claude["ok"], claude["used"]) == (0, False, False)
    code, out, _ = swarm(tmp_path, "health", env=env)
    assert code == 0
    assert "(unused: no task or config names it)" in out
    swarm(tmp_path, "submit", "--id", "c1", "--prompt", "write a.txt")
    assert swarm(tmp_path, "health", env=env)[0] == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.toml").write_text('[claude]\nmodel = "opus"\n')
    assert swarm(other, "--config", str(other / "c.toml"), "health", env=env)[0] == 1


def test_config_file_errors_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("max_paralel = 3\n")
    for verb in ("status", "health"):
        code, _, err = swarm(tmp_path, "--config", str(tmp_path / "c.toml"), verb)
        assert code == 2
        assert "key 'max_paralel'" in err


def test_status_before_any_session_shows_the_configured_cap(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("max_parallel = 3\n")
    code, out, _ = swarm(tmp_path, "--config", str(tmp_path / "c.toml"), "status", "--json")
    assert (code, json.loads(out)["max_parallel"]) == (0, 3)
    code, out, _ = swarm(tmp_path, "--max-parallel", "7", "status")
    assert code == 0
    assert "(cap 7)" in out
    swarm(tmp_path, "submit", "--id", "q1", "--", "true")
    code, out, _ = swarm(tmp_path, "--config", str(tmp_path / "c.toml"), "status", "--json")
    assert (code, json.loads(out)["max_parallel"]) == (0, 3)


def test_version_names_the_package(tmp_path: Path) -> None:
    code, out, _ = swarm(tmp_path, "--version")
    assert code == 0
    assert out.strip().endswith(f"version {version('hookswarm')}")


CRASH_TASK = ('echo "start $SWARM_TASK_ID" >> {rec}; sleep 0.4; '
              'echo "end $SWARM_TASK_ID" >> {rec}; echo done > out/$SWARM_TASK_ID # {marker}')


def serve(project: Path, *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "hookswarm.lib.swarm.cli", "--dir", str(project),
            "--max-parallel", "5", "serve", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def marked_processes(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and not gone(int(name)):
            found.append(int(name))
    return found


@pytest.mark.timeout(90)
def test_sigkill_of_serve_mid_run_loses_nothing_and_leaves_no_worker(tmp_path: Path) -> None:
    marker = f"swarm-crash-{secrets.token_hex(4)}"
    rec = tmp_path / "record.txt"
    (tmp_path / "out").mkdir()
    script = CRASH_TASK.format(rec=rec, marker=marker)
    tasks: list[dict[str, object]] = [
        {"id": f"t{i:02}", "argv": ["sh", "-c", script], "expects": [f"out/t{i:02}"]}
        for i in range(20)]
    assert swarm(tmp_path, "submit", "-f", str(write_tasks(tmp_path / "t.json", tasks)))[0] == 0

    first = serve(tmp_path)
    wait_until(lambda: rec.exists() and rec.read_text().count("start") >= 7, timeout=30)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=10)
    running_at_crash = marked_processes(marker)

    second = serve(tmp_path, "--exit-when-idle")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "recovered" in err
    results = sorted(p.stem for p in (tmp_path / ".swarm" / "results").glob("*.json"))
    assert results == [f"t{i:02}" for i in range(20)]
    statuses = {json.loads((tmp_path / ".swarm" / "results" / f"{r}.json").read_text())["status"]
                for r in results}
    assert statuses == {"succeeded"}
    assert not list((tmp_path / ".swarm" / "processing").glob("*.json"))
    assert not list((tmp_path / ".swarm" / "requests").glob("*.json"))
    wait_until(lambda: all(gone(pid) for pid in running_at_crash), timeout=5)
    wait_until(lambda: marked_processes(marker) == [], timeout=5)
    assert recorded_peak(rec) <= 10  # at most two coordinators' worth overlapped at the crash


STUBBORN = ('exec >/dev/null 2>&1 </dev/null; trap "echo term >> trapped" TERM INT; '
            'echo $$ > ready.tmp; mv ready.tmp ready; while :; do sleep 0.1; done')


def group_members(pgid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


@pytest.mark.timeout(60)
@pytest.mark.parametrize("verb", ["run", "serve"])
def test_signals_stop_the_workers_even_when_repeated_during_the_grace(tmp_path: Path,
                                                                     verb: str) -> None:
    tasks = write_tasks(tmp_path / "t.json", [
        {"id": "stubborn", "argv": ["sh", "-c", STUBBORN], "timeouts": {"grace": 1}}])
    if verb == "serve":
        assert swarm(tmp_path, "submit", "-f", str(tasks))[0] == 0
    argv = [sys.executable, "-m", "hookswarm.lib.swarm.cli", "--dir", str(tmp_path), verb,
            *([str(tasks)] if verb == "run" else [])]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    ready = tmp_path / "ready"
    try:
        wait_until(ready.exists, timeout=20)
        pgid = int(ready.read_text())
        proc.send_signal(signal.SIGTERM)
        wait_until((tmp_path / "trapped").exists)  # the worker got SIGTERM and lives on
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        wait_until(lambda: group_members(pgid) == [])
    finally:
        if proc.poll() is None:
            proc.kill()
        if ready.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(ready.read_text()), signal.SIGKILL)
    assert proc.returncode == (1 if verb == "run" else 0), err
    assert "Aborted" not in err
    assert "Traceback" not in err
    store = tmp_path / ".swarm"
    assert not list((store / "processing").glob("*.json"))
    if verb == "run":  # run's own tasks end with it; serve leaves them queued for the next one
        result = json.loads((store / "results" / "stubborn.json").read_text())
        assert result["status"] == "failed"
        assert "stubborn" in out
    else:
        assert [p.stem for p in (store / "requests").glob("*.json")] == ["stubborn"]


def test_a_config_path_that_was_given_must_exist(tmp_path: Path) -> None:
    code, _, err = swarm(tmp_path, "--config", str(tmp_path / "absent.toml"), "spawn", "--",
                         "true")
    assert code == 2
    assert "absent.toml" in err
    assert "does not exist" in err
    assert not (tmp_path / ".swarm").exists()


def test_config_that_would_hang_a_spawn_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[caps]\ncommand = 0\n")
    code, _, err = swarm(tmp_path, "--config", str(tmp_path / "c.toml"), "spawn", "--", "true")
    assert code == 2
    assert "c.toml" in err
    assert "key 'caps.command'" in err


def test_a_mistyped_dir_is_refused_and_read_only_verbs_create_nothing(tmp_path: Path) -> None:
    for verb in ("status", "logs", "clean", "health"):
        code, _, err = swarm(tmp_path / "typo" / "deep", verb, *(["x1"] if verb == "logs" else []))
        assert code == 2
        assert "does not exist" in err
    assert not (tmp_path / "typo").exists()
    code, out, _ = swarm(tmp_path, "status", "--json")
    assert code == 0
    assert json.loads(out)["finished"] == 0
    assert swarm(tmp_path, "status")[0] == 0
    assert swarm(tmp_path, "logs", "x1")[0] == 2
    assert swarm(tmp_path, "clean", "--all")[:2] == (0, "removed 0 finished task(s)\n")
    assert not (tmp_path / ".swarm").exists()


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


SWARM_DIR_ALREADY_THERE = {
    "a config": {".swarm/config.toml": "max_parallel = 2\n"},
    "hookrun's records": {".swarm/.gitignore": "*\n", ".swarm/hooks/runs.jsonl": "{}\n"},
}


@pytest.mark.parametrize("setup", sorted(SWARM_DIR_ALREADY_THERE))
@pytest.mark.parametrize("verb", [["status"], ["status", "--all", "--json"], ["logs", "x1"],
                                  ["clean", "--all"], ["health", "--json"]],
                         ids=lambda verb: " ".join(verb))
def test_verbs_that_only_read_or_remove_create_nothing_in_an_existing_swarm_dir(
        tmp_path: Path, setup: str, verb: list[str]) -> None:
    for name, text in SWARM_DIR_ALREADY_THERE[setup].items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = tree(tmp_path)
    code, _, err = swarm(tmp_path, *verb)
    assert code == (2 if verb[0] == "logs" else 0), err
    assert tree(tmp_path) == before


def test_clean_removes_finished_tasks_and_keeps_the_counts_true(tmp_path: Path) -> None:
    assert swarm(tmp_path, "spawn", "--id", "gone", "--", "true")[0] == 0
    assert swarm(tmp_path, "clean", "--all")[1] == "removed 1 finished task(s)\n"
    state = json.loads((tmp_path / ".swarm" / "state.json").read_text())
    assert state["finished"] == 0
    assert json.loads(swarm(tmp_path, "status", "--json")[1])["finished"] == 0


@pytest.mark.parametrize("setup", ["task file", "config", "context file"])
def test_text_that_is_not_utf8_is_one_line_naming_the_file(tmp_path: Path, setup: str) -> None:
    marker = tmp_path / "ran.txt"
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b'prompt = "caf\xe9"\n')
    args = ["spawn", "--", "touch", str(marker)]
    if setup == "task file":
        latin = latin.rename(tmp_path / "l.toml")
        args = ["run", str(latin)]
    elif setup == "config":
        (tmp_path / ".swarm").mkdir()
        latin = latin.rename(tmp_path / ".swarm" / "config.toml")
    else:
        args = ["spawn", "--context-file", str(latin), "--", "touch", str(marker)]
    code, _, err = swarm(tmp_path, *args)
    assert code == 2
    assert err.count("\n") == 1
    assert str(latin) in err
    assert "not UTF-8" in err
    assert not marker.exists()


@pytest.mark.parametrize(("args", "says"), [
    (["spawn", "--cwd", "nosuchdir", "--", "touch", "{marker}"], "nosuchdir"),
    (["spawn", "--env", "FOO", "--", "touch", "{marker}"], "NAME=VALUE"),
    (["spawn", "--env", "A=B=C", "--env", "=x", "--", "touch", "{marker}"], "key 'env.'"),
    (["run", "{empty}"], "no tasks in"),
    (["clean", "--older-than", "-1"], "-1"),
    (["logs", "../../x"], "no task '../../x'"),
])
def test_bad_input_is_exit_2_before_anything_starts(tmp_path: Path, args: list[str],
                                                    says: str) -> None:
    marker = tmp_path / "ran.txt"
    empty = tmp_path / "empty.json"
    empty.write_text('{"tasks": []}')
    (tmp_path / "x.stream.txt").write_text("outside .swarm/logs")
    code, out, err = swarm(tmp_path, *[a.format(marker=marker, empty=empty) for a in args])
    assert code == 2, err
    assert says in err, err
    assert not marker.exists()
    assert "outside" not in out


def test_old_results_survive_a_rejected_clean(tmp_path: Path) -> None:
    assert swarm(tmp_path, "spawn", "--id", "kept", "--", "true")[0] == 0
    assert swarm(tmp_path, "clean", "--older-than", "-1")[0] == 2
    assert (tmp_path / ".swarm" / "results" / "kept.json").exists()


def test_defaults_env_reaches_the_worker_beside_the_task_env(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[defaults]\nbackend = "command"\nenv = { A = "1", B = "0" }\n'
                    '[[tasks]]\nid = "envy"\nargv = ["sh", "-c", "echo $A$B > e.txt"]\n'
                    'expects = ["e.txt"]\nenv = { B = "2" }\n')
    assert swarm(tmp_path, "run", str(path))[0] == 0
    assert (tmp_path / "e.txt").read_text() == "12\n"
