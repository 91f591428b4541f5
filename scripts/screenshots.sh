#!/usr/bin/env bash
# Takes the README pictures from the real n8n editor (n8n 2.41.1, this package installed as a
# community node) with headless Chromium:
#   docs/images/example-workflow.png          examples/scheduled-export.json on the canvas
#   docs/images/export-dataset-parameters.png the Export Dataset node's parameter panel
#   docs/images/list-eligible-datasets-parameters.png  List Eligible Datasets, same view
#
#   bash scripts/screenshots.sh        # ~70 s once n8n is installed (scripts/n8n.sh, ~3 min once)
# Settings (environment):
#   SHOTS_SOURCE=worktree|head  build the package from the work tree as it is (default) or from
#                               the last commit (the example workflow comes from the same place)
#   SHOTS_WORKFLOW=path.json    another workflow file (default examples/scheduled-export.json)
#   SHOTS_SCALE=1|2             device pixel ratio of the pictures (default 2: sharp on HiDPI)
#   SHOTS_PORT, SHOTS_BROKER_PORT  n8n's port and its task broker's (default 5698 and 5792)
#   SHOTS_KEEP=1                keep the temp folder (n8n's log, its user folder); kept on failure
#
# What it does, all on this machine (Debian 12, root; only the npm registry and Debian's apt):
#  1. Debian's chromium (apt-get) and puppeteer-core (into .tools/shots, not package.json).
#  2. n8n 2.41.1 from scripts/n8n.sh, run on Node 24 from scripts/node24.sh.
#  3. Builds this package (n8n-node build) in a temp copy (the shared dist/ is not touched), packs
#     it and installs the tarball into a temp n8n user folder's .n8n/nodes, where n8n loads
#     community packages from.
#  4. A small lake in the temp HOME (~/dataset-lake, the example's lakePath), the example's
#     "Local exports" credential, and the example workflow, imported with n8n's CLI.
#  5. `n8n start` on 127.0.0.1:$SHOTS_PORT (default 5698; task broker on 5792), owner account
#     through the REST API, then scripts/screenshots.mjs drives the editor and writes the PNGs.
#  6. Stops n8n by its PID (TERM, bounded wait, then KILL) and removes the temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
port=${SHOTS_PORT:-5698}
broker_port=${SHOTS_BROKER_PORT:-5792}
workflow=${SHOTS_WORKFLOW:-examples/scheduled-export.json}
out=${SHOTS_OUT:-docs/images}
t0=$SECONDS
log() { echo "screenshots: [$((SECONDS - t0))s] $*" >&2; }

# 1. Chromium and puppeteer-core -------------------------------------------------------------
chromium_bin=$(command -v chromium || true)
if [ -z "$chromium_bin" ]; then
	log "installing Debian's chromium"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
	chromium_bin=$(command -v chromium)
fi
shots=.tools/shots
if [ ! -f "$shots/node_modules/puppeteer-core/package.json" ]; then
	log "installing puppeteer-core into $shots"
	mkdir -p "$shots"
	npm install --prefix "$shots" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
		puppeteer-core@24 >&2
fi
command -v optipng >/dev/null || {
	log "installing optipng"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends optipng >&2 || {
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends optipng >&2
	}
}

# 2. Node 24 and n8n ---------------------------------------------------------------------------
node24=$(bash scripts/node24.sh)
n8n_entry=$(bash scripts/n8n.sh)
export PATH="$(dirname "$node24"):$PATH"

# 3. Build and pack this package ---------------------------------------------------------------
tmp=$(mktemp -d /tmp/n8n-shots.XXXXXX)
n8n_pid=
stop_n8n() {
	[ -n "$n8n_pid" ] || return 0
	if kill -0 "$n8n_pid" 2>/dev/null; then
		log "stopping n8n (pid $n8n_pid)"
		kill -TERM "$n8n_pid" 2>/dev/null || true
		for _ in $(seq 1 40); do kill -0 "$n8n_pid" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$n8n_pid" 2>/dev/null; then
			kill -KILL "$n8n_pid" 2>/dev/null || true
		fi
	fi
	# The task runner n8n started lives in n8n's process group (setsid below); end any straggler.
	kill -KILL -- "-$n8n_pid" 2>/dev/null || true
	n8n_pid=
}
cleanup() {
	local rc=$?
	stop_n8n
	if [ "${SHOTS_KEEP:-}" = 1 ] || [ "$rc" != 0 ]; then
		log "kept $tmp (n8n log: $tmp/n8n.log)"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Built in a copy, so the shared work tree's dist/ is left alone: SHOTS_SOURCE=worktree (default)
# copies the files git tracks as they are on disk, SHOTS_SOURCE=head the last commit.
src="$tmp/src"
mkdir -p "$src"
case "${SHOTS_SOURCE:-worktree}" in
	head) git archive --format=tar HEAD | tar -x -C "$src" ;;
	worktree) git ls-files -z --cached --others --exclude-standard |
		tar -cf - --null -T - --ignore-failed-read 2>/dev/null | tar -x -C "$src" ;;
	*) echo "screenshots: SHOTS_SOURCE is worktree or head" >&2; exit 1 ;;
esac
ln -s "$repo/node_modules" "$src/node_modules"
log "building the package (${SHOTS_SOURCE:-worktree})"
(cd "$src" && npx n8n-node build) >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
tarball=$(cd "$src" && npm pack --pack-destination "$tmp" --silent 2>/dev/null | tail -n 1)
tarball="$tmp/$tarball"
[ -f "$tarball" ] || { echo "screenshots: npm pack made no tarball" >&2; exit 1; }

home="$tmp/home"
user_folder="$home"            # n8n keeps its files in $N8N_USER_FOLDER/.n8n
nodes_dir="$user_folder/.n8n/nodes"
mkdir -p "$nodes_dir" "$home/dataset-exports"
cat >"$nodes_dir/package.json" <<'JSON'
{ "name": "installed-nodes", "private": true, "dependencies": {} }
JSON
log "installing $(basename "$tarball") into the temp n8n's .n8n/nodes"
# As n8n's own installer does: production dependencies only, no install scripts; n8n-workflow is
# a peer dependency that n8n provides.
(cd "$nodes_dir" && npm install --no-audit --no-fund --loglevel=error \
	--omit=dev --ignore-scripts --legacy-peer-deps "$tarball" >&2)

# 4. Lake, credential, workflow ---------------------------------------------------------------
log "generating a small lake in the temp HOME"
(cd "$src" && npx tsx scripts/generate-lake.ts --records 2000 --out "$home/dataset-lake" --seed 1) >"$tmp/lake.log" 2>&1 ||
	{ cat "$tmp/lake.log" >&2; exit 1; }

workflow_file="$src/$workflow"
case "$workflow" in /*) workflow_file=$workflow ;; esac
[ -f "$workflow_file" ] || workflow_file="$repo/$workflow"
# The example names its credential by id and name; give it one that points into the temp HOME.
"$node24" -e '
	const fs = require("node:fs");
	const wf = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
	const creds = new Map();
	for (const node of wf.nodes) for (const [type, ref] of Object.entries(node.credentials ?? {})) {
		if (type === "datasetExportLocalFolderApi" && ref.id) creds.set(ref.id, { ...ref, type });
	}
	const out = [...creds.values()].map((c) => ({
		id: c.id, name: c.name, type: c.type, data: { rootPath: process.argv[2] },
	}));
	fs.writeFileSync(process.argv[3], JSON.stringify(out));
	if (!wf.id) wf.id = "shotsExampleWf01";
	wf.active = false;
	fs.writeFileSync(process.argv[4], JSON.stringify(wf));
	process.stdout.write(wf.id);
' "$workflow_file" "~/dataset-exports" "$tmp/credentials.json" "$tmp/workflow.json" >"$tmp/workflow.id"
workflow_id=$(cat "$tmp/workflow.id")

n8n_env=(
	HOME="$home"
	N8N_USER_FOLDER="$user_folder"
	N8N_PORT="$port"
	N8N_LISTEN_ADDRESS=127.0.0.1
	N8N_HOST=127.0.0.1
	N8N_PROTOCOL=http
	N8N_EDITOR_BASE_URL="http://127.0.0.1:$port/"
	N8N_RUNNERS_BROKER_PORT="$broker_port"
	N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1
	N8N_SECURE_COOKIE=false
	N8N_DIAGNOSTICS_ENABLED=false
	N8N_VERSION_NOTIFICATIONS_ENABLED=false
	N8N_TEMPLATES_ENABLED=false
	N8N_PERSONALIZATION_ENABLED=false
	N8N_HIRING_BANNER_ENABLED=false
	N8N_VERIFIED_PACKAGES_ENABLED=false
	N8N_AI_ENABLED=false
	N8N_DYNAMIC_BANNERS_ENABLED=false
	N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED=false
	N8N_PYTHON_ENABLED=false
	N8N_DISABLED_MODULES=mcp-registry
	N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false
	N8N_LOG_LEVEL=info
	N8N_LOG_OUTPUT=console
	DB_SQLITE_POOL_SIZE=2
	NODE_ENV=production
)
n8n() { env "${n8n_env[@]}" "$node24" "$n8n_entry" "$@"; }

if [ -s "$tmp/credentials.json" ] && [ "$(cat "$tmp/credentials.json")" != "[]" ]; then
	log "importing the example's credential"
	n8n import:credentials --input="$tmp/credentials.json" >"$tmp/import.log" 2>&1 ||
		{ cat "$tmp/import.log" >&2; exit 1; }
fi
log "importing $workflow"
n8n import:workflow --input="$tmp/workflow.json" >>"$tmp/import.log" 2>&1 ||
	{ cat "$tmp/import.log" >&2; exit 1; }

# 5. Start n8n and take the pictures -----------------------------------------------------------
for p in "$port" "$broker_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "screenshots: port $p on 127.0.0.1 is taken; set SHOTS_PORT / SHOTS_BROKER_PORT" >&2
		exit 1
	fi
done
log "starting n8n on 127.0.0.1:$port"
env "${n8n_env[@]}" setsid "$node24" "$n8n_entry" start >"$tmp/n8n.log" 2>&1 &
n8n_pid=$!
ready=
for _ in $(seq 1 180); do
	if ! kill -0 "$n8n_pid" 2>/dev/null; then
		tail -n 40 "$tmp/n8n.log" >&2
		echo "screenshots: n8n exited during start-up" >&2
		exit 1
	fi
	if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz/readiness" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 1
done
[ -n "$ready" ] || { tail -n 40 "$tmp/n8n.log" >&2; echo "screenshots: n8n not ready after 180 s" >&2; exit 1; }
log "n8n is up"

mkdir -p "$out"
SHOTS_URL="http://127.0.0.1:$port" SHOTS_WORKFLOW_ID="$workflow_id" SHOTS_OUT="$repo/$out" \
	SHOTS_CHROMIUM="$chromium_bin" SHOTS_TMP="$tmp" \
	SHOTS_SCALE="${SHOTS_SCALE:-2}" timeout 300 "$node24" scripts/screenshots.mjs

stop_n8n

# 6. Optimise --------------------------------------------------------------------------------
for png in "$out"/example-workflow.png "$out"/export-dataset-parameters.png "$out"/list-eligible-datasets-parameters.png; do
	[ -f "$png" ] || continue
	optipng -quiet -o2 -strip all "$png" >&2 || true
	log "$png: $(($(stat -c %s "$png") / 1024)) KiB"
done
log "done"
