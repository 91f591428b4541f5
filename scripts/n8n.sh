#!/usr/bin/env bash
# Prints the path of the entry point of a real n8n 2.41.1 (its bin/n8n script; run it with the
# Node 24 binary from scripts/node24.sh), installing it into .tools/n8n the first time
# (~3 min, ~2.9 GB). Idempotent and safe to run concurrently (flock). stdout: the path only;
# everything else goes to stderr.
#
# Why the install looks like this (see /work/shared/design.md §3 and docs/e2e.md):
# - n8n 2.x runs on Node 24 and some dependencies build native addons: Node 24 goes first on PATH
#   (npm itself then runs on it) and npm_config_nodedir points at its headers (the machine's npmrc
#   points at Node 20's).
# - linkedom is pinned to 0.18.14 (0.18.15 needs a package this registry lacks).
# - @confluentinc/kafka-javascript's install script downloads sources: denied (allowScripts).
# - 2.41.3 does not install here (a dependency version is missing); 2.41.1 does.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.41.1
dir=.tools/n8n
entry="$PWD/$dir/node_modules/n8n/bin/n8n"
stamp="$dir/.installed-$version"

node24=$(bash scripts/node24.sh)
node24_pkg=$(cd "$(dirname "$node24")/.." && pwd)

mkdir -p "$dir"
exec 9> "$dir/.lock"
if ! flock -w 900 9; then
	echo "n8n.sh: timed out waiting for another install of n8n to finish ($dir/.lock)" >&2
	exit 1
fi

installed_version() {
	"$node24" -e 'try { process.stdout.write(require(process.argv[1]).version) } catch {}' \
		"$PWD/$dir/node_modules/n8n/package.json"
}

if [ ! -f "$stamp" ] || [ "$(installed_version)" != "$version" ] || [ ! -f "$entry" ]; then
	echo "n8n.sh: installing n8n $version into $dir (takes a few minutes)" >&2
	rm -f "$dir"/.installed-*
	cat > "$dir/package.json" <<JSON
{
  "name": "n8n-e2e-runtime",
  "private": true,
  "description": "A real n8n for the end-to-end test (scripts/e2e.sh); installed by scripts/n8n.sh",
  "dependencies": { "n8n": "$version" },
  "overrides": { "linkedom": "0.18.14" },
  "allowScripts": { "@confluentinc/kafka-javascript": false }
}
JSON
	start=$SECONDS
	(
		cd "$dir"
		PATH="$(dirname "$node24"):$PATH" npm_config_nodedir="$node24_pkg" \
			npm install --no-audit --no-fund --loglevel=error >&2
	)
	got=$(installed_version)
	if [ "$got" != "$version" ] || [ ! -f "$entry" ]; then
		echo "n8n.sh: install finished but n8n $version is not at $entry (found '${got:-nothing}')" >&2
		exit 1
	fi
	touch "$stamp"
	echo "n8n.sh: n8n $version installed in $((SECONDS - start)) s" >&2
fi
echo "$entry"
