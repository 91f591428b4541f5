#!/usr/bin/env bash
# Builds this package in a private copy of its sources (so a concurrent `n8n-node build` elsewhere
# cannot empty dist/ under us) and `npm pack`s it into <dir>; prints the tarball's path.
#   usage: scripts/pack.sh <dir>
set -euo pipefail
dir=$1
cd "$(dirname "$0")/.."
repo=$PWD
mkdir -p "$dir/pkg"
cp -R package.json tsconfig.json README.md nodes credentials lib "$dir/pkg/"
[ -d docs/images ] && mkdir -p "$dir/pkg/docs" && cp -R docs/images "$dir/pkg/docs/"
ln -s "$repo/node_modules" "$dir/pkg/node_modules"
(cd "$dir/pkg" && npx n8n-node build > "$dir/build.log" 2>&1) || { cat "$dir/build.log" >&2; exit 1; }
tarball=$(cd "$dir/pkg" && npm pack --silent --pack-destination "$dir" 2> /dev/null | tail -n 1)
echo "$dir/$tarball"
