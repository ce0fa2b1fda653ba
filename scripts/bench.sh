#!/usr/bin/env bash
# The performance benchmark of the Performance issue, in one run (release build):
#   1. `rekindle bench replay` on `generate --customers 200000 --days 10` (~1M events): reading,
#      parsing (fast scanner and the reference path), folding pre-parsed events, the whole replay
#      (streaming, and the one-thread path), beside baselines measured in the same process:
#      JSONDecoder, a plain dictionary fold, and a Python orjson fold (if orjson is installed).
#   2. `rekindle bench state` on `generate --customers 1000000 --days 30`: resident state per customer.
#   3. `rekindle bench live` through the embedded broker, beside librdkafka's raw consume rate.
#   4. `rekindle bench hitrate`: recommendation hit rate and fold speed of max_neighbours bounds
#      beside exact scoring, on a generated Zipf-popularity stream of about a million events.
# Files go to ${BENCH_DIR:-/tmp/rekindle-bench} (about 1.7 GB); set SKIP_STATE=1 to skip step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
python3 -c 'import orjson' 2>/dev/null || pip3 install --quiet --break-system-packages orjson 2>/dev/null || true
swift build -c release --product rekindle 2>&1 | tail -n 1
bin="$(swift build -c release --show-bin-path)/rekindle"
dir="${BENCH_DIR:-/tmp/rekindle-bench}"
mkdir -p "$dir"
[ -s "$dir/1m.jsonl" ] || "$bin" generate --customers 200000 --days 10 --seed 1 --output "$dir/1m.jsonl"
echo "== bench replay: $(wc -l < "$dir/1m.jsonl") events"
"$bin" bench replay --input "$dir/1m.jsonl"
if [ "${SKIP_STATE:-0}" != 1 ]; then
  [ -s "$dir/1m-customers.jsonl" ] || "$bin" generate --customers 1000000 --days 30 --seed 1 --output "$dir/1m-customers.jsonl"
  echo "== bench state: 1M customers"
  "$bin" bench state --input "$dir/1m-customers.jsonl"
fi
echo "== bench live"
"$bin" bench live --input "$dir/1m.jsonl" --partitions 64
echo "== bench hitrate"
"$bin" bench hitrate
