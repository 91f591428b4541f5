#!/usr/bin/env bash
# The whole suite: typecheck, n8n's lint, every test file through node's test runner on this
# Node (20+), then the DuckDB round-trip again on Node 24 (what n8n 2.x runs), where node:zlib
# has zstd, so Parquet/ZSTD is written and read back instead of refused.
set -euo pipefail
cd "$(dirname "$0")/.."
# real servers for the destination tests, on 127.0.0.1, stopped by PID when the suite ends
trap 'bash scripts/servers/sftp.sh stop; bash scripts/servers/azurite.sh stop; bash scripts/servers/azurite-oauth.sh stop; bash scripts/servers/ceph.sh stop; bash scripts/servers/gcs.sh stop; bash scripts/servers/postgres.sh stop' EXIT
bash scripts/servers/sftp.sh start
bash scripts/servers/azurite.sh start
# HTTPS Azurite checking bearer tokens + the Entra ID stand-in; Node trusts their test CA only from start-up
bash scripts/servers/azurite-oauth.sh start
# (added to the CAs the environment already trusts, e.g. a proxy's: npm still installs n8n for the e2e test)
bundle="$PWD/.tmp/servers/extra-ca.pem"
cat "$PWD/.tmp/servers/azurite-oauth/ca.pem" > "$bundle"
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then cat "$NODE_EXTRA_CA_CERTS" >> "$bundle"; fi
export NODE_EXTRA_CA_CERTS="$bundle"
bash scripts/servers/ceph.sh start
# firebase-tools' Cloud Storage emulator (GCS JSON API), started from Node without its Java rules runtime
bash scripts/servers/gcs.sh start
# PostgreSQL from Debian's packages: the PostgreSQL source's tests (test/source/postgres.test.ts)
bash scripts/servers/postgres.sh start
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p test/tsconfig.json
npx n8n-node lint
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
echo "== workflow tests against the built package (dist/, as n8n loads it)"
npx n8n-node build > /dev/null
NODES_FROM_DIST=1 node --import tsx --test --test-reporter=spec test/workflow.test.ts
node24=$(bash scripts/node24.sh)
echo "== DuckDB round-trip on $("$node24" --version)"
"$node24" --import tsx --test --test-reporter=spec test/roundtrip.test.ts
echo "== property round trip on Node 24 (every format × codec, zstd included)"
"$node24" --import tsx --test --test-reporter=spec test/property.test.ts
echo "== end to end in real n8n"
bash scripts/e2e.sh
