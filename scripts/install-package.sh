#!/usr/bin/env bash
# Installs a packed tarball of this package into an n8n user folder the way n8n's community-package
# installer does (CommunityPackagesService.downloadPackage): extract into
# <folder>/.n8n/nodes/node_modules/<name>, drop dev/peer/optional dependencies, `npm install
# --ignore-scripts --install-strategy=shallow` inside the package (npm on Node 24, as n8n 2.x runs),
# and list it in nodes/package.json. Used by scripts/e2e.sh and scripts/queue.sh.
#   usage: scripts/install-package.sh <tarball> <N8N_USER_FOLDER> <log file>
set -euo pipefail
tarball=$1 folder=$2 log=$3
cd "$(dirname "$0")/.."
node24=$(bash scripts/node24.sh)
node24_pkg=$(cd "$(dirname "$node24")/.." && pwd)
name=$(node -p 'require("./package.json").name')
nodes="$folder/.n8n/nodes"
mkdir -p "$nodes/node_modules/$name"
tar -xzf "$tarball" -C "$nodes/node_modules/$name" --strip-components=1
"$node24" -e '
	const fs = require("node:fs");
	const file = process.argv[1];
	const { devDependencies, peerDependencies, optionalDependencies, ...pkg } = JSON.parse(fs.readFileSync(file, "utf8"));
	fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
	fs.writeFileSync(process.argv[2], JSON.stringify({ name: "installed-nodes", private: true, dependencies: { [pkg.name]: pkg.version } }, null, 2));
' "$nodes/node_modules/$name/package.json" "$nodes/package.json"
(
	cd "$nodes/node_modules/$name"
	PATH="$(dirname "$node24"):$PATH" npm_config_nodedir="$node24_pkg" timeout 600 \
		npm install --audit=false --fund=false --bin-links=false --install-strategy=shallow \
		--ignore-scripts=true --package-lock=false --loglevel=error > "$log" 2>&1
) || { echo "install-package: npm install of the package failed:" >&2; cat "$log" >&2; exit 1; }
