"""The coordinator's errors, all under :class:`hookswarm.lib.errors.HookswarmError`."""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any

from hookswarm.lib.errors import HookswarmError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic import BaseModel, ValidationError


class SwarmError(HookswarmError):
    """Something the coordinator cannot do; the message says what to do next."""


class TaskFileError(SwarmError):
    """A task file that cannot be used: names the file, the task and the key."""

    def __init__(self, reason: str, *, path: str = "", task: str = "", key: str = "") -> None:
        self.path = path
        self.task = task
        self.key = key
        self.reason = reason
        where = [part for part in (path, task, key and f"key '{key}'") if part]
        super().__init__(": ".join([*where, reason]))


def first_problem(exc: ValidationError,
                  model: type[BaseModel] | None = None) -> tuple[str, str]:
    """The dotted key and the reason of a validation error's first problem, in plain words.

    With the ``model`` that was validated, an unknown key lists the allowed ones and a wrong
    type says what the key takes ("a list of strings", not "a valid tuple").
    """
    first = exc.errors()[0]
    kind, loc = first["type"], tuple(first["loc"])
    if kind == "missing" and loc and isinstance(loc[-1], int):
        kind, loc = "too_short", loc[:-1]  # a fixed-length list with too few items
    key = ".".join(str(part) for part in loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return key, "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    return key, plain_reason(kind, first.get("ctx") or {}, _annotation(model, loc),
                             first["msg"])


_TYPE_ERRORS = frozenset({"tuple_type", "list_type", "too_short", "too_long", "string_type",
                          "int_type", "int_parsing", "int_from_float", "float_type",
                          "float_parsing", "bool_type", "bool_parsing", "dict_type", "model_type",
                          "literal_error"})
_LIMITS = {"greater_than": "above {gt}", "greater_than_equal": "at least {ge}",
           "less_than": "below {lt}", "less_than_equal": "at most {le}",
           "finite_number": "a finite number", "string_too_short": "non-empty"}


def plain_reason(kind: str, ctx: Mapping[str, Any], annotation: Any, fallback: str) -> str:
    """What a key must be, from pydantic's error ``kind`` and the key's type annotation."""
    if kind in _TYPE_ERRORS:
        wanted = describe(annotation)
        if wanted:
            return f"must be {wanted}"
    if kind in _LIMITS:
        return "must be " + _LIMITS[kind].format(**{k: f"{v:g}" if isinstance(v, float) else v
                                                    for k, v in ctx.items()})
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    return fallback


def describe(annotation: Any) -> str:
    """A type annotation in words: ``tuple[str, ...]`` is "a list of strings"."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return describe(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(filter(None, (describe(a) for a in args if a is not type(None))))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        many = len(args) == 2 and args[1] is Ellipsis
        items = _PLURAL.get(_bare(args[0]), "values") if args else "values"
        return f"a list of {items}" if many else f"a list of {len(args)} {items}"
    if origin is dict or (isinstance(annotation, type) and hasattr(annotation, "model_fields")):
        return "a table"
    return _SINGULAR.get(annotation, "")


_SINGULAR = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
_PLURAL = {str: "strings", int: "whole numbers", float: "numbers", bool: "true/false values"}


def _bare(annotation: Any) -> Any:
    return (typing.get_args(annotation)[0]
            if typing.get_origin(annotation) is typing.Annotated else annotation)


def _annotation(model: type[BaseModel] | None, loc: Sequence[Any]) -> Any:
    """The annotation of the field at ``loc`` in ``model``, or None if it cannot be followed."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and hasattr(current, "model_fields"):
            field = current.model_fields.get(str(part))
            current = field.annotation if field is not None else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is tuple and isinstance(part, int):
            items = typing.get_args(current)
            many = len(items) == 2 and items[1] is Ellipsis
            current = items[0] if many else items[part] if part < len(items) else None
        else:
            return None
    return current


def _allowed_keys(model: type[BaseModel] | None, loc: Sequence[Any]) -> list[str]:
    table = _annotation(model, loc) if loc else model
    fields = getattr(table, "model_fields", None)
    return list(fields) if isinstance(fields, dict) else []


class StoreError(SwarmError):
    """The ``.swarm/`` store refused an operation (a duplicate id, an unreadable entry)."""
