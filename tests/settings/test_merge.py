"""The pure merge: what needs the backup to come back exactly, and what does not."""

from __future__ import annotations

import json

import pytest

from hookswarm.lib.errors import SettingsError
from hookswarm.settings import merge
from hookswarm.settings.document import BOM, parse
from hookswarm.settings.entries import MARK, Entry

ENTRIES = (Entry("PreToolUse", "hookrun run PreToolUse" + MARK, 7, "Bash"),
           Entry("Stop", "hookrun run Stop" + MARK, 12))


def installed(text: str) -> str:
    result = merge.install(text, ENTRIES, path="s.json", original=parse(text, "s.json"))
    assert result.text is not None
    return result.text


@pytest.mark.parametrize("text", [
    '{"model": "x"}',
    '{\n  "hooks": {\n    "Stop": [{"hooks": [{"type": "command", "command": "a"}]}]\n  }\n}\n',
    '{"hooks": {"Notification": [], "PreToolUse": [{"hooks": []}]}, "z": 1}',
    '{\r\n\t"a": [1, 2],\r\n\t"hooks": {"SessionStart": [{"hooks": []}]}\r\n}',
])
def test_non_empty_containers_come_back_exactly_without_a_backup(text: str) -> None:
    assert merge.uninstall(installed(text), path="s.json", original=None).text == text


@pytest.mark.parametrize(("text", "without_backup"), [
    ("{}", "{}"),
    ("", "{}\n"),
    ('{"hooks": {}}', "{}"),
    ('{"hooks": {"Stop": []}, "a": 1}', '{"a": 1}'),
    ("{\n}\n", "{}\n"),  # what install makes from no file, but hookrun did not make it
])
def test_empty_containers_need_the_backup_to_come_back(text: str,
                                                       without_backup: str | None) -> None:
    done = installed(text)
    assert merge.uninstall(done, path="s.json", original=parse(text, "s.json")).text == text
    assert merge.uninstall(done, path="s.json", original=None).text == without_backup


def test_a_file_made_from_nothing_is_deleted_when_emptied() -> None:
    made = merge.install("", ENTRIES, path="s.json", original=None)
    assert made.text is not None
    assert json.loads(made.text) == {"hooks": {e.event: [e.group()] for e in ENTRIES}}
    assert merge.uninstall(made.text, path="s.json", original=None, created=True).text is None
    assert merge.install(made.text, (), path="s.json", original=None, created=True).text is None
    assert merge.uninstall(made.text, path="s.json", original=None).text == "{}\n"


def test_a_byte_order_mark_survives() -> None:
    assert installed(BOM).startswith(BOM + "{\n")
    assert installed(BOM + '{"a": 1}').startswith(BOM + '{"a": 1, "hooks"')


def test_edits_go_to_the_key_claude_code_reads_when_keys_repeat() -> None:
    text = '{"hooks": {"Stop": [1]}, "hooks": {"Stop": []}}'
    done = installed(text)
    assert done.startswith('{"hooks": {"Stop": [1]}, "hooks": {"Stop": [{"hooks"')
    assert merge.uninstall(done, path="s.json", original=parse(text, "s.json")).text == text


def test_surplus_and_stale_entries_go() -> None:
    ours = {"hooks": [{"type": "command", "command": "hookrun run Stop" + MARK}]}
    theirs = {"hooks": [{"type": "command", "command": "hookrun run"}]}
    text = json.dumps({"hooks": {"Stop": [ours, {"hooks": []}, ours, theirs],
                                 "SessionEnd": [ours]}})
    result = merge.install(text, ENTRIES[1:], path="s.json", original=None)
    assert result.text is not None
    assert json.loads(result.text) == {"hooks": {"Stop": [ENTRIES[1].group(), {"hooks": []},
                                                          theirs]}}
    assert result.notes == ("hooks.Stop[2] runs 'hookrun run', written by hand: left as it is; "
                            "if it runs the same hookrun.toml, its hooks run twice, so remove "
                            "it",)
    assert [(c.event, c.action) for c in result.changes] == [
        ("SessionEnd", merge.REMOVE), ("Stop", merge.UPDATE)]


def test_a_non_list_event_is_refused_only_when_it_must_be_edited() -> None:
    text = '{"hooks": {"Stop": "nope", "Other": 3}}'
    with pytest.raises(SettingsError, match=r"hooks\.Stop must be a list"):
        installed(text)
    only_pre = merge.install(text, ENTRIES[:1], path="s.json", original=None)
    assert only_pre.text is not None
    assert '"Stop": "nope"' in only_pre.text
