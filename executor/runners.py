"""Running one hook of either form and turning what it did into a HookResult."""

from __future__ import annotations

import importlib
import os
import threading
from typing import TYPE_CHECKING, Any, NoReturn

from hookswarm.executor.results import MAX_OUTPUT, HookResult
from hookswarm.lib.protocol import Block

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hookswarm.lib.hookconfig import HookSpec
    from hookswarm.lib.process import Child
    from hookswarm.lib.warm import Pool


def run_command(
    hook: HookSpec, stdin: bytes, *, cwd: str, environ: Mapping[str, str],
    on_start: Callable[[Child], None], warm: Pool | None = None,
) -> HookResult:
    """Run a command hook as Claude Code would: ``/bin/sh -c`` in the project, payload on stdin
    (a Python script hook forked from ``warm``'s zygote when it can start exactly so)."""
    from hookswarm.lib import process  # subprocess only with command hooks

    env = {**environ, **hook.env}
    child = warm.start(hook.command, environ=env, cwd=cwd) if warm and hook.warm else None
    if child is None:
        child = process.start(process.shell_argv(hook.command), cwd=cwd, env=env)
    if isinstance(child, process.ProcessOutcome):
        return HookResult.from_process(hook, child)
    on_start(child)
    outcome = child.communicate(stdin, timeout=hook.timeout, max_output=MAX_OUTPUT)
    return HookResult.from_process(hook, outcome)


class ExitCalled(BaseException):
    """``os._exit`` called outside the main thread: it would end hookrun with no answer."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(code)


_os_exit = os._exit


def _guarded_exit(status: int) -> NoReturn:
    if threading.current_thread() is threading.main_thread():
        _os_exit(status)
    raise ExitCalled(status)


def guard_exit() -> None:
    """Make ``os._exit`` in any thread but the main one raise :class:`ExitCalled` instead.

    Call hooks run in threads of the ``hookrun run`` process; a hook calling ``os._exit``
    ended the process at once, with exit 0, no output and every other hook's answer lost.
    """
    os._exit = _guarded_exit


def run_call(hook: HookSpec, payload: dict[str, Any]) -> HookResult:
    """Import and call a ``module:function`` hook with the payload and the hook's options."""
    try:
        function = resolve(hook.call)
    except Exception as exc:
        return HookResult.not_importable(hook, f"{type(exc).__name__}: {exc}")
    try:
        value = function(payload, **hook.options)
    except ExitCalled as exc:
        return HookResult.exit_called(hook, exc.code)
    except Block as exc:
        return HookResult.call_blocked(hook, exc.reason)
    except SystemExit as exc:  # a script-style hook moved to ``call`` keeps its exit meaning
        return _exited(hook, exc.code)
    except Exception as exc:
        return HookResult.call_failed(hook, exc)
    return HookResult.from_call(hook, value)


def _exited(hook: HookSpec, code: object) -> HookResult:
    if code in (0, None):
        return HookResult.from_call(hook, None)
    if code == 2:
        return HookResult.call_blocked(hook, "exited 2")
    return HookResult.call_failed(hook, SystemExit(code))


def resolve(target: str) -> Callable[..., Any]:
    """``module:attr`` to the callable it names."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    function = getattr(module, attr)
    if not callable(function):
        raise TypeError(f"{target} is a {type(function).__name__}, not a function")
    return function  # type: ignore[no-any-return]
