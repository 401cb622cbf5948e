#!/usr/bin/env bash
# The README's first command: installs what the system needs, builds Driftline (release), starts a
# throwaway PostgreSQL server (as ops/test.sh does) as the re-partitioning target, and runs the
# demo on the embedded defaults (an in-process Kafka cluster): drift detected, a partitioning plan,
# the table re-partitioned online and verified. Extra arguments go to `driftline demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh
swift build -c release --product driftline
source ops/postgres.sh
export DRIFTLINE_TEST_POSTGRES_PORT="${DRIFTLINE_DEMO_POSTGRES_PORT:-55439}"
trap stop_test_postgres EXIT
start_test_postgres
.build/release/driftline demo --target "$DRIFTLINE_TEST_POSTGRES_URL" "$@"
