# Shared by scripts/servers/*.sh (sourced). Servers listen on 127.0.0.1 only; loops are bounded.

# stop_pid FILE: stop the process whose PID is in FILE (TERM, up to 5 s, then KILL) and remove FILE.
stop_pid() {
	[ -f "$1" ] || return 0
	local pid
	pid=$(cat "$1")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$1"
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT LABEL LOG...: wait up to 30 s for the port; on failure print LOG files and exit 1.
wait_port() {
	local port=$1 label=$2
	shift 2
	for _ in $(seq 1 300); do
		port_open "$port" && return 0
		sleep 0.1
	done
	echo "$label did not come up on 127.0.0.1:$port:" >&2
	tail -n 30 "$@" >&2 || true
	exit 1
}

# azurite_main: the path of Azurite's Blob entry point (run it with Node 24), installing Azurite into
# .tools/azurite the first time. Shared by azurite.sh and azurite-oauth.sh.
azurite_main() {
	local main=.tools/azurite/node_modules/azurite/dist/src/blob/main.js
	if [ ! -f "$main" ]; then
		echo "installing azurite into .tools/azurite" >&2
		mkdir -p .tools/azurite
		npm install --prefix .tools/azurite --no-save --no-audit --no-fund --no-package-lock azurite@3 >&2
	fi
	echo "$main"
}
