#!/usr/bin/env bash
# The demo, live on the embedded broker: start `rekindle broker`, generate four months of a
# shop's events for 3,000 customers, produce them to the input topics, run Rekindle until it
# has caught up, and show the triggers (read back with kcat) and the report.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "== building rekindle (the first build compiles the dependencies: a few minutes)"
swift build -c release --product rekindle 2>&1 | tail -n 1
bin="$(swift build -c release --show-bin-path)/rekindle"
out=demo-out
mkdir -p "$out"

echo "== rekindle broker: librdkafka's mock cluster on loopback, 4 partitions per topic"
"$bin" broker --partitions 4 > "$out/broker.txt" 2> "$out/broker.log" &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q '^bootstrap: ' "$out/broker.txt" 2>/dev/null && break; sleep 0.1; done
bootstrap="$(sed -n 's/^bootstrap: //p' "$out/broker.txt")"
[ -n "$bootstrap" ] || { echo "the broker did not start: $(cat "$out/broker.log")" >&2; exit 1; }
echo "   bootstrap: $bootstrap"

echo "== rekindle generate: 3000 customers, 120 days, 1% bad lines"
"$bin" generate --customers 3000 --days 120 --seed 42 --bad-fraction 0.01 --output "$out/events.jsonl"
echo "   $(wc -l < "$out/events.jsonl") lines in $out/events.jsonl"
echo "== rekindle produce: each event to its topic (orders, product-views, email-opens), keyed by customer_id"
"$bin" produce --bootstrap "$bootstrap" --input "$out/events.jsonl"

echo "== rekindle run --stop-when-idle 2 (metrics, health and customers on the status address it prints)"
"$bin" run --bootstrap "$bootstrap" --stop-when-idle 2 --http 127.0.0.1:0 2> "$out/run.log" | tee "$out/run.txt"
grep '^status:' "$out/run.log" || true

echo
kcat -b "$bootstrap" -C -t campaign-triggers -e -q > "$out/triggers.jsonl"
echo "== $(wc -l < "$out/triggers.jsonl") triggers read back from campaign-triggers with kcat; two of them:"
head -n 2 "$out/triggers.jsonl"
echo "== an abandoned view with recommendations:"
# One process, no pipe: a pipe's first command would die of SIGPIPE, which pipefail reports.
awk '/"rule_id":"view.abandoned"/ && !/"recommendations":\[\]/ { print; exit }' "$out/triggers.jsonl"
echo "== a dead letter:"
kcat -b "$bootstrap" -C -t rekindle-dead-letters -e -q -c 1
echo
echo "While 'rekindle run' runs, http://HOST:PORT/metrics is Prometheus text, /health its readiness,"
echo "and 'rekindle inspect CUSTOMER --http HOST:PORT' one customer's state. The same history as a"
echo "back-test from a file: $bin replay --input $out/events.jsonl --output $out/replay.jsonl --partitions 4"
