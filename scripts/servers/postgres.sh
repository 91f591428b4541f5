#!/usr/bin/env bash
# scripts/servers/postgres.sh start|stop|status — a real PostgreSQL from Debian's postgresql package,
# the database of n8n's queue mode for the queue-mode tests (docs/queue-mode.md), on 127.0.0.1 only.
# start: installs postgresql if missing (apt-get, needs root), stops a server this script started
# before, makes a fresh cluster with initdb under .tmp/servers/postgres/data (as root: owned by and
# run as the unprivileged system user "postgres"; PostgreSQL refuses to run as root), starts it with
# `pg_ctl start` (bounded) on 127.0.0.1 only, TCP only (no Unix socket), password (scram-sha-256)
# authentication for everyone, and creates the role "n8n" with a password and the database "n8n"
# it owns, with TLS on (a test CA under .tmp/servers/postgres/ca.pem signs the server's certificate
# for 127.0.0.1; connections without TLS are still accepted). Waits (bounded) until pg_isready answers and writes the connection details to
# .tmp/servers/postgres/env.json. stop: a fast shutdown by PID (SIGINT; then SIGQUIT, then KILL,
# each after a bounded wait). status: exit 0 and one line when it runs and answers, exit 1 otherwise.
# POSTGRES_TEST_PORT changes the port (default 5432).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/postgres"
port=${POSTGRES_TEST_PORT:-5432}
pidfile="$dir/postgres.pid"
superuser=postgres
superpass=dsx-postgres-superuser-password
db=n8n
user=n8n
password=dsx-n8n-test-password

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() { timeout 5 pg_isready -q -h 127.0.0.1 -p "$port" -d postgres 2>/dev/null; }

# bindir: where Debian keeps initdb, pg_ctl and postgres (not on PATH), the newest version first
bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

install() {
	# openssl makes the test certificates (a fresh machine may not have it)
	if ! command -v openssl >/dev/null 2>&1; then
		echo "installing openssl (apt-get)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 openssl >&2
	fi
	if bindir >/dev/null && command -v pg_isready >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; then return 0; fi
	echo "installing postgresql (apt-get)" >&2
	apt-get update -qq >&2
	# the package makes a cluster of its own (/var/lib/postgresql/*/main) that this script leaves
	# alone; where the machine lets maintainer scripts start services it may run on 5432: start
	# refuses the port then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 postgresql postgresql-client >&2
}

# as_owner CMD...: run CMD as the cluster's owner (the postgres system user when we are root)
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$dir" "$@"
	else
		"$@"
	fi
}

stop() {
	[ -f "$pidfile" ] || return 0
	local pid
	pid=$(cat "$pidfile")
	# SIGINT is PostgreSQL's fast shutdown (rolls back open transactions, closes n8n's connections);
	# SIGTERM would wait for every client to disconnect. Then immediate (SIGQUIT), then KILL.
	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -QUIT "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

status() {
	if running && answers; then
		echo "postgresql on 127.0.0.1:$port (pid $(cat "$pidfile")), database $db, user $user"
		return 0
	fi
	echo "postgresql (this script's) is not running" >&2
	return 1
}

start() {
	install
	local bin
	bin=$(bindir)
	stop
	if port_open "$port"; then
		echo "127.0.0.1:$port is already in use (not by this script's PostgreSQL): refusing to start" >&2
		echo "(Debian's own cluster? \`pg_ctlcluster <version> main stop\`, or set POSTGRES_TEST_PORT)" >&2
		exit 1
	fi
	rm -rf "$dir" && mkdir -p "$dir/data" && chmod 700 "$dir/data"
	printf '%s\n' "$superpass" > "$dir/superuser.pw"
	chmod 600 "$dir/superuser.pw"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
		chown -R postgres: "$dir"
		if ! setpriv --reuid=postgres --regid=postgres --init-groups -- test -w "$dir/data"; then
			echo "the postgres user cannot reach $dir (a parent folder is not searchable by others)" >&2
			exit 1
		fi
	fi
	# scram-sha-256 for TCP (the only way in), "local" is never used (no socket)
	as_owner "$bin/initdb" -D "$dir/data" -U "$superuser" --pwfile="$dir/superuser.pw" \
		--auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-instructions \
		> "$dir/initdb.log" 2>&1 || { echo "initdb failed:" >&2; tail -n 30 "$dir/initdb.log" >&2; exit 1; }
	# TLS for the SSL options of the PostgreSQL source's credential: a test CA and a server
	# certificate for 127.0.0.1 signed by it (clients may still connect without TLS)
	openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=dsx test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" > "$dir/openssl.log" 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/data/server.key" -out "$dir/server.csr" >> "$dir/openssl.log" 2>&1
	printf 'subjectAltName=IP:127.0.0.1\n' > "$dir/san.ext"
	openssl x509 -req -days 3 -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -extfile "$dir/san.ext" -out "$dir/data/server.crt" >> "$dir/openssl.log" 2>&1
	chmod 600 "$dir/data/server.key"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir/data/server.key" "$dir/data/server.crt"
	cat >> "$dir/data/postgresql.conf" <<CONF
# scripts/servers/postgres.sh
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 100
# throw-away test data: no durability needed
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
	# pg_ctl -w waits until the server accepts connections, at most -t seconds
	if ! as_owner "$bin/pg_ctl" start -D "$dir/data" -w -t 60 -l "$dir/postgres.log" > "$dir/pg_ctl.log" 2>&1; then
		echo "postgresql did not come up on 127.0.0.1:$port:" >&2
		cat "$dir/pg_ctl.log" >&2 || true
		tail -n 30 "$dir/postgres.log" >&2 || true
		[ -f "$dir/data/postmaster.pid" ] && head -n 1 "$dir/data/postmaster.pid" > "$pidfile" && stop
		exit 1
	fi
	# the postmaster's PID is the first line of postmaster.pid
	head -n 1 "$dir/data/postmaster.pid" > "$pidfile"
	for _ in $(seq 1 100); do answers && break; sleep 0.1; done
	if ! answers; then
		echo "postgresql started but pg_isready does not answer on 127.0.0.1:$port:" >&2
		tail -n 30 "$dir/postgres.log" >&2 || true
		stop
		exit 1
	fi
	PGPASSWORD="$superpass" timeout 30 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres > "$dir/psql.log" 2>&1 <<SQL || { echo "creating the n8n role and database failed:" >&2; cat "$dir/psql.log" >&2; stop; exit 1; }
CREATE ROLE $user LOGIN PASSWORD '$password';
CREATE DATABASE $db OWNER $user;
SQL
	cat > "$dir/env.json" <<JSON
{"host":"127.0.0.1","port":$port,"database":"$db","user":"$user","password":"$password","superuser":"$superuser","superuserPassword":"$superpass","caFile":"$dir/ca.pem"}
JSON
	echo "postgresql $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid $(cat "$pidfile")), database $db owned by $user" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	status) status ;;
	*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
