#!/usr/bin/env bash
# scripts/servers/azurite.sh start|stop — Microsoft's Azure Storage emulator (Blob endpoint) for
# the Azure Blob and Data Landing Zone tests, on 127.0.0.1 only. Azurite needs Node >= 22: it runs
# on the Node 24 binary from scripts/node24.sh and is installed into .tools/azurite on first use.
# Writes the connection details to .tmp/servers/azurite/env.json; stop kills it by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/azurite"
port=${AZURITE_TEST_PORT:-10099}

stop() {
	stop_pid "$dir/azurite.pid"
}

start() {
	stop
	node24=$(bash scripts/node24.sh 2>/dev/null)
	main=$(azurite_main)
	rm -rf "$dir" && mkdir -p "$dir/data"
	"$node24" "$main" --blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" --disableTelemetry --skipApiVersionCheck --loose > "$dir/azurite.log" 2>&1 &
	echo $! > "$dir/azurite.pid"
	wait_port "$port" azurite "$dir/azurite.log"
	# Azurite's well-known development account (public, documented by Microsoft)
	cat > "$dir/env.json" <<JSON
{"accountName":"devstoreaccount1","accountKey":"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==","endpoint":"http://127.0.0.1:$port/devstoreaccount1"}
JSON
	echo "azurite blob on 127.0.0.1:$port (pid $(cat "$dir/azurite.pid"))" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
