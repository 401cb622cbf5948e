#!/usr/bin/env bash
# Round trip of the outside subscriber against the embedded cluster:
#   bash examples/check-subscriber.sh [DRIFTLINE_BINARY]     (default .build/debug/driftline)
# Starts `driftline dev` on a spare port, produces three alerts (schemas/examples/alert.json with
# other ids and fields) with kcat, reads them back with examples/subscribe_alerts.py, checks each
# printed value against schemas/alert.v1.json, and stops the cluster. Exit 0 when all three came back.
# Needs kcat, python3 with confluent-kafka and jsonschema >= 4.18.
set -euo pipefail
cd "$(dirname "$0")/.."

driftline="${1:-.build/debug/driftline}"
port="${DRIFTLINE_SUBSCRIBER_CHECK_PORT:-19192}"
work=$(mktemp -d /tmp/driftline-subscriber.XXXXXX)
dev_pid=""
cleanup() {
  if [ -n "$dev_pid" ]; then kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$driftline" dev --port "$port" >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 50); do
  grep -q '^bootstrap:' "$work/dev.log" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log" >&2; exit 1; }
  sleep 0.2
done
grep -q '^bootstrap:' "$work/dev.log" || { echo "check-subscriber: driftline dev did not start" >&2; cat "$work/dev.log" >&2; exit 1; }

# Keys are `source|field`, so the key delimiter is a tab, not '|'.
python3 - "$work/alerts.tsv" <<'EOF'
import json, sys
alert = json.load(open("schemas/examples/alert.json"))
with open(sys.argv[1], "w") as out:
    for index, field in enumerate(["amount", "currency", None]):
        message = dict(alert, id=f"{index + 1:032x}")
        if field is None:
            message.pop("field", None)
        else:
            message["field"] = field
        out.write(f"{alert['source']['topic']}|{field or '*'}\t{json.dumps(message, separators=(',', ':'))}\n")
EOF
kcat -b "127.0.0.1:$port" -P -t driftline.alerts -K $'\t' -l "$work/alerts.tsv"

python3 examples/subscribe_alerts.py --brokers "127.0.0.1:$port" --from-beginning --max-messages 3 --timeout 60 >"$work/out.jsonl"
python3 - "$work/out.jsonl" "$work/values.jsonl" <<'EOF'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
assert len(lines) == 3, f"expected 3 alerts, got {len(lines)}"
assert sorted(line["key"] for line in lines) == ["orders|*", "orders|amount", "orders|currency"], [line["key"] for line in lines]
with open(sys.argv[2], "w") as out:
    for line in lines:
        out.write(json.dumps(line["value"]) + "\n")
EOF
python3 schemas/validate.py schemas/alert.v1.json "$work/values.jsonl"
echo "check-subscriber: 3 alerts produced with kcat and read back by examples/subscribe_alerts.py"
