"""The installer's (and the importer's) promises, over generated settings files.

Files come with other tools' hooks on the same events, unknown keys, unicode, nested values,
blank and missing files, and many layouts (json.dumps variants, CRLF, odd whitespace), in
the project, local and user scopes. For each: install twice equals once; the config changing
updates the entries; uninstall gives back the original bytes (or no file, if there was none);
no foreign key, group or hook is ever lost or reordered. Broken files are refused untouched.
``import --write``, install and uninstall give back the original settings and hookrun.toml.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import tomllib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import SettingsError
from hookswarm.settings import files, importer, manifest, migration
from hookswarm.settings import install as installer
from hookswarm.settings.document import parse
from hookswarm.settings.entries import MARK, desired, is_hookrun_group, is_hookrun_run

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

EXAMPLES = 250
EVENTS = ["PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart"]
HOOKRUN = "/opt/hook swarm/bin/hookrun"

fast = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- generated settings values

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                    st.floats(allow_nan=False, allow_infinity=False), words)
nested = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(words, inner, max_size=3), max_leaves=6)
commands = st.one_of(words, st.sampled_from(["python3 .claude/hooks/guard.py", "./log.sh",
                                             "echo 'ü ✓'", "jq -r .tool_name"]))
handlers = st.one_of(
    st.fixed_dictionaries({"type": st.just("command"), "command": commands},
                          optional={"timeout": st.integers(1, 600), "onFailure": st.just("block"),
                                    "async": st.booleans(), "x-tool": nested}),
    st.fixed_dictionaries({"type": st.just("http"), "url": st.just("http://127.0.0.1:9/h")}),
    st.fixed_dictionaries({"type": st.just("prompt"), "prompt": words}),
)
groups = st.fixed_dictionaries(
    {"hooks": st.lists(handlers, max_size=3)},
    optional={"matcher": st.sampled_from(["Bash", "Edit|Write", "*", "", "mcp__.*"]),
              "x-group": nested})
hook_tables = st.dictionaries(st.sampled_from(EVENTS) | words, st.lists(groups, max_size=3),
                              max_size=4)


@st.composite
def settings_values(draw: st.DrawFn) -> dict[str, Any]:
    """An object with unknown keys and, somewhere among them, usually a ``hooks`` table."""
    items = list(draw(st.dictionaries(words.filter(lambda k: k != "hooks"), nested,
                                      max_size=4)).items())
    if draw(st.booleans()) or draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), ("hooks", draw(hook_tables)))
    return dict(items)


# ---------------------------------------------------------------- generated layouts

def spaced(value: Any, blanks: list[str]) -> str:
    """JSON with the whitespace between tokens taken in turn from ``blanks``."""
    turn = itertools.cycle(blanks)

    def dump(item: Any) -> str:
        if isinstance(item, dict):
            inner = ",".join(f"{next(turn)}{json.dumps(k, ensure_ascii=False)}{next(turn)}:"
                             f"{next(turn)}{dump(v)}{next(turn)}" for k, v in item.items())
            return "{" + (inner or next(turn)) + "}"
        if isinstance(item, list):
            inner = ",".join(f"{next(turn)}{dump(v)}{next(turn)}" for v in item)
            return "[" + (inner or next(turn)) + "]"
        return json.dumps(item, ensure_ascii=False)

    return dump(value)


@st.composite
def layouts(draw: st.DrawFn) -> Callable[[Any], str]:
    if draw(st.booleans()):
        blanks = draw(st.lists(st.sampled_from(["", " ", "\n", "\n  ", "\n\t\t", "  \n    "]),
                               min_size=1, max_size=4))
        body: Callable[[Any], str] = lambda value: spaced(value, blanks)  # noqa: E731
    else:
        indent = draw(st.sampled_from([None, 0, 1, 2, 4, "\t"]))
        ascii_only = draw(st.booleans())
        separators = draw(st.sampled_from([None, (",", ":"), (", ", ": "), (",", " : ")]))
        body = lambda value: json.dumps(value, indent=indent, ensure_ascii=ascii_only,  # noqa: E731
                                        separators=separators)
    crlf = draw(st.booleans())
    tail = draw(st.sampled_from(["", "\n", "\n\n", " "]))

    def render(value: Any) -> str:
        text = body(value) + tail
        return text.replace("\n", "\r\n") if crlf else text

    return render


@st.composite
def settings_texts(draw: st.DrawFn) -> str | None:
    """File content; None means no file at all."""
    kind = draw(st.sampled_from(["json"] * 6 + ["blank", "missing"]))
    if kind == "missing":
        return None
    if kind == "blank":
        return draw(st.sampled_from(["", "\n", "  \n", "{}", "{}\n", "{ }", "{\n}\n"]))
    value = draw(settings_values())
    assume(not any(is_hookrun_run(h.get("command")) for h in _handlers(value)))
    return draw(layouts())(value)


hookrun_configs = st.lists(
    st.tuples(st.sampled_from(EVENTS), st.sampled_from(["", "Bash", "Edit|Write", "mcp__.*"]),
              st.integers(1, 120)), max_size=4)


def toml(hooks: list[tuple[str, str, int]]) -> str:
    return "".join(f'[[hooks]]\nname = "h{i}"\nevent = "{event}"\nmatcher = "{matcher}"\n'
                   f'command = "true"\ntimeout = {timeout}\n'
                   for i, (event, matcher, timeout) in enumerate(hooks))


@dataclass(frozen=True)
class Case:
    text: str | None
    scope: str
    via_config_dir: bool
    first: list[tuple[str, str, int]]
    second: list[tuple[str, str, int]]


cases = st.builds(Case, settings_texts(), st.sampled_from(files.SCOPES), st.booleans(),
                  hookrun_configs, hookrun_configs)


# ---------------------------------------------------------------- the world each case runs in

@dataclass
class World:
    project: Path
    environ: dict[str, str]
    settings: Path
    scope: str

    def configure(self, hooks: list[tuple[str, str, int]]) -> None:
        (self.project / ".claude" / "hookrun.toml").write_text(toml(hooks))

    def install(self) -> installer.Report:
        return installer.install(scope=self.scope, project=str(self.project),
                                 environ=self.environ, config_path=None, executable=HOOKRUN)

    def uninstall(self) -> installer.Report:
        return installer.uninstall(scope=self.scope, project=str(self.project),
                                   environ=self.environ)

    def read(self) -> bytes | None:
        return self.settings.read_bytes() if self.settings.exists() else None

    def leftovers(self) -> list[str]:
        folder = self.settings.parent
        return sorted(p.name for p in folder.iterdir()
                      if p.name.endswith((".tmp", files.BACKUP_SUFFIX, manifest.SUFFIX))
                      ) if folder.exists() else []


@contextmanager
def world(case: Case) -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp:
        project, home = Path(tmp, "project"), Path(tmp, "home")
        (project / ".claude").mkdir(parents=True)
        home.mkdir()
        environ = {"HOME": str(home)}
        if case.via_config_dir:
            environ["CLAUDE_CONFIG_DIR"] = str(Path(tmp, "config-dir"))
        path = Path(files.settings_path(case.scope, project=str(project), environ=environ))
        if case.text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(case.text.encode())
        yield World(project, environ, path, case.scope)


# ---------------------------------------------------------------- the properties

@fast
@given(case=cases)
def test_install_is_idempotent_and_uninstall_restores_every_byte(case: Case) -> None:
    with world(case) as w:
        before = w.read()
        w.configure(case.first)
        first = w.install()
        installed = w.read()
        assert not w.install().written.changed
        assert w.read() == installed  # a second install changes no byte
        check_entries(installed, case.first, scope=case.scope)
        check_foreign_kept(before, installed)
        assert first.written.backup_written == (before is not None and installed != before)

        w.configure(case.second)
        w.install()
        check_entries(w.read(), case.second, scope=case.scope)
        check_foreign_kept(before, w.read())

        w.uninstall()
        assert w.read() == before
        assert w.leftovers() == []


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases, existing=st.booleans(), installed_first=st.booleans())
def test_import_install_uninstall_gives_back_every_byte(case: Case, existing: bool,
                                                        installed_first: bool) -> None:
    """Import first: both files come back byte for byte. Install first (its entries beside
    the hooks import cuts): every hook comes back, some maybe as groups of their own."""
    with world(case) as w:
        config = w.project / ".claude" / "hookrun.toml"
        if existing:
            w.configure(case.first)
        before, config_before = w.read(), config.read_bytes() if existing else None
        if existing and installed_first:
            w.install()
        imported = importer.import_hooks(scope=w.scope, project=str(w.project),
                                         environ=w.environ, config_path=str(config),
                                         events=None, write=True, executable=HOOKRUN)
        installed = w.read()
        if config.exists():
            again = installer.install(scope=w.scope, project=str(w.project), environ=w.environ,
                                      config_path=str(config), executable=HOOKRUN)
            assert not again.written.changed
            assert w.read() == installed
        report = w.uninstall()
        moved = sum(len(m.sources) for m in imported.plan.moved)
        assert report.restored + report.regrouped == moved
        if existing and installed_first:
            assert handlers_in(w.read()) == handlers_in(before)
        else:
            assert (report.restored, w.read()) == (moved, before)
        assert (config.read_bytes() if config.exists() else None) == config_before
        assert w.leftovers() == []


def handlers_in(data: bytes | None) -> Counter[tuple[str, str]]:
    value = json.loads(data) if data and data.strip() else {}
    return Counter((event, json.dumps(handler, sort_keys=True)) for event, groups in
                   value.get("hooks", {}).items() for group in groups for handler in group["hooks"])


def check_entries(data: bytes | None, hooks: list[tuple[str, str, int]], *, scope: str) -> None:
    """Exactly one hookrun entry per configured event, none elsewhere; user-wide entries
    without --config stay silent where there is no hookrun.toml."""
    value = json.loads(data or b"{}") if (data or b"").strip() else {}
    found = {event: [g for g in groups if is_hookrun_group(g)]
             for event, groups in value.get("hooks", {}).items()}
    configured = {event for event, _, _ in hooks}
    assert {e for e, gs in found.items() if gs} == configured
    for event in configured:
        (group,) = found[event]
        timeout = max(t for e, _, t in hooks if e == event)
        assert group["hooks"][0]["timeout"] >= timeout
        quiet = " --if-configured" if scope == "user" else ""
        assert group["hooks"][0]["command"] == f"'{HOOKRUN}' run {event}{quiet}{MARK}"


def check_foreign_kept(before: bytes | None, after: bytes | None) -> None:
    """Every original key, group and hook is still there, with the same value, in order."""
    old = json.loads(before) if before and before.strip() else {}
    new = json.loads(after) if after and after.strip() else {}
    assert list(new)[:len(old)] == list(old)
    for key, value in old.items():
        if key != "hooks":
            assert new[key] == value
    old_hooks, new_hooks = old.get("hooks", {}), new.get("hooks", {})
    assert list(new_hooks)[:len(old_hooks)] == list(old_hooks)
    for event, groups in new_hooks.items():
        assert [g for g in groups if not is_hookrun_group(g)] == old_hooks.get(event, [])


def _handlers(value: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for groups in value.get("hooks", {}).values():
        for group in groups:
            yield from group["hooks"]


@st.composite
def broken_texts(draw: st.DrawFn) -> tuple[str, json.JSONDecodeError]:
    """A settings text that JSON rejects: cut short, or with one stray character."""
    text = draw(layouts())(draw(settings_values()))
    if draw(st.booleans()) and len(text) > 1:
        broken = text[:draw(st.integers(1, len(text) - 1))]
    else:
        at = draw(st.integers(0, len(text)))
        broken = text[:at] + draw(st.sampled_from(list("{}[],:x\"'"))) + text[at:]
    try:
        json.loads(broken)
    except json.JSONDecodeError as exc:
        return broken, exc
    assume(False)
    raise AssertionError("unreachable")


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(broken=broken_texts(), scope=st.sampled_from(files.SCOPES))
def test_a_broken_file_is_refused_untouched_naming_line_and_column(
        broken: tuple[str, json.JSONDecodeError], scope: str) -> None:
    text, error = broken
    case = Case(text, scope, False, [("PreToolUse", "Bash", 5)], [])
    with world(case) as w:
        w.configure(case.first)
        listing = sorted(os.listdir(w.settings.parent))
        for verb in (w.install, w.uninstall):
            with pytest.raises(SettingsError) as caught:
                verb()
            assert f"{w.settings}: line {error.lineno}, column {error.colno}:" in str(caught.value)
        with pytest.raises(SettingsError):
            importer.import_hooks(scope=scope, project=str(w.project), environ=w.environ,
                                   config_path=str(w.project / ".claude" / "hookrun.toml"),
                                   events=None, write=True, executable=HOOKRUN)
        assert w.read() == text.encode()
        assert sorted(os.listdir(w.settings.parent)) == listing  # no backup, lock or temp file


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=settings_texts())
def test_import_moves_each_command_once_and_keeps_everything_else(text: str | None) -> None:
    document = parse(text or "", "settings.json")
    plan = migration.plan(document, None, config_path="hookrun.toml", events=None,
                          entries_for=lambda config: desired(config, executable=HOOKRUN,
                                                             config_path=None),
                          original=document)
    before = json.loads(text) if text and text.strip() else {}
    after = json.loads(plan.settings_after) if plan.settings_after.strip() else {}
    moved = {(s.event, s.group, s.index) for m in plan.moved for s in m.sources}
    config = configuration.parse(tomllib.loads(plan.config_after), "hookrun.toml")
    assert sorted((h.event, h.command) for h in config.hooks) == sorted(
        {(event, before["hooks"][event][g]["hooks"][i]["command"]) for event, g, i in moved})
    assert {k: v for k, v in after.items() if k != "hooks"} == {
        k: v for k, v in before.items() if k != "hooks"}
    foreign = {event: [g for g in groups if not is_hookrun_group(g)]
               for event, groups in after.get("hooks", {}).items()}
    assert {e: gs for e, gs in foreign.items() if gs or e in before.get("hooks", {})} == \
        without(before.get("hooks", {}), moved)


def without(hooks: dict[str, list[Any]], moved: set[tuple[str, int, int]]) -> dict[str, Any]:
    """The hooks table minus the moved handlers; a group left empty goes unless it has extras."""
    result: dict[str, Any] = {}
    for event, groups in hooks.items():
        result[event] = []
        for g, group in enumerate(groups):
            left = [h for i, h in enumerate(group["hooks"]) if (event, g, i) not in moved]
            if left or len(left) == len(group["hooks"]) or set(group) - {"matcher", "hooks"}:
                result[event].append({**group, "hooks": left})
    return result
