#!/usr/bin/env bash
# The README's first command: installs what the system needs, builds Driftline (release), and runs
# the demo on the embedded defaults (an in-process Kafka cluster; nothing else to start).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh
swift build -c release --product driftline
exec .build/release/driftline demo "$@"
