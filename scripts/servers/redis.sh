#!/usr/bin/env bash
# scripts/servers/redis.sh start|stop|status — a real Redis from Debian's redis-server package, the
# queue (Bull) of n8n's queue mode for the queue-mode tests (docs/queue-mode.md), on 127.0.0.1 only.
# start: installs redis-server if missing (apt-get, needs root), stops a Redis this script started
# before, and starts a fresh one in the background (--daemonize no, no persistence: an empty queue
# each start) with its working dir under .tmp/servers/redis; as root it runs as the unprivileged
# user "redis" (made by the package). Waits (bounded) until `redis-cli ping` answers PONG and writes
# the connection details to .tmp/servers/redis/env.json. stop: stops it by its PID (TERM, then KILL).
# status: exit 0 and one line when it runs and answers, exit 1 otherwise.
# REDIS_TEST_PORT changes the port (default 6379).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/redis"
port=${REDIS_TEST_PORT:-6379}
pidfile="$dir/redis.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() { [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

install() {
	command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
	echo "installing redis-server (apt-get)" >&2
	apt-get update -qq >&2
	# the package's own service is not wanted (this script starts its own); where the machine lets
	# maintainer scripts start services, it may have started one on 6379: start refuses the port then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 redis-server redis-tools >&2
}

stop() {
	stop_pid "$pidfile"
}

status() {
	if running && answers; then
		echo "redis on 127.0.0.1:$port (pid $(cat "$pidfile"))"
		return 0
	fi
	echo "redis (this script's) is not running" >&2
	return 1
}

start() {
	install
	stop
	if port_open "$port"; then
		echo "127.0.0.1:$port is already in use (not by this script's Redis): refusing to start" >&2
		echo "(Debian's own service? \`service redis-server stop\`, or set REDIS_TEST_PORT)" >&2
		exit 1
	fi
	rm -rf "$dir" && mkdir -p "$dir/data"
	local as=()
	if [ "$(id -u)" = 0 ]; then
		# unprivileged: the package's system user, or one of our own on a machine without it
		id redis >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin redis
		chown redis: "$dir/data"
		# setpriv execs (no fork), so $! is Redis's own PID
		as=(setpriv --reuid=redis --regid=redis --init-groups --)
	fi
	"${as[@]}" redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --daemonize no \
		--dir "$dir/data" --save '' --appendonly no --logfile '' > "$dir/redis.log" 2>&1 &
	echo $! > "$pidfile"
	for _ in $(seq 1 100); do
		answers && break
		if ! running; then break; fi
		sleep 0.1
	done
	if ! answers; then
		echo "redis did not come up on 127.0.0.1:$port:" >&2
		tail -n 30 "$dir/redis.log" >&2 || true
		stop
		exit 1
	fi
	cat > "$dir/env.json" <<JSON
{"host":"127.0.0.1","port":$port}
JSON
	echo "redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $(cat "$pidfile"))" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	status) status ;;
	*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
