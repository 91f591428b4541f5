#!/usr/bin/env bash
# scripts/servers/azurite-oauth.sh start|stop — ADLS Gen2 with a service principal, tested without
# Microsoft Entra ID (none is reachable from the test machine):
#  - a second Azurite (Blob) with --oauth basic, over HTTPS (Azurite accepts bearer tokens only over
#    HTTPS), on 127.0.0.1:10098. It checks every token's issuer (https://sts.windows.net/…),
#    audience (https://storage.azure.com) and lifetime (nbf/exp), not its signature;
#  - scripts/servers/token-issuer.mjs on 127.0.0.1:10097: the stand-in for Entra ID's token
#    endpoint (OpenID discovery + client-credentials grant), knowing one random tenant, client id
#    and client secret, and refusing others with Entra's AADSTS errors.
# Both use one certificate for 127.0.0.1 signed by a throw-away CA (openssl); clients trust it with
# NODE_EXTRA_CA_CERTS=.tmp/servers/azurite-oauth/ca.pem (scripts/test.sh exports it).
# Writes the connection details to .tmp/servers/azurite-oauth/env.json; stop kills both by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/azurite-oauth"
port=${AZURITE_OAUTH_TEST_PORT:-10098}
issuer_port=${TOKEN_ISSUER_TEST_PORT:-10097}

stop() {
	stop_pid "$dir/azurite.pid"
	stop_pid "$dir/issuer.pid"
}

# wait_up PORT LABEL PIDFILE LOG: like wait_port, but gives up at once if the process has exited.
wait_up() {
	for _ in $(seq 1 300); do
		port_open "$1" && return 0
		kill -0 "$(cat "$3")" 2>/dev/null || break
		sleep 0.1
	done
	echo "$2 did not come up on 127.0.0.1:$1:" >&2
	tail -n 30 "$4" >&2 || true
	exit 1
}

start() {
	stop
	for p in "$port" "$issuer_port"; do
		if port_open "$p"; then
			echo "127.0.0.1:$p is already in use (not by this script's servers): refusing to start" >&2
			exit 1
		fi
	done
	node24=$(bash scripts/node24.sh 2>/dev/null)
	main=$(azurite_main)
	rm -rf "$dir" && mkdir -p "$dir/data" && chmod 700 "$dir"

	if ! command -v openssl >/dev/null 2>&1; then
		echo "installing openssl (apt-get)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >&2
	fi
	# a throw-away CA and a server certificate for 127.0.0.1 (both servers)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj "/CN=n8n-dataset-export test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2> "$dir/openssl.log"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$dir/key.pem" -out "$dir/server.csr" 2>> "$dir/openssl.log"
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial -days 7 \
		-extfile "$dir/server.ext" -out "$dir/cert.pem" 2>> "$dir/openssl.log"

	# the one tenant, application (client) and secret the issuer knows: random each start
	tenant=$(cat /proc/sys/kernel/random/uuid)
	client=$(cat /proc/sys/kernel/random/uuid)
	secret="$(openssl rand -base64 30 | tr '+/' '-_' | cut -c1-3)8Q~$(openssl rand -base64 40 | tr -d '+/=' | cut -c1-34)"
	(umask 077 && cat > "$dir/issuer.json" <<JSON
{"host":"127.0.0.1","port":$issuer_port,"certFile":"$dir/cert.pem","keyFile":"$dir/key.pem","tenantId":"$tenant","clientId":"$client","clientSecret":"$secret"}
JSON
	)
	"$node24" scripts/servers/token-issuer.mjs "$dir/issuer.json" > "$dir/issuer.log" 2>&1 &
	echo $! > "$dir/issuer.pid"
	"$node24" "$main" --blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" --disableTelemetry --skipApiVersionCheck --loose \
		--oauth basic --cert "$dir/cert.pem" --key "$dir/key.pem" > "$dir/azurite.log" 2>&1 &
	echo $! > "$dir/azurite.pid"
	trap stop EXIT # a server that came up is stopped again if the other did not
	wait_up "$issuer_port" "token issuer" "$dir/issuer.pid" "$dir/issuer.log"
	wait_up "$port" "azurite (oauth)" "$dir/azurite.pid" "$dir/azurite.log"
	trap - EXIT
	# Azurite's well-known development account (public, documented by Microsoft): the tests use its
	# key to create containers and to look at what landed; the service principal writes with tokens
	(umask 077 && cat > "$dir/env.json" <<JSON
{"accountName":"devstoreaccount1","accountKey":"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==","endpoint":"https://127.0.0.1:$port/devstoreaccount1","authorityHost":"https://127.0.0.1:$issuer_port","tenantId":"$tenant","clientId":"$client","clientSecret":"$secret","caFile":"$dir/ca.pem"}
JSON
	)
	echo "azurite blob with OAuth on https://127.0.0.1:$port (pid $(cat "$dir/azurite.pid")), token issuer on https://127.0.0.1:$issuer_port (pid $(cat "$dir/issuer.pid"))" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
