"""The shipped example config: it parses, and it states every key with the code's default."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hookswarm.lib.swarm.config import SwarmConfig, load_config

EXAMPLE = Path(__file__).resolve().parents[3] / "lib" / "swarm" / "config.example.toml"


def keys(model: Any) -> dict[str, Any]:
    """Every field of a settings model, sub-tables as nested dicts of their own fields."""
    return {name: keys(value) if hasattr(type(value), "model_fields") else None
            for name, value in ((n, getattr(model, n)) for n in type(model).model_fields)}


def shape(table: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    return {name: shape(value, like.get(name) or {}) if isinstance(like.get(name), dict)
            else None for name, value in table.items()}


def test_the_example_parses_to_exactly_the_defaults() -> None:
    assert load_config(EXAMPLE, required=True) == SwarmConfig()


def test_the_example_states_every_key() -> None:
    stated = tomllib.loads(EXAMPLE.read_text())
    assert shape(stated, keys(SwarmConfig())) == keys(SwarmConfig())
