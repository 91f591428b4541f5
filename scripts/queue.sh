#!/usr/bin/env bash
# scripts/queue.sh start|stop|status — a real n8n queue-mode cluster on 127.0.0.1 (docs/queue-mode.md):
# Redis (scripts/servers/redis.sh), PostgreSQL (scripts/servers/postgres.sh), n8n 2.41.1 on Node 24
# as `n8n start` (main, port 5678, n8n's default) and QUEUE_WORKERS (default 2) `n8n worker` processes (health
# ports 5701, 5702, …), sharing N8N_ENCRYPTION_KEY, each with its own user folder (the package
# installed there as n8n's community-package installer does), task-runner broker port and JSON log
# (.tmp/queue/<name>/n8n.log: workers log "Worker started execution <id>").
# start: servers, pack + install, then the processes; waits (bounded) for main's /healthz and each
# worker's /healthz/readiness. A further user folder, cli, is for one-off commands while the cluster
# runs (`. .tmp/queue/env.sh; as cli; "$NODE24" "$N8N_BIN" execute --id=…`). QUEUE_PREPARE=<cmd>,
# if set, runs after the install and before main starts, with .tmp/queue/env.sh sourced and `as main`
# (to import and publish workflows: webhooks are registered when main starts).
# stop: every n8n process by PID (TERM, then KILL of its group), then the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/servers/common.sh
dir="$PWD/.tmp/queue"
workers=${QUEUE_WORKERS:-2}
main_port=${QUEUE_MAIN_PORT:-5678}

stop_all() {
	for pidfile in "$dir"/*/n8n.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
		rm -f "$pidfile"
	done
	bash scripts/servers/redis.sh stop || true
	bash scripts/servers/postgres.sh stop || true
}

wait_http() { # url, seconds, what
	local deadline=$((SECONDS + $2))
	until curl -fsS -m 5 "$1" > /dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then echo "queue: $3 did not answer $1 within $2 s" >&2; return 1; fi
		sleep 1
	done
}

# ports this cluster listens on: refused when taken (another n8n on 5678 would answer for main)
ports() {
	echo "$main_port 5799 5800"
	for i in $(seq 1 "$workers"); do echo "$((5700 + i)) $((5800 + i))"; done
}

start() {
	stop_all
	for port in $(ports); do
		if port_open "$port"; then echo "queue: 127.0.0.1:$port is taken by another process: stop it, or set QUEUE_MAIN_PORT for main's port" >&2; exit 1; fi
	done
	rm -rf "$dir"
	mkdir -p "$dir"
	bash scripts/servers/redis.sh start
	bash scripts/servers/postgres.sh start
	node24=$(bash scripts/node24.sh)
	n8n=$(bash scripts/n8n.sh)
	tarball=$(bash scripts/pack.sh "$dir/pack")
	names=(main)
	for i in $(seq 1 "$workers"); do names+=("worker$i"); done
	# cli: a user folder for one-off commands (n8n import:*, n8n execute) beside the running processes
	for name in "${names[@]}" cli; do
		mkdir -p "$dir/$name/home"
		bash scripts/install-package.sh "$tarball" "$dir/$name" "$dir/$name/npm-install.log"
	done
	pg=.tmp/servers/postgres/env.json
	redis_port=$(node -p 'require("./.tmp/servers/redis/env.json").port')
	cat > "$dir/env.sh" <<ENV
export PATH="$(dirname "$node24"):\$PATH" N8N_BIN="$n8n" NODE24="$node24"
export EXECUTIONS_MODE=queue N8N_ENCRYPTION_KEY=dsx-queue-test-encryption-key GENERIC_TIMEZONE=UTC
export DB_TYPE=postgresdb DB_POSTGRESDB_HOST=127.0.0.1 DB_POSTGRESDB_PORT=$(node -p "require('./$pg').port")
export DB_POSTGRESDB_DATABASE=$(node -p "require('./$pg').database") DB_POSTGRESDB_USER=$(node -p "require('./$pg').user") DB_POSTGRESDB_PASSWORD=$(node -p "require('./$pg').password")
export QUEUE_BULL_REDIS_HOST=127.0.0.1 QUEUE_BULL_REDIS_PORT=$redis_port
export N8N_LOG_OUTPUT=file N8N_LOG_FORMAT=json N8N_LOG_LEVEL=info
export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false
export N8N_VERIFIED_PACKAGES_ENABLED=false N8N_UNVERIFIED_PACKAGES_ENABLED=true N8N_REINSTALL_MISSING_PACKAGES=false
export N8N_PERSONALIZATION_ENABLED=false N8N_LICENSE_AUTO_RENEW_ENABLED=false N8N_DYNAMIC_BANNERS_ENABLED=false
export N8N_LISTEN_ADDRESS=127.0.0.1 N8N_PORT=$main_port N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1
export N8N_WORKER_SERVER_ADDRESS=127.0.0.1 QUEUE_HEALTH_CHECK_ACTIVE=true
export N8N_RESTRICT_FILE_ACCESS_TO="${QUEUE_FILE_ACCESS:-~/dataset-lake;~/dataset-exports}"
# one process's own settings: \`as <name>\` (user folder, HOME, log, broker port)
as() {
	export N8N_USER_FOLDER="$dir/\$1" HOME="$dir/\$1/home" N8N_LOG_FILE_LOCATION="$dir/\$1/n8n.log"
	case "\$1" in
		main) export N8N_RUNNERS_BROKER_PORT=5800 ;;
		cli) export N8N_RUNNERS_BROKER_PORT=5799 ;;
		worker*) n=\${1#worker}; export N8N_RUNNERS_BROKER_PORT=\$((5800 + n)) QUEUE_HEALTH_CHECK_PORT=\$((5700 + n)) ;;
	esac
}
ENV
	if [ -n "${QUEUE_PREPARE:-}" ]; then (. "$dir/env.sh"; as main; eval "$QUEUE_PREPARE"); fi
	for name in "${names[@]}"; do
		command=start
		[ "$name" = main ] || command="worker --concurrency=${QUEUE_CONCURRENCY:-2}"
		(
			. "$dir/env.sh"
			as "$name"
			# its own process group, so stop reaches its task runner too
			setsid "$node24" "$n8n" $command > "$dir/$name/stdout.log" 2>&1 < /dev/null &
			echo $! > "$dir/$name/n8n.pid"
		)
		# main first: it runs the database migrations the workers wait for
		[ "$name" = main ] && wait_http "http://127.0.0.1:$main_port/healthz/readiness" 240 "n8n main"
	done
	for i in $(seq 1 "$workers"); do wait_http "http://127.0.0.1:$((5700 + i))/healthz/readiness" 240 "n8n worker$i"; done
	# the processes that answered are ours
	for name in "${names[@]}"; do
		kill -0 "$(cat "$dir/$name/n8n.pid")" 2>/dev/null || { echo "queue: n8n $name exited (see $dir/$name/stdout.log)" >&2; exit 1; }
	done
	echo "queue: main on http://127.0.0.1:$main_port, $workers workers ready ($dir)"
}

status() {
	local ok=0
	for pidfile in "$dir"/*/n8n.pid; do
		[ -f "$pidfile" ] || continue
		if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$(basename "$(dirname "$pidfile")") running (pid $(cat "$pidfile"))"; else echo "$(basename "$(dirname "$pidfile")") dead"; ok=1; fi
	done
	return $ok
}

case "${1:-}" in
	start) start ;;
	stop) stop_all ;;
	status) status ;;
	*) echo "usage: scripts/queue.sh start|stop|status" >&2; exit 2 ;;
esac
