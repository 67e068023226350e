"""What importing a module pulls in, seen from a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def modules_loaded_by(module: str) -> set[str]:
    """The top-level package names in ``sys.modules`` after ``import module``, and nothing else."""
    code = (f"import sys, {module}; "
            "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    return set(done.stdout.split())
