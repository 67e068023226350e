"""The synchronous process layer and the modules that stand on it stay light to import."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_light_modules_pulls_in_no_event_loop_or_pydantic() -> None:
    code = ("import sys, json; import hookswarm.lib.process, hookswarm.lib.swarm, "
            "hookswarm.lib.swarm.ownership, hookswarm.hooks.ownership_guard; "
            "print(json.dumps(sorted(m for m in ('anyio', 'pydantic', 'asyncio', 'click') "
            "if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=True)
    assert json.loads(done.stdout) == []
