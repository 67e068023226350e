"""Task files: TOML and JSON, one task or many, ids, and errors that name the task and key."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.lib.swarm.config import SwarmConfig, limits_for, load_config
from hookswarm.lib.swarm.errors import TaskFileError
from hookswarm.lib.swarm.task import Task, build_tasks, load_tasks, new_id

if TYPE_CHECKING:
    from pathlib import Path

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
    (tmp_path / "sub").mkdir()
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
    assert task in str(caught.value)
    assert f"key '{key}'" in str(caught.value)


@pytest.mark.parametrize(("body", "suffix", "says"), [
    ("[[tasks]\n", ".toml", "not valid TOML"),
    ("{", ".json", "not valid JSON"),
    ("[" * 100000, ".json", "not valid JSON"),
    ("a = " + "[" * 100000, ".toml", "not valid TOML"),
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


@pytest.mark.parametrize(("body", "key", "says"), [
    ("[caps]\ncommand = 0\n", "caps.command", "must be at least 1"),
    ("[caps]\ncomand = 1\n", "caps.comand", "unknown backend"),
    ("[caps]\n\"claude.x\" = 2\n", "caps.claude.x", "unknown backend"),
    ("[timeouts]\ninitial = [0, -5, 1]\n", "timeouts.initial.0", "must be above 0"),
    ("[timeouts]\ncap = inf\n", "timeouts.cap", "finite"),
    ("[timeouts]\nextend = nan\n", "timeouts.extend", "finite"),
    ("[heartbeat]\nkill = -1\n", "heartbeat.kill", "must be above 0"),
])
def test_config_values_that_would_hang_or_break_a_run_are_rejected(
        tmp_path: Path, body: str, key: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body)
    with pytest.raises(TaskFileError) as caught:
        load_config(path)
    assert (caught.value.key, caught.value.path) == (key, str(path))
    assert says in caught.value.reason


@pytest.mark.parametrize(("body", "key", "says"), [
    ('[[tasks]]\nprompt = "a"\nowns = "src/**"\n', "owns", "must be a list of strings"),
    ('[[tasks]]\nprompt = "a"\nowns = [1]\n', "owns.0", "must be a string"),
    ('[[tasks]]\nprompt = "a"\ncomplexity = "high"\n', "complexity", "must be a whole number"),
    ('[[tasks]]\nprompt = "a"\nbackend = "gpt"\n', "backend",
     "must be one of 'claude', 'command', 'ollama', 'openai'"),
    ('[[tasks]]\nprompt = "a"\nenv = { A = 1 }\n', "env.A", "must be a string"),
    ('[[tasks]]\nprompt = "a"\nexpect = ["x"]\n', "expect",
     "unknown key (allowed: id, prompt, context, backend, model, cwd, owns, expects, "
     "complexity, timeouts, env, max_turns, argv, allowed_tools, endpoint, pool, system, "
     "options, output, allow_outside)"),
    ('[[tasks]]\nprompt = "a"\ntimeouts = { initail = 3 }\n', "timeouts.initail",
     "unknown key (allowed: initial, extend, cap, silence_warn, silence_kill, grace)"),
    ('[[task]]\nprompt = "a"\n', "task",
     "unknown top-level key; did you mean [[tasks]] (plural)?"),
])
def test_task_file_errors_are_in_plain_words(tmp_path: Path, body: str, key: str,
                                             says: str) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text(body)
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path)
    assert (caught.value.key, caught.value.reason) == (key, says)


@pytest.mark.parametrize(("body", "key", "says"), [
    ("max_paralel = 3\n", "max_paralel",
     "unknown key (allowed: max_parallel, caps, inline_context, retention_days, max_attempts, "
     "poll_interval, log_max, timeouts, heartbeat, health, claude, pools, servers)"),
    ("[claude]\nallowed_tools = \"Read\"\n", "claude.allowed_tools", "must be a list of strings"),
    ("[timeouts]\ninitial = [60, 120]\n", "timeouts.initial", "must be a list of 3 numbers"),
    ("[health]\non_unhealthy = \"later\"\n", "health.on_unhealthy",
     "must be one of 'wait', 'fail'"),
])
def test_config_errors_are_in_plain_words(tmp_path: Path, body: str, key: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body)
    with pytest.raises(TaskFileError) as caught:
        load_config(path)
    assert (caught.value.key, caught.value.reason) == (key, says)


def test_a_config_path_that_was_given_must_exist(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.toml") == SwarmConfig()
    with pytest.raises(TaskFileError, match="cannot read the config"):
        load_config(tmp_path / "absent.toml", required=True)


@pytest.mark.parametrize("name", ["tasks.toml", "config.toml"])
def test_a_file_that_is_not_utf8_is_named_in_one_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b'prompt = "caf\xe9"\n')
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path) if name == "tasks.toml" else load_config(path)
    assert caught.value.path == str(path)
    assert "not UTF-8" in caught.value.reason
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("body", "suffix"), [
    ("[]", ".json"), ('{"tasks": []}', ".json"), ("tasks = []\n", ".toml")])
def test_a_file_without_tasks_is_an_error(tmp_path: Path, body: str, suffix: str) -> None:
    path = tmp_path / f"tasks{suffix}"
    path.write_text(body)
    with pytest.raises(TaskFileError, match="no tasks in"):
        load_tasks(path)


@pytest.mark.parametrize(("env", "key"), [
    ({"A=B": "1"}, "env.A=B"), ({"": "1"}, "env."), ({"A\0B": "1"}, "env.A\0B"),
    ({"OK": "a\0b"}, "env.OK")])
def test_env_names_must_be_environment_names(env: dict[str, str], key: str) -> None:
    with pytest.raises(TaskFileError) as caught:
        build_tasks([{"id": "e1", "prompt": "p", "env": env}], source="t.json")
    assert (caught.value.task, caught.value.key) == ("task #1 (id 'e1')", key)


def test_a_missing_cwd_is_reported_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError) as caught:
        build_tasks([{"prompt": "p"}, {"prompt": "q", "cwd": "nosuchdir"}], base=str(tmp_path))
    assert (caught.value.task, caught.value.key) == ("task #2", "cwd")
    assert "nosuchdir" in caught.value.reason
    assert "must exist" in caught.value.reason


def test_env_and_timeouts_merge_with_the_defaults_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text('[defaults]\nenv = { A = "1", B = "0" }\ntimeouts = { initial = 5, cap = 9 }\n'
                    'owns = ["x/**"]\n'
                    '[[tasks]]\nprompt = "p"\nenv = { B = "2" }\ntimeouts = { cap = 7 }\n'
                    'owns = ["y.py"]\n')
    [task] = load_tasks(path, base=str(tmp_path))
    assert task.env == {"A": "1", "B": "2"}
    assert (task.timeouts.initial, task.timeouts.cap) == (5, 7)
    assert task.owns == ("y.py",)


@pytest.mark.parametrize(("defaults", "task", "key"), [
    ('promt = "typo"\n', "[defaults]", "promt"),
    ("timeouts = { initail = 3 }\n", "[defaults]", "timeouts.initail"),
    ("complexity = 9\n", "[defaults]", "complexity"),
    ('cwd = "nosuchdir"\n', "[defaults]", "cwd"),
    ("timeouts = { cap = 3 }\n", "task #1", "timeouts.initail"),
])
def test_a_bad_default_is_blamed_on_defaults(tmp_path: Path, defaults: str, task: str,
                                              key: str) -> None:
    path = tmp_path / "tasks.toml"
    tasks = ('[[tasks]]\nprompt = "p"\n' if task == "[defaults]"
             else '[[tasks]]\nprompt = "p"\ntimeouts = { initail = 3 }\n')
    path.write_text(f"[defaults]\n{defaults}{tasks}")
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path, base=str(tmp_path))
    assert (caught.value.task, caught.value.key) == (task, key)


@pytest.mark.parametrize(("entry", "message"), [
    ({"backend": "ollama", "prompt": "p"}, "key 'model': an ollama task needs 'model'"),
    ({"backend": "openai", "model": "m"}, "key 'prompt': an openai task needs a non-empty"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "endpoint": "localhost:11434"},
     "key 'endpoint': 'localhost:11434' is not an http:// or https:// URL"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "endpoint": "http://h", "pool": "x"},
     "key 'pool': give 'endpoint' or 'pool', not both"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "options": {"top_k": 3}},
     "key 'options.top_k': unknown key"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "output": "json"},
     "key 'output': must be one of 'text', 'files'"),
    ({"backend": "claude", "prompt": "p", "system": "s"},
     "key 'system': 'system' is for ollama and openai tasks; this task's backend is 'claude'"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "output": "files"},
     "key 'output': output = 'files' needs 'owns' or 'expects'"),
    ({"backend": "command", "argv": ["true"], "output": "files"},
     "key 'output': 'output' is for ollama and openai tasks"),
])
def test_model_task_fields_are_validated_with_clear_errors(tmp_path: Path, entry: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(TaskFileError) as raised:
        build_tasks([entry], base=str(tmp_path), source="tasks.toml")
    assert "task #1: " + message in str(raised.value)
