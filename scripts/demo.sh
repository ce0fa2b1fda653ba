#!/usr/bin/env bash
# The demo: generate four months of a shop's events for a few thousand customers, replay
# them through the default rules, and show the back-test report and a few triggers.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "== building rekindle (first build fetches and compiles dependencies: a few minutes)"
swift build -c release --product rekindle 2>&1 | tail -n 1
bin="$(swift build -c release --show-bin-path)/rekindle"
out=demo-out
mkdir -p "$out"
echo "== rekindle generate: 3000 customers, 120 days, 1% bad lines"
"$bin" generate --customers 3000 --days 120 --seed 42 --bad-fraction 0.01 --output "$out/events.jsonl"
echo "   $(wc -l < "$out/events.jsonl") lines in $out/events.jsonl"
echo "== rekindle replay"
"$bin" replay --input "$out/events.jsonl" --output "$out/triggers.jsonl" --report "$out/report.json"
echo
echo "== a view.abandoned trigger and a reanimation gift:"
grep "\"rule_id\":\"view.abandoned\"" "$out/triggers.jsonl" | grep -v -m1 "\"recommendations\":\[\]"
grep -m1 '"rule_id":"reanimation.one"' "$out/triggers.jsonl"
echo "== a bad line and why:"
head -n 1 "$out/triggers.dead-letters.jsonl"
echo
echo "Outputs: $out/triggers.jsonl, $out/triggers.conversions.jsonl, $out/triggers.dead-letters.jsonl, $out/report.json"
