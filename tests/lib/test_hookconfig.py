"""hookrun.toml validation (errors name file, hook and key) and the normalized-form cache."""

from __future__ import annotations

import os
import tomllib
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib import hookconfig as config
from hookswarm.lib.errors import ConfigError
from tests.helpers.hookrun_toml import chain

if TYPE_CHECKING:
    from pathlib import Path

HOOK = '[[hooks]]\nname = "{name}"\nevent = "PreToolUse"\ncommand = "true"\n'


def parse(toml: str) -> config.Config:
    return config.parse(tomllib.loads(toml), "hookrun.toml")


def test_a_full_hook_normalizes() -> None:
    loaded = parse('[defaults]\ntimeout = 5\non_error = "block"\n'
                   '[[hooks]]\nname = "a"\nevent = "PreToolUse"\nmatcher = "Bash"\n'
                   'command = "x"\nenv = { K = "v" }\n'
                   '[[hooks]]\nname = "b"\nevent = "PreToolUse"\ncall = "m:f"\nafter = "a"\n'
                   'timeout = 1.5\non_error = "allow"\noptions = { mode = "warn" }\n')
    a, b = loaded.hooks
    assert (a.timeout, a.on_error, a.env, a.kind) == (5.0, "block", {"K": "v"}, "command")
    assert (b.after, b.timeout, b.on_error, b.options, b.kind) == (
        ("a",), 1.5, "allow", {"mode": "warn"}, "call")


@pytest.mark.parametrize(("toml", "hook", "key", "words"), [
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncommand = "x"\ncommnd = "y"\n', "a",
     "commnd", "unknown key"),
    ('[defaults]\ntimeot = 3\n', "", "defaults.timeot", "unknown key"),
    ('[hookz]\n', "", "hookz", "unknown key"),
    (HOOK.format(name="a") + HOOK.format(name="a"), "a", "name", "duplicate name"),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\n', "a", "command/call", "exactly one"),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncommand = "x"\ncall = "m:f"\n', "a",
     "command/call", "exactly one"),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncall = "nocolon"\n', "a", "call",
     "module:function"),
    ('[[hooks]]\nname = "a"\nevent = "PreTool"\ncommand = "x"\n', "a", "event", "unknown event"),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncommand = "x"\nafter = ["zz"]\n', "a",
     "after", "unknown hook 'zz'"),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncommand = "x"\ntimeout = 0\n', "a",
     "timeout", "positive"),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncommand = "x"\non_error = "deny"\n', "a",
     "on_error", '"allow"'),
    ('[[hooks]]\nname = "a"\nevent = "PreToolUse"\ncall = "m:f"\nenv = { A = "1" }\n', "a",
     "env", "options"),
    ('[[hooks]]\nevent = "PreToolUse"\ncommand = "x"\n', "#1", "name", "non-empty"),
    ('[[hooks]]\nname = "a"\nevent = "Stop"\ncall = "m:f"\noptions = { since = 2024-01-01 }\n',
     "a", "options.since", "not a date"),
    ('[[hooks]]\nname = "a"\nevent = "Stop"\ncommand = "x"\nenv = { X = "a\\u0000b" }\n', "a",
     "env", "NUL"),
])
def test_errors_name_the_file_hook_and_key(toml: str, hook: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(toml)
    error = caught.value
    assert (error.path, error.hook, error.key) == ("hookrun.toml", hook, key)
    assert words in str(error)
    assert str(error).startswith("hookrun.toml")


def test_a_cycle_is_named_in_full() -> None:
    toml = "".join(
        f'[[hooks]]\nname = "{n}"\nevent = "Stop"\ncommand = "x"\nafter = ["{d}"]\n'
        for n, d in [("a", "c"), ("b", "a"), ("c", "b")])
    with pytest.raises(ConfigError, match="dependency cycle a -> c -> b -> a"):
        parse(toml)


def test_after_must_stay_within_one_event() -> None:
    toml = (HOOK.format(name="a") +
            '[[hooks]]\nname = "b"\nevent = "Stop"\ncommand = "x"\nafter = ["a"]\n')
    with pytest.raises(ConfigError, match="same event"):
        parse(toml)


def test_search_order(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "hookrun.toml").write_text("")
    cwd = str(tmp_path)
    env = {"CLAUDE_PROJECT_DIR": str(project)}
    assert config.find("x.toml", environ={**env, "HOOKRUN_CONFIG": "y"}, cwd=cwd) == "x.toml"
    assert config.find(None, environ={**env, "HOOKRUN_CONFIG": "y"}, cwd=cwd) == "y"
    assert config.find(None, environ=env, cwd=cwd) == str(project / ".claude" / "hookrun.toml")
    assert config.find(None, environ={}, cwd=cwd) == os.path.join(cwd, ".claude", "hookrun.toml")


def test_the_cache_serves_an_unchanged_file_and_notices_a_change(tmp_path: Path) -> None:
    path = tmp_path / "hookrun.toml"
    path.write_text(HOOK.format(name="first"))
    cache_dir = str(tmp_path / "cache")
    assert config.load(str(path), cache_dir=cache_dir).hooks[0].name == "first"
    cache = tmp_path / "cache" / "config-cache.json"
    cached = cache.read_text()
    assert '"first"' in cached
    cache.write_text(cached.replace('"first"', '"from-cache"'))
    assert config.load(str(path), cache_dir=cache_dir).hooks[0].name == "from-cache"
    path.write_text(HOOK.format(name="second") + "\n")
    assert config.load(str(path), cache_dir=cache_dir).hooks[0].name == "second"


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "hookrun.toml"
    path.write_text(HOOK.format(name="a"))
    (tmp_path / "config-cache.json").write_text("{broken")
    assert config.load(str(path), cache_dir=str(tmp_path)).hooks[0].name == "a"


def test_a_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HOOKRUN_CONFIG"):
        config.load(str(tmp_path / "absent.toml"))


@pytest.mark.parametrize("value", ["1e10", "inf", "-inf", "nan", "1e9", "86401", "0", "-1",
                                   "true", '"30"'])
@pytest.mark.parametrize("where", ["hook", "defaults"])
def test_a_timeout_must_be_positive_finite_and_at_most_a_day(value: str, where: str) -> None:
    if where == "hook":
        toml, hook, key = HOOK.format(name="a") + f"timeout = {value}\n", "a", "timeout"
    else:
        toml, hook, key = f"[defaults]\ntimeout = {value}\n", "", "defaults.timeout"
    with pytest.raises(ConfigError) as caught:
        parse(toml)
    assert (caught.value.hook, caught.value.key) == (hook, key)
    assert "positive number of seconds, at most 86400" in str(caught.value)


@pytest.mark.parametrize("value", ["86400", "0.001", "30"])
def test_a_timeout_up_to_a_day_is_accepted(value: str) -> None:
    assert parse(f"[defaults]\ntimeout = {value}\n" + HOOK.format(name="a")).hooks[0].timeout \
        == float(value)


@pytest.mark.parametrize("bad", ["1e10", "NaN", "Infinity", "-1", "true", '"5"'])
def test_a_cached_timeout_out_of_range_is_not_trusted(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "hookrun.toml"
    path.write_text("[defaults]\ntimeout = 5\n" + HOOK.format(name="a"))
    config.load(str(path), cache_dir=str(tmp_path))
    cache = tmp_path / "config-cache.json"
    cache.write_text(cache.read_text().replace('"timeout": 5.0', f'"timeout": {bad}'))
    assert cache.read_text().count(f'"timeout": {bad}') == 2  # the default's and the hook's
    loaded = config.load(str(path), cache_dir=str(tmp_path))
    assert (loaded.timeout, loaded.hooks[0].timeout) == (5.0, 5.0)


def test_a_file_that_is_not_utf8_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "hookrun.toml"
    path.write_bytes(b'[[hooks]]\nname = "caf\xe9"\nevent = "Stop"\ncommand = "x"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 21 is b'\\xe9'\).*save it as "
                                          "UTF-8") as caught:
        config.load(str(path))
    assert caught.value.path == str(path)


def test_a_chain_of_1500_hooks_loads() -> None:
    assert len(parse(chain(1500)).hooks) == 1500


def test_a_cycle_through_1500_hooks_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(chain(1500, cycle=True))
    assert " -> ".join(f"h{i}" for i in range(5)) in str(caught.value)
    assert str(caught.value).endswith("h1499 -> h0")


@pytest.mark.parametrize(("toml", "flags"), [
    ("", (False, False)),
    ('[defaults]\ncancel_on_block = true\n', (True, True)),
    ('[defaults]\ncancel_on_block = true\n[[hooks]]\nname = "z"\nevent = "Stop"\n'
     'command = "x"\ncancel_on_block = false\n', (True, False)),
])
def test_cancel_on_block_defaults_and_per_hook(toml: str, flags: tuple[bool, bool]) -> None:
    loaded = parse(toml.replace("[[hooks]]", HOOK.format(name="a") + "[[hooks]]", 1)
                   if "[[hooks]]" in toml else toml + HOOK.format(name="a"))
    assert (loaded.hooks[0].cancel_on_block, loaded.hooks[-1].cancel_on_block) == flags


@pytest.mark.parametrize(("toml", "key"), [
    ('[defaults]\ncancel_on_block = "yes"\n', "defaults.cancel_on_block"),
    (HOOK.format(name="a") + "cancel_on_block = 1\n", "cancel_on_block"),
])
def test_cancel_on_block_must_be_true_or_false(toml: str, key: str) -> None:
    with pytest.raises(ConfigError, match="must be true or false") as caught:
        parse(toml)
    assert caught.value.key == key
