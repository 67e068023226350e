#!/usr/bin/env bash
# Set up hookswarm in ./.venv. With --dev: the test tools and the pinned Claude Code CLI
# (installed with npm into ./.claude-cli, where the tests look for it).
set -euo pipefail
cd "$(dirname "$0")"
CLAUDE_CODE_VERSION="2.1.328"
dev=0
user=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --user) user=1 ;;
    -h|--help)
      echo "usage: ./install.sh [--dev] [--user]   (--user: link hookrun and swarm into ~/.local/bin)"
      exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (use --dev, --user or nothing)" >&2; exit 2 ;;
  esac
done
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install.sh: hookswarm needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$dev" = 1 ]; then
  # strict: the package is linked file by file under build/, where mypy can follow it by its
  # hookswarm.* names. A new module needs this script again; build/ must stay (setuptools'
  # banner about it is silenced).
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet \
    -e '.[dev]' --config-settings editable_mode=strict
  if ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: --dev needs npm (Node.js) to install the Claude Code CLI" >&2
    exit 1
  fi
  have=$(.claude-cli/node_modules/.bin/claude --version 2>/dev/null | cut -d' ' -f1 || true)
  if [ "$have" != "$CLAUDE_CODE_VERSION" ]; then
    mkdir -p .claude-cli
    npm install --prefix .claude-cli --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
  fi
else
  .venv/bin/python -m pip install --quiet .
fi
echo "hookswarm installed in .venv (activate with: source .venv/bin/activate)"
if [ "$user" = 1 ]; then
  bin_dir="$HOME/.local/bin"
  mkdir -p "$bin_dir"
  for tool in hookrun swarm; do ln -sfn "$PWD/.venv/bin/$tool" "$bin_dir/$tool"; done
  echo "linked hookrun and swarm into $bin_dir"
  case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "install.sh: $bin_dir is not on PATH; add it (e.g. in ~/.profile):" \
            "export PATH=\"$bin_dir:\$PATH\"" >&2 ;;
  esac
fi
