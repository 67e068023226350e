#!/bin/sh
# The hookswarm plugin's hook command: find hookrun and run the event's hooks through it.
# Order: $HOOKRUN_BIN, the plugin's own .venv, then PATH. Without hookrun it fails open (one
# line on stderr, exit 0): a half-installed plugin must never block a session.
# --if-configured: in a project without .claude/hookrun.toml, hookrun answers nothing at all.
root=${CLAUDE_PLUGIN_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}

# An executable file whose "#!" interpreter, if it names one, exists: a venv whose Python was
# removed (or moved with a copied plugin) is skipped instead of failing every event.
usable() {
  [ -f "$1" ] && [ -x "$1" ] || return 1
  IFS= read -r first < "$1" || return 0
  case $first in
    '#!'*) set -- ${first#??}; [ -x "$1" ] ;;
    *) return 0 ;;
  esac
}

if [ -n "${HOOKRUN_BIN:-}" ]; then
  hookrun=$HOOKRUN_BIN
  problem="HOOKRUN_BIN=$HOOKRUN_BIN is not an executable file; fix or unset it"
elif usable "$root/.venv/bin/hookrun"; then
  hookrun=$root/.venv/bin/hookrun
else
  hookrun=$(command -v hookrun 2>/dev/null || true)
  problem="no working hookrun in $root/.venv/bin or on PATH; run $root/install.sh or set HOOKRUN_BIN"
fi
if ! usable "$hookrun"; then
  echo "hookswarm plugin: $problem (no hooks ran; allowing the action)" >&2
  exit 0
fi
exec "$hookrun" run --if-configured
