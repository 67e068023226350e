"""hookrun.toml text: entries given as data (a guard's ``HOOKRUN_ENTRIES``), and long chains."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def hookrun_toml(entries: Iterable[Mapping[str, Any]]) -> str:
    """One ``[[hooks]]`` table per entry; strings, numbers and one level of inline tables."""
    return "\n".join(_table(entry) for entry in entries)


def _table(entry: Mapping[str, Any]) -> str:
    lines = ["[[hooks]]", *(f"{key} = {_value(value)}" for key, value in entry.items())]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def chain(length: int, *, cycle: bool = False) -> str:
    """``length`` hooks, each after the next one in the file (the worst order to recurse)."""
    return "".join(
        f'[[hooks]]\nname = "h{i}"\nevent = "Stop"\ncommand = "x"\n'
        + (f'after = ["h{i + 1}"]\n' if i + 1 < length else 'after = ["h0"]\n' if cycle else "")
        for i in range(length))
