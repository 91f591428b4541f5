#!/usr/bin/env bash
# The whole suite: typecheck, n8n's lint, then every test file through node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p test/tsconfig.json
npx n8n-node lint
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
