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
  prometheus       # promtool: ops/check-ops.sh checks and unit-tests the alerting rules and the scrape config
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all system packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Python packages: jsonschema (message contracts; draft 2020-12 needs 4.18+), PyYAML (the ops/,
# docker/ and config-example checks), confluent-kafka (the outside subscriber, examples/).
python3 -c "import jsonschema, referencing" 2>/dev/null || python3 -m pip install --quiet "jsonschema>=4.18"
python3 -c "import yaml" 2>/dev/null || python3 -m pip install --quiet pyyaml
python3 -c "import confluent_kafka" 2>/dev/null || python3 -m pip install --quiet "confluent-kafka>=2.0"
