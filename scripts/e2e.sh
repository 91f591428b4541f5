#!/usr/bin/env bash
# End-to-end test in a REAL n8n 2.41.1 on Node 24 (docs/e2e.md):
#  1. builds this package in a private copy and `npm pack`s it (scripts/pack.sh);
#  2. makes a throw-away HOME and N8N_USER_FOLDER under one temp dir, and installs the tarball into
#     $N8N_USER_FOLDER/.n8n/nodes the way n8n's community-package installer does (extract into
#     nodes/node_modules/<name>, drop dev/peer/optional dependencies, `npm install --ignore-scripts
#     --install-strategy=shallow` inside the package, list it in nodes/package.json), with Node 24
#     (scripts/install-package.sh);
#  3. generates a small lake at $HOME/dataset-lake;
#  4. hands over to test/e2e/n8n-e2e.ts, which imports credentials and the three examples
#     UNCHANGED with `n8n import:*`, runs them with `n8n execute --id`, and asserts on the output,
#     on the bytes at the destinations (local folder, SFTP server, S3 bucket) and on the error
#     branch with a broken S3 credential.
# Needs the test servers (scripts/servers/{sftp,ceph}.sh start), except with E2E_ONLY=file-access
# (n8n's file-access settings and the local-folder example only). Everything n8n writes stays in the
# temp dir, which is removed afterwards, kept when the test fails (E2E_KEEP=1: always kept,
# E2E_KEEP=0: never).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

node24=$(bash scripts/node24.sh)
t=$SECONDS
n8n=$(bash scripts/n8n.sh)
echo "e2e: n8n ready in $((SECONDS - t)) s ($n8n)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsx-e2e.XXXXXX")
cleanup() {
	local rc=$?
	if [ "${E2E_KEEP:-}" = 1 ] || { [ "$rc" != 0 ] && [ "${E2E_KEEP:-}" != 0 ]; }; then
		echo "e2e: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# 1. build and pack, in a private copy of the sources
t=$SECONDS
tarball=$(bash scripts/pack.sh "$tmp")
echo "e2e: built and packed $tarball in $((SECONDS - t)) s"

# 2. install it the way n8n's community-package installer does (CommunityPackagesService.downloadPackage)
t=$SECONDS
export E2E_HOME="$tmp/home" N8N_USER_FOLDER="$tmp/n8n"
nodes="$N8N_USER_FOLDER/.n8n/nodes"
mkdir -p "$E2E_HOME"
bash scripts/install-package.sh "$tarball" "$N8N_USER_FOLDER" "$tmp/npm-install.log"
echo "e2e: installed the tarball into $nodes (npm on Node $("$node24" --version)) in $((SECONDS - t)) s"

# 3. a small lake in the temp HOME (the examples' Lake Path is ~/dataset-lake)
t=$SECONDS
npx tsx scripts/generate-lake.ts --records "${E2E_RECORDS:-3000}" --out "$E2E_HOME/dataset-lake" --seed e2e > "$tmp/lake.log"
echo "e2e: lake of ${E2E_RECORDS:-3000} records in $((SECONDS - t)) s"

# 4. import, run, assert
export E2E_TMP="$tmp" E2E_NODE24="$node24" E2E_N8N="$n8n"
"$node24" --import tsx test/e2e/n8n-e2e.ts
echo "e2e: passed in $((SECONDS - started)) s"
