#!/usr/bin/env bash
# The profiling hot path must not allocate per record once warm. Builds the probe in release (debug
# code allocates for its own bookkeeping), runs it with the malloc interposer preloaded, and fails
# unless scanning allocates nothing and profiling allocates less than once per 1000 records (the only
# allocations left are a quantile sketch growing a level, once per doubling of a field's values).
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product ProfileAllocationProbe
result=$(LD_PRELOAD="$PWD/.build/release/libMallocInterposerSwift.so" .build/release/ProfileAllocationProbe 400000)
echo "allocations: $result"
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
problems = []
if r["scanMallocs"] != 0:
    problems.append(f"scanning allocated {r['scanMallocs']} times for {r['records']} records")
if r["profileMallocs"] >= r["records"] / 1000:
    problems.append(f"profiling allocated {r['profileMallocs']} times for {r['records']} records")
if problems:
    sys.exit("allocation check failed: " + "; ".join(problems))
print(f"allocation check passed: {r['profileMallocs'] / r['records']:.5f} allocations per record while profiling")
PY
