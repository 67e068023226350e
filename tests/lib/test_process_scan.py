"""/proc scanning: a marked process found, its session and start time, scans since a pid."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from hookswarm.lib import process_scan
from tests.helpers.processes import wait_until

if TYPE_CHECKING:
    import pytest


def test_session_helpers_find_a_marked_process() -> None:
    env = {"SWARM_TEST_MARK": "m1", "PATH": "/usr/bin:/bin"}
    child = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    try:
        # Popen returns once exec has begun; /proc shows the new environment when it is done.
        wait_until(lambda: child.pid in process_scan.processes_with_env("SWARM_TEST_MARK=m1"))
        assert process_scan.session_members(child.pid) == [child.pid]
        assert process_scan.start_ticks(child.pid) is not None
        process_scan.kill_pids([child.pid])
        assert child.wait(timeout=10) == -9
    finally:
        child.kill()
        child.wait()


def test_a_scan_since_a_pid_skips_older_processes_unless_pids_wrapped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"SWARM_TEST_MARK": "m2", "PATH": "/usr/bin:/bin"}
    child = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    try:
        wait_until(lambda: child.pid in process_scan.processes_with_env("SWARM_TEST_MARK=m2"))
        assert process_scan.processes_with_env("SWARM_TEST_MARK=m2", since=child.pid) == [
            child.pid]
        later = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                               check=True)
        newer = int(later.stdout)
        assert process_scan.processes_with_env("SWARM_TEST_MARK=m2", since=newer) == []
        monkeypatch.setattr(process_scan, "_last_pid", lambda: newer - 1)  # the pids wrapped
        assert process_scan.processes_with_env("SWARM_TEST_MARK=m2", since=newer) == [child.pid]
    finally:
        child.kill()
        child.wait()
