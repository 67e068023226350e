"""The toolkit's error hierarchy: every error hookswarm raises on purpose is a HookswarmError."""

from __future__ import annotations


class HookswarmError(Exception):
    """Root of hookswarm's errors; the message says what to do next."""


class ConfigError(HookswarmError):
    """A config file that cannot be used, with where and what to fix."""

    def __init__(
        self, message: str, *, path: str = "", hook: str = "", key: str = ""
    ) -> None:
        self.path = path
        self.hook = hook
        self.key = key
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = [part for part in (self.path, self.hook and f"hook '{self.hook}'",
                                   self.key and f"key '{self.key}'") if part]
        prefix = ": ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class SettingsError(HookswarmError):
    """A Claude Code settings file that cannot be read or written safely."""
