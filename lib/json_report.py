"""The versioned ``--json`` form of every report: hookrun's verbs, its settings verbs, swarm's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

VERSION = 1


def json_report(command: str, body: Mapping[str, Any]) -> str:
    """``{"version": 1, "command": command, **body}`` as indented JSON."""
    return json.dumps({"version": VERSION, "command": command, **body}, indent=2)
