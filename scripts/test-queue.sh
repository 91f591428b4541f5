#!/usr/bin/env bash
# npm run test:queue — queue mode end to end (test/queue/queue.e2e.ts, docs/queue-mode.md): a real
# n8n 2.41.1 cluster (scripts/queue.sh: Redis, PostgreSQL, main + 2 workers) on 127.0.0.1, started
# by the test and stopped by PID when it ends, also when it fails or is interrupted (QUEUE_KEEP=1:
# left running, to look at; `bash scripts/queue.sh stop` then).
set -euo pipefail
cd "$(dirname "$0")/.."
trap '[ "${QUEUE_KEEP:-}" = 1 ] || bash scripts/queue.sh stop > /dev/null 2>&1 || true' EXIT
node --import tsx --test --test-reporter=spec --test-timeout=3600000 test/queue/queue.e2e.ts
