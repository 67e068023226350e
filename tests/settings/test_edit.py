"""Layout detection and the splice edits: new text looks like its neighbours, removal inverts."""

from __future__ import annotations

import json

import pytest

from hookswarm.settings import edit
from hookswarm.settings.document import Node, parse
from hookswarm.settings.style import Style, detect, line_indent

ITEM = {"k": "ü"}


def detected(text: str) -> Style:
    return detect(parse(text, "s.json"))


@pytest.mark.parametrize(("text", "style"), [
    ("", Style()),
    ("{}", Style()),
    ('{\n  "a": 1\n}\n', Style(indent="  ")),
    ('{\n    "a": {\n        "b": 1\n    }\n}', Style(indent="    ")),
    ('{\n\t"a": 1\n}', Style(indent="\t")),
    ('{\r\n  "a": 1\r\n}\r\n', Style(indent="  ", newline="\r\n")),
    ('{"a":1,"b":[2]}', Style(key_sep=":", item_sep=",", multiline=False)),
    ('{"a" : 1}', Style(key_sep=" : ", multiline=False)),
    ('{"a": {\n   "b": 1}}', Style(indent="   ")),
    ('{\n"a": 1\n}', Style(indent="")),
])
def test_detect_reads_the_files_layout(text: str, style: Style) -> None:
    assert detected(text) == style


@pytest.mark.parametrize(("text", "path", "expected"), [
    ('{"a": [1]}', ("a",), '{"a": [1, {"k": "ü"}]}'),
    ('{"a":[1]}', ("a",), '{"a":[1,{"k":"ü"}]}'),
    ('{"a": [ 1 ]}', ("a",), '{"a": [ 1, {"k": "ü"} ]}'),
    ('{\n  "a": [\n    1\n  ]\n}', ("a",),
     '{\n  "a": [\n    1,\n    {\n      "k": "ü"\n    }\n  ]\n}'),
    ('{\n  "a": [1, 2]\n}', ("a",), '{\n  "a": [1, 2, {"k": "ü"}]\n}'),
    ('{\n  "a": [\n    1,\n\n    2\n  ]\n}', ("a",),
     '{\n  "a": [\n    1,\n\n    2,\n\n    {\n      "k": "ü"\n    }\n  ]\n}'),
    ('{\r\n\t"a": [\r\n\t\t1\r\n\t]\r\n}', ("a",),
     '{\r\n\t"a": [\r\n\t\t1,\r\n\t\t{\r\n\t\t\t"k": "ü"\r\n\t\t}\r\n\t]\r\n}'),
    ('{\n  "a": []\n}', ("a",), '{\n  "a": [\n    {\n      "k": "ü"\n    }\n  ]\n}'),
    ('{"a": []}', ("a",), '{"a": [{"k": "ü"}]}'),
])
def test_append_follows_the_siblings_and_remove_takes_it_back(
        text: str, path: tuple[str, ...], expected: str) -> None:
    document = parse(text, "s.json")
    container = document.find(path)
    assert container is not None
    style = detect(document)
    added = edit.append(text, container, lambda base: style.render(ITEM, base=base), style)
    assert added == expected
    assert json.loads(added)[path[0]][-1] == ITEM
    after = parse(added, "s.json").find(path)
    assert after is not None
    removed = edit.remove(added, after, len(after.items) - 1)
    assert removed == text


def test_removing_the_first_child_takes_its_trailing_separator() -> None:
    text = '{"a": [1,  2, 3]}'
    container = parse(text, "s.json").find(("a",))
    assert container is not None
    assert edit.remove(text, container, 0) == '{"a": [2, 3]}'
    assert edit.remove(text, container, 1) == '{"a": [1, 3]}'


def test_members_append_like_items() -> None:
    text = '{\n  "a": 1\n}\n'
    document = parse(text, "s.json")
    style = detect(document)
    root = document.root
    assert isinstance(root, Node)
    added = edit.append(text, root, lambda base: style.render_member("b", [ITEM], base=base),
                        style)
    assert added == '{\n  "a": 1,\n  "b": [\n    {\n      "k": "ü"\n    }\n  ]\n}\n'
    assert edit.remove(added, parse(added, "s.json").root, 1) == text  # type: ignore[arg-type]


def test_base_of_a_replacement_is_its_own_line_or_none_inline() -> None:
    text = '{\n  "a": {\n    "x": 1\n  },\n  "b": {"y": 2}\n}'
    document = parse(text, "s.json")
    a, b = document.find(("a",)), document.find(("b",))
    assert a is not None
    assert b is not None
    assert (edit.base_of(text, a), edit.base_of(text, b)) == ("  ", None)
    assert line_indent(text, b.start) == "  "
