"""Render hookrun.toml entries given as data (a guard's ``HOOKRUN_ENTRIES``) as TOML text."""

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
