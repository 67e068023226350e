"""The ``swarm`` command line, and crash safety with a real ``swarm serve`` killed by SIGKILL."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookswarm.lib.swarm.cli import cli
from tests.lib.swarm.swarm_support import gone, recorded_peak, wait_until


def swarm(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--dir", str(project), *args], env=env,
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_tasks(path: Path, tasks: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"defaults": {"backend": "command"}, "tasks": tasks}))
    return path


def test_run_prints_a_summary_and_exits_by_verified_outcome(tmp_path: Path) -> None:
    good = write_tasks(tmp_path / "good.json", [
        {"id": "w1", "argv": ["sh", "-c", "echo hi > a.txt"], "expects": ["a.txt"]}])
    code, out, _ = swarm(tmp_path, "run", str(good))
    assert code == 0
    assert out.splitlines()[0].split() == ["TASK", "STATUS", "SECONDS", "REASON"]
    assert "w1" in out and "succeeded" in out
    liar = write_tasks(tmp_path / "liar.json", [
        {"id": "w2", "argv": ["echo", "I wrote b.txt"], "expects": ["b.txt"]}])
    code, out, _ = swarm(tmp_path, "run", str(liar), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["version"] == 1 and report["results"][0]["status"] == "unverified"


def test_a_malformed_task_file_names_task_and_key_and_starts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    bad = write_tasks(tmp_path / "bad.json", [
        {"id": "fine", "argv": ["touch", str(marker)]},
        {"id": "broken", "argv": ["true"], "expect": ["typo.txt"]}])
    code, _, err = swarm(tmp_path, "run", str(bad))
    assert code == 2
    assert "task #2 (id 'broken')" in err and "key 'expect'" in err
    assert not marker.exists()
    assert not list((tmp_path / ".swarm" / "requests").glob("*")) if (
        tmp_path / ".swarm").exists() else True


def test_spawn_runs_one_task_from_flags(tmp_path: Path) -> None:
    code, out, _ = swarm(tmp_path, "spawn", "--id", "one", "--expects", "o.txt", "--",
                         "sh", "-c", "echo x > o.txt")
    assert code == 0 and "one" in out and "succeeded" in out


def test_submit_status_logs_and_clean(tmp_path: Path) -> None:
    code, out, _ = swarm(tmp_path, "submit", "--id", "q1", "--", "echo", "hello from q1")
    assert (code, out.strip()) == (0, "q1")
    code, out, _ = swarm(tmp_path, "status", "--json")
    status = json.loads(out)
    assert (status["version"], status["queued"], status["active"]) == (1, 1, 0)
    code, _, err = swarm(tmp_path, "serve", "--exit-when-idle")
    assert code == 0 and "ended q1" in err
    code, out, _ = swarm(tmp_path, "logs", "q1", "-f")
    assert (code, out) == (0, "hello from q1\n")
    status = json.loads(swarm(tmp_path, "status", "--json")[1])
    assert (status["finished"], status["by_status"]) == (1, {"succeeded": 1})
    assert status["efficiency"] is not None
    assert swarm(tmp_path, "logs", "nope")[0] == 2
    code, out, _ = swarm(tmp_path, "clean", "--all")
    assert (code, out.strip()) == (0, "removed 1 finished task(s)")
    assert json.loads(swarm(tmp_path, "status", "--json")[1])["finished"] == 0


def test_health_reports_a_missing_cli_and_exits_1(tmp_path: Path) -> None:
    env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    code, out, _ = swarm(tmp_path, "--claude-bin", str(tmp_path / "claude"), "health", "--json",
                         env=env)
    report = json.loads(out)
    assert code == 1 and report["version"] == 1
    assert report["backends"]["command"]["ok"] is True
    assert report["backends"]["claude"]["ok"] is False
    assert "HOOKSWARM_CLAUDE_BIN" in report["backends"]["claude"]["detail"]


def test_config_file_errors_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("max_paralel = 3\n")
    code, _, err = swarm(tmp_path, "--config", str(tmp_path / "c.toml"), "status")
    assert code == 0  # status reads the store only
    code, _, err = swarm(tmp_path, "--config", str(tmp_path / "c.toml"), "health")
    assert code == 2 and "key 'max_paralel'" in err


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
