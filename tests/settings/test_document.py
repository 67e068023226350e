"""Parsing settings text: spans that match the text, and refusals that name line and column."""

from __future__ import annotations

import json

import pytest

from hookswarm.lib.errors import SettingsError
from hookswarm.settings.document import BOM, decode, parse

SAMPLE = '{\n  "a": [1, {"b": "ü\\n"}],\n  "hooks": {"Stop": []},\n  "a": true\n}\n'


def test_every_span_holds_exactly_its_value() -> None:
    document = parse(SAMPLE, "s.json")
    root = document.root
    assert root is not None
    assert [m.key for m in root.members] == ["a", "hooks", "a"]
    for member in root.members:
        assert SAMPLE[member.start:member.key_end] == json.dumps(member.key)
        assert document.value(member.value) == json.loads(
            SAMPLE[member.value.start:member.value.end])
    first = root.members[0].value
    assert [SAMPLE[i.start:i.end] for i in first.items] == ["1", '{"b": "ü\\n"}']


def test_a_duplicate_key_resolves_to_the_last_like_json_parse() -> None:
    document = parse(SAMPLE, "s.json")
    assert document.root is not None
    member = document.root.get("a")
    assert member is not None
    assert document.value(member.value) is True
    assert document.root.index_of("a") == 2


def test_find_walks_objects_and_stops_at_anything_else() -> None:
    document = parse(SAMPLE, "s.json")
    stop = document.find(("hooks", "Stop"))
    assert stop is not None
    assert stop.kind == "array"
    assert stop.empty
    assert document.inner(stop) == ""
    assert document.find(("hooks", "Nope")) is None
    assert document.find(("a", "b")) is None


@pytest.mark.parametrize("text", ["", "  \n", "\r\n\t", BOM, BOM + "\n"])
def test_a_blank_file_is_an_empty_object(text: str) -> None:
    document = parse(text, "s.json")
    assert document.root is None
    assert document.find(()) is None


def test_a_bom_is_kept_and_skipped() -> None:
    text = BOM + '{"a": 1}'
    document = parse(text, "s.json")
    assert document.root is not None
    assert document.text == text
    assert text[document.root.start] == "{"


@pytest.mark.parametrize(("text", "line", "column"), [
    ('{"a": 1,}', 1, 9),
    ('{\n  "a": 1\n  "b": 2\n}', 3, 3),
    ('{\n  "a": [1, 2\n}', 3, 1),
    ('{"a": tru}', 1, 7),
    ("{'a': 1}", 1, 2),
    ('{"a": 1} trailing', 1, 10),
    ('{"a": NaN}', 1, 7),
    ('{"a": [1, -Infinity]}', 1, 11),
    ('{\n"a": "unterminated\n}', 2, 19),
    (BOM + '{"a": }', 1, 8),
])
def test_malformed_text_names_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(SettingsError) as caught:
        parse(text, "/p/.claude/settings.json")
    message = str(caught.value)
    assert message.startswith("/p/.claude/settings.json: ")
    assert f"line {line}, column {column}" in message
    assert "nothing was changed" in message


@pytest.mark.parametrize("text", ["[]", "1", '"settings"', "null"])
def test_the_root_must_be_an_object(text: str) -> None:
    with pytest.raises(SettingsError, match="must be a JSON object"):
        parse(text, "s.json")


def test_bytes_that_are_not_utf8_name_the_spot() -> None:
    with pytest.raises(SettingsError, match=r"line 2, column 9: .*not UTF-8"):
        decode(b'{\n  "a": "\xff"\n}', "s.json")


def test_deep_nesting_is_refused_not_crashed() -> None:
    with pytest.raises(SettingsError, match="nested too deeply"):
        parse('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "s.json")
