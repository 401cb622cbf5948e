#!/usr/bin/env bash
# Installs the system packages Driftline needs to build, test and run on Debian.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

packages=(
  librdkafka-dev   # the Kafka client library (and its mock cluster) Driftline links
  libpg-query-dev  # PostgreSQL's own SQL parser (libpg_query) for the partitioning planner
  pkg-config       # SwiftPM finds librdkafka through it
  kcat             # an independent Kafka client: interop tests and the throughput baseline
  postgresql       # a real PostgreSQL server for the store tests
  postgresql-15-partman  # pg_partman, the baseline `driftline bench execute` compares the executor with
  python3          # JSON Schema validation of emitted messages, allocation check
  chromium         # renders the HTML drift report in a test (headless)
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# The message-contract tests validate with python's jsonschema (draft 2020-12 needs 4.18+).
if ! python3 -c "import jsonschema, referencing" 2>/dev/null; then
  python3 -m pip install --quiet "jsonschema>=4.18" || echo "install-deps: could not install python jsonschema" >&2
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all system packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
if ! python3 -c "import jsonschema, referencing" 2>/dev/null; then
  python3 -m pip install --quiet "jsonschema>=4.18"
fi
