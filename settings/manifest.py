"""What hookrun changed in a settings file, kept as ``<file>.hookrun-manifest`` (side_path).

Install's entries carry their own mark; what they cannot carry is recorded here: whether
hookrun created the file (so uninstall may delete it again), and, per ``import --write``, the
exact text each moved hook was cut out with, and what went into hookrun.toml, so that
uninstall can put both back. The file exists only while it has something to say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hookswarm.lib.errors import SettingsError
from hookswarm.settings import files

SUFFIX = ".hookrun-manifest"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Cut:
    """One native hook import cut out: from ``hooks[event]`` (``group`` None: a whole group)
    or from ``hooks[event][group].hooks``, at ``index``; ``at``/``text`` as ``edit.taken_out``
    gives them, ``value`` the JSON that went, ``rest`` the list's JSON after the cut."""

    event: str
    group: int | None
    index: int
    at: str
    text: str
    value: Any
    rest: Any
    matcher: str = ""


@dataclass(frozen=True, slots=True)
class Imported:
    """One ``import --write``: its cuts in the order made, and the text added to hookrun.toml."""

    config: str
    config_created: bool
    appended: str
    cuts: tuple[Cut, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    created: bool = False
    imports: tuple[Imported, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.created and not self.imports


def path_of(settings: str) -> str:
    return files.side_path(settings, SUFFIX)


def read(settings: str) -> Manifest:
    """The manifest of a settings file; none yet is an empty one."""
    where = path_of(settings)
    data = files.read(where)
    if data is None:
        return Manifest()
    try:
        return _from_json(json.loads(data))
    except (ValueError, KeyError, TypeError):
        raise SettingsError(f"{where}: damaged, so hookrun cannot tell what it changed; delete "
                            "it to go on (imported hooks are then not put back by uninstall)"
                            ) from None


def write(settings: str, manifest: Manifest) -> None:
    if manifest.empty:
        files.remove(path_of(settings))
    else:
        data = json.dumps(_to_json(manifest), indent=1) + "\n"  # \ud800 as JSON has it
        files.write(path_of(settings), data.encode(), like=settings)


def _to_json(manifest: Manifest) -> dict[str, Any]:
    return {"version": VERSION, "created": manifest.created,
            "imports": [{"config": i.config, "config_created": i.config_created,
                         "appended": i.appended,
                         "cuts": [{"event": c.event, "group": c.group, "index": c.index,
                                   "at": c.at, "text": c.text, "value": c.value,
                                   "rest": c.rest, "matcher": c.matcher} for c in i.cuts]}
                        for i in manifest.imports]}


def _from_json(value: dict[str, Any]) -> Manifest:
    if value["version"] != VERSION:
        raise ValueError("unknown version")
    return Manifest(created=bool(value["created"]), imports=tuple(
        Imported(config=str(i["config"]), config_created=bool(i["config_created"]),
                 appended=str(i["appended"]),
                 cuts=tuple(Cut(event=str(c["event"]), group=c["group"], index=int(c["index"]),
                                at=str(c["at"]), text=str(c["text"]), value=c["value"],
                                rest=c["rest"], matcher=str(c["matcher"])) for c in i["cuts"]))
        for i in value["imports"]))
