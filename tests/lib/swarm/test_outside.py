"""Paths outside the project: refused unless the task says ``allow_outside = true``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.errors import TaskFileError
from hookswarm.lib.swarm.ownership import outside
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.swarm import coordinate

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(("cwd", "globs", "found"), [
    ("p", ["a.txt", "src/**", "sub/"], []),
    ("p", ["../outside.txt"], [("expects", "../outside.txt")]),
    ("p", ["src/../../x/*.py"], [("expects", "src/../../x/*.py")]),
    ("p", ["/etc/passwd"], [("expects", "/etc/passwd")]),
    ("p/sub", ["../a.txt"], []),
    ("p/sub", ["../../**"], [("expects", "../../**")]),
    ("p/link", ["a.txt"], [("cwd", "p/link"), ("expects", "a.txt")]),
    (".", ["p/a.txt"], [("cwd", ".")]),
])
@pytest.mark.parametrize("root_is_real", [False, True])
def test_outside_judges_the_literal_head_with_symlinks_resolved(
        tmp_path: Path, cwd: str, globs: list[str], found: list[tuple[str, str]],
        root_is_real: bool) -> None:
    (tmp_path / "p" / "sub").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "p" / "link").symlink_to(tmp_path / "elsewhere")
    root = str((tmp_path / "p").resolve() if root_is_real else tmp_path / "p")
    got = outside(root, str(tmp_path / cwd), [("expects", g) for g in globs],
                  root_is_real=root_is_real)
    assert got == [(k, str(tmp_path / cwd) if k == "cwd" else v) for k, v in found]


@pytest.mark.parametrize(("entry", "key"), [
    ({"expects": ["../outside.txt"]}, "expects"),
    ({"owns": ["../**"]}, "owns"),
    ({"cwd": "../../.."}, "cwd"),
])
def test_a_task_file_reaching_outside_is_refused_with_the_key_and_the_fix(
        tmp_path: Path, entry: dict[str, object], key: str) -> None:
    project = tmp_path / "a" / "b" / "project"
    project.mkdir(parents=True)
    with pytest.raises(TaskFileError, match="allow_outside = true") as caught:
        build_tasks([{"prompt": "p", **entry}], base=str(project))
    assert caught.value.key == key
    build_tasks([{"prompt": "p", "allow_outside": True, **entry}], base=str(project))


WRITE_OUTSIDE = ["sh", "-c", "echo x > ../outside.txt"]


def test_an_allowed_escape_is_noted_in_the_result(swarm_dir: Store, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    store = Store.for_project(tmp_path / "project")
    coordinate(store, [{"id": "out", "backend": "command", "argv": WRITE_OUTSIDE,
                        "expects": ["../outside.txt"], "allow_outside": True}],
               tmp_path / "project")
    result = store.result("out") or {}
    assert result["status"] == "succeeded", result
    assert result["notes"] == ["allowed outside the project: expects '../outside.txt'"]
    assert (tmp_path / "outside.txt").read_text() == "x\n"


def test_a_hand_written_request_reaching_outside_fails_without_running(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    swarm_dir = Store.for_project(project)
    [task] = build_tasks([{"id": "sneaky", "backend": "command", "argv": WRITE_OUTSIDE,
                           "expects": ["../outside.txt"], "allow_outside": True}],
                         base=str(project))
    forged = json.loads(task.model_dump_json())
    forged["allow_outside"] = False
    swarm_dir.path("requests", "sneaky").write_text(
        json.dumps({"version": 1, "task": forged, "submitted_at": 0}))
    coordinate(swarm_dir, [], project, only=False)
    result = swarm_dir.result("sneaky") or {}
    assert result["status"] == "failed"
    assert "outside the project" in result["reason"]
    assert not (tmp_path / "outside.txt").exists()
