"""The ``hookrun`` command line.

``hookrun run`` is on the path of every prompt and tool call, so ``entry`` parses it by hand and
never imports click; every other verb goes through the click group in ``commands``.
"""

from __future__ import annotations

import os
import sys

from hookswarm.executor.entry import run


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"] and not {"-h", "--help"} & set(args):
        code = run(args[1:])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # abandoned call-hook threads must not hold the process open
    from hookswarm.executor.commands import cli  # click only for verbs other than run

    cli.main(args=args, prog_name="hookrun")
