"""Task files: TOML and JSON, one task or many, ids, and errors that name the task and key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hookswarm.lib.swarm.config import SwarmConfig, limits_for, load_config
from hookswarm.lib.swarm.errors import TaskFileError
from hookswarm.lib.swarm.task import Task, build_tasks, load_tasks, new_id

ID = re.compile(r"^calc-\d{13}-[a-z0-9]{6}$")


def test_new_id_format() -> None:
    assert new_id("calc", epoch_ms=1700000000123, rand="abc123") == "calc-1700000000123-abc123"
    assert ID.match(new_id("calc"))
    assert new_id("calc") != new_id("calc")


def test_toml_with_defaults_and_a_list(tmp_path: Path) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text('[defaults]\nprefix = "calc"\nbackend = "command"\nowns = ["out/**"]\n'
                    '[[tasks]]\nargv = ["true"]\n'
                    '[[tasks]]\nid = "second"\nargv = ["false"]\ncwd = "sub"\n'
                    'timeouts = { initial = 2.5, silence_kill = 9 }\n')
    first, second = load_tasks(path, base=str(tmp_path))
    assert ID.match(first.id)
    assert (first.backend, first.argv, first.owns, first.cwd) == (
        "command", ("true",), ("out/**",), str(tmp_path))
    assert (second.id, second.cwd) == ("second", str(tmp_path / "sub"))
    assert (second.timeouts.initial, second.timeouts.silence_kill) == (2.5, 9)


def test_json_single_task_and_list(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"prompt": "write calc.py", "model": "claude-x",
                               "expects": ["calc.py"]}))
    [task] = load_tasks(one)
    assert (task.backend, task.model, task.write_globs) == ("claude", "claude-x", ("calc.py",))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"prompt": "a"}, {"prompt": "b", "complexity": 3}]))
    assert [t.level() for t in load_tasks(many)] == [1, 3]


@pytest.mark.parametrize(("body", "suffix", "task", "key", "says"), [
    ('[[tasks]]\nprompt = "a"\n[[tasks]]\nprompt = "b"\npromt = "typo"\n', ".toml",
     "task #2", "promt", "unknown key"),
    ('[[tasks]]\nid = "x1"\nprompt = "a"\ntimeouts = { initail = 3 }\n', ".toml",
     "task #1 (id 'x1')", "timeouts.initail", "unknown key"),
    ('[[tasks]]\nbackend = "command"\n', ".toml", "task #1", "argv", "needs 'argv'"),
    ('[[tasks]]\nprompt = ""\n', ".toml", "task #1", "prompt", "non-empty"),
    ('[[tasks]]\nprompt = "a"\ncomplexity = 7\n', ".toml", "task #1", "complexity", "3"),
    ('[[tasks]]\nprompt = "a"\nbackend = "gpt"\n', ".toml", "task #1", "backend", ""),
    ('[{"prompt": "a", "owns": "src/**"}]', ".json", "task #1", "owns", ""),
    ('[{"id": "dup", "prompt": "a"}, {"id": "dup", "prompt": "b"}]', ".json",
     "task #2 (id 'dup')", "id", "earlier task"),
    ('[{"prompt": "a", "id": "has space"}]', ".json", "task #1 (id 'has space')", "id", ""),
])
def test_a_malformed_task_names_the_task_and_the_key(tmp_path: Path, body: str, suffix: str,
                                                    task: str, key: str, says: str) -> None:
    path = tmp_path / f"tasks{suffix}"
    path.write_text(body)
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path)
    assert (caught.value.task, caught.value.key) == (task, key)
    assert says in caught.value.reason
    assert task in str(caught.value) and f"key '{key}'" in str(caught.value)


@pytest.mark.parametrize(("body", "suffix", "says"), [
    ("[[tasks]\n", ".toml", "not valid TOML"),
    ("{", ".json", "not valid JSON"),
    ('"just a string"', ".json", "expected a task"),
    ('{"tasks": [], "extra": 1}', ".json", "unknown top-level key"),
])
def test_a_broken_file_says_what_is_wrong(tmp_path: Path, body: str, suffix: str,
                                          says: str) -> None:
    path = tmp_path / f"tasks{suffix}"
    path.write_text(body)
    with pytest.raises(TaskFileError, match=says):
        load_tasks(path)


def test_config_rejects_unknown_keys_by_name(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[heartbeat]\nwarn = 1\nkil = 2\n")
    with pytest.raises(TaskFileError) as caught:
        load_config(path)
    assert caught.value.key == "heartbeat.kil"


@pytest.mark.parametrize(("overrides", "complexity", "initial", "cap", "warn", "kill"), [
    ({}, 1, 60.0, 240.0, 45.0, 90.0),
    ({}, 3, 180.0, 240.0, 45.0, 90.0),
    ({"initial": 1.0, "cap": 2.0, "silence_warn": 0.5, "silence_kill": 1.0}, 1, 1.0, 2.0, 0.5, 1.0),
    ({"initial": 500.0}, 1, 240.0, 240.0, 45.0, 90.0),
    ({"cap": 100.0}, 3, 100.0, 100.0, 45.0, 90.0),
])
def test_limits_fold_task_overrides_into_the_config(overrides: dict[str, float], complexity: int,
                                                    initial: float, cap: float, warn: float,
                                                    kill: float) -> None:
    [task] = build_tasks([{"prompt": "p", "complexity": complexity, "timeouts": overrides}])
    limits = limits_for(SwarmConfig(), task)
    assert (limits.initial, limits.timeouts.cap) == (initial, cap)
    assert (limits.heartbeat.warn, limits.heartbeat.kill) == (warn, kill)


def test_task_model_is_strict() -> None:
    with pytest.raises(ValueError, match="extra"):
        Task.model_validate({"id": "a", "prompt": "p", "surprise": 1})
