#!/usr/bin/env bash
# scripts/servers/gcs.sh start|stop — firebase-tools' Cloud Storage emulator, which serves the GCS
# JSON API, for the Google Cloud Storage (service-account JSON) tests, on 127.0.0.1 only.
# firebase-tools is installed into .tools/firebase on first use (no optional packages, no install
# scripts). `firebase emulators:start` would first start the Java Storage Rules runtime (a jar it
# downloads); the GCS JSON API routes never consult rules (they use the emulator's admin storage
# layer), so this script builds the emulator's Express app from Node directly and skips the rules
# runtime: no Java, no download. Objects live under .tmp/servers/gcs (the emulator's TMPDIR).
# Writes the connection details to .tmp/servers/gcs/env.json; stop kills it by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/servers/common.sh
dir="$PWD/.tmp/servers/gcs"
port=${GCS_TEST_PORT:-9199}
project=${GCS_TEST_PROJECT:-dataset-export-test}

stop() {
	stop_pid "$dir/gcs.pid"
}

# Node launcher: the StorageEmulator object (storage layers, upload service) without start(),
# which would start the rules runtime; createApp() gives the same routes `emulators:start` serves.
read -r -d '' launcher <<'JS' || true
const [root, port, project] = process.argv.slice(1);
const lib = `${root}/node_modules/firebase-tools/lib/emulator`;
const { StorageEmulator } = require(`${lib}/storage`);
const { createApp } = require(`${lib}/storage/server`);
const { EmulatorRegistry } = require(`${lib}/registry`);
const rules = { name: 'storage.rules', content: "rules_version = '2'; service firebase.storage { match /b/{bucket}/o { match /{all=**} { allow read, write: if false; } } }" };
const emulator = new StorageEmulator({ projectId: project, host: '127.0.0.1', port: Number(port), rules, auto_download: false });
let server;
// the registry answers the routes' "where am I" questions (upload URLs, bucket links); its start()
// calls ours, which serves the app without starting the rules runtime
emulator.start = async () => {
	const app = await createApp(project, emulator);
	server = app.listen(Number(port), '127.0.0.1');
	server.on('error', (error) => { console.error(error); process.exit(1); });
};
EmulatorRegistry.start(emulator).then(
	() => console.log(`storage emulator on 127.0.0.1:${port}`),
	(error) => { console.error(error); process.exit(1); },
);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => (server ? server.close(() => process.exit(0)) : process.exit(0)));
JS

start() {
	stop
	main=.tools/firebase/node_modules/firebase-tools/lib/emulator/storage/server.js
	if [ ! -f "$main" ]; then
		echo "installing firebase-tools into .tools/firebase" >&2
		mkdir -p .tools/firebase
		npm install --prefix .tools/firebase --no-save --no-audit --no-fund --no-package-lock --omit=optional --ignore-scripts firebase-tools@15.34.2 >&2
	fi
	if port_open "$port"; then echo "port $port is already in use" >&2; exit 1; fi
	rm -rf "$dir" && mkdir -p "$dir/tmp"
	TMPDIR="$dir/tmp" node -e "$launcher" "$PWD/.tools/firebase" "$port" "$project" > "$dir/gcs.log" 2>&1 &
	echo $! > "$dir/gcs.pid"
	wait_port "$port" "the GCS emulator" "$dir/gcs.log"
	cat > "$dir/env.json" <<JSON
{"endpoint":"http://127.0.0.1:$port","projectId":"$project"}
JSON
	echo "gcs emulator (firebase-tools storage) on 127.0.0.1:$port (pid $(cat "$dir/gcs.pid"))" >&2
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
