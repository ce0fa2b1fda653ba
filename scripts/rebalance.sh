#!/usr/bin/env bash
# Rebalances on one machine: the events are produced to 64-partition topics of the embedded broker
# first; two `rekindle run` instances (snapshots in Kafka, so a moved task restores wherever it
# lands) start folding them; while they fold, a third joins, then one of the first two is SIGKILLed.
# Prints how long each rebalance took (from the join or the kill until all 64 tasks are held again,
# by the instances' rekindle_assigned_tasks), then, once the survivors have caught up (consumer lag
# 0) and a last instance has run the group to idle, checks every output exactly once: the triggers
# and conversions topics against `replay --partitions 64` of the same events, and no message twice.
#
#   scripts/rebalance.sh [BINARY] [CUSTOMERS]      (defaults: release build, 150000, about 1.3M
#                                                   events: enough for the folding to outlast both
#                                                   rebalances; the embedded broker keeps ~5 MiB per
#                                                   partition, about 2 MiB per partition here)
#   SKIP_KILL=1 scripts/rebalance.sh ...           (the join only)
#
# The events are on the topics before any instance starts, as spec section 4's determinism asks
# ("present before processing starts"). Produced while the instances fold, some would be late (an
# order read after the same partition's later views), and a live run may then differ from the
# replay, as the spec allows.
set -euo pipefail
bin=${1:-.build/release/rekindle}; customers=${2:-150000}
partitions=64
source "$(dirname "$0")/lib/group.sh"

"$bin" generate --customers "$customers" --days 60 --seed 11 --output "$work/events.jsonl"
events=$(wc -l < "$work/events.jsonl")

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

start_broker "$work/broker.out"
"$bin" produce --bootstrap "$bootstrap" --input "$work/events.jsonl" > /dev/null 2>&1

start() { # instance number -> its pid in $started
    "$bin" run --bootstrap "$bootstrap" --group-id rebalance --http "127.0.0.1:$((19480 + $1))" \
        --snapshots-in-kafka --snapshot-interval 1 > "$work/run-$1.out" 2>&1 &
    started=$!; pids+=($started)
}
start 1; a=$started
start 2; b=$started
until settled 19481 19482; do sleep 0.1; done

echo "join: $(metric rekindle_consumer_lag 19481 19482) events still to fold when a third instance starts"
t=$(now); start 3; c=$started
until settled 19481 19482 19483; do sleep 0.1; done
echo "join: a third instance took its share of the 64 tasks in $(since "$t") s (from its start)"

if [ "${SKIP_KILL:-0}" = 1 ]; then survivors=(19481 19482 19483); else
echo "SIGKILL: $(metric rekindle_consumer_lag 19481 19482 19483) events still to fold when the second instance is killed"
t=$(now); kill -KILL "$b"
until settled 19481 19483; do sleep 0.1; done
echo "SIGKILL: the survivors held all 64 tasks again $(since "$t") s after the kill"
survivors=(19481 19483); fi

# Caught up: no lag on either survivor for 2 s in a row.
t=$(now); quiet=0
while [ "$quiet" -lt 10 ]; do
    if [ "$(metric rekindle_consumer_lag "${survivors[@]}")" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    sleep 0.2
done
echo "caught up $(since "$t") s after the kill's rebalance"
kill -TERM "$a" "$c" "$b" 2>/dev/null || true; wait "$a" "$c" 2>/dev/null || true
# A last instance takes every task from the snapshots and runs until idle, as a long-running group
# would: idle tasks follow the watermark to the last event, firing what falls due by then.
"$bin" run --bootstrap "$bootstrap" --group-id rebalance --http off --snapshots-in-kafka --stop-when-idle 2 > "$work/run-last.out" 2>&1

"$bin" replay --input "$work/events.jsonl" --output "$work/replay.jsonl" --partitions "$partitions" --quiet
status=0
for topic in campaign-triggers campaign-conversions; do
    kcat -b "$bootstrap" -C -t "$topic" -e -q -f '%s\n' | sort > "$work/$topic.live"
    want=$([ "$topic" = campaign-triggers ] && echo replay.jsonl || echo replay.conversions.jsonl)
    sort "$work/$want" > "$work/$topic.replay"
    twice=$(uniq -d "$work/$topic.live" | wc -l)
    if cmp -s "$work/$topic.live" "$work/$topic.replay"; then
        echo "$topic: $(wc -l < "$work/$topic.live") messages, each once, equal to the replay"
    else
        echo "$topic: $(wc -l < "$work/$topic.live") messages ($twice twice) against $(wc -l < "$work/$topic.replay") in the replay: NOT equal"
        status=1
    fi
done
echo "($events events, $customers customers, 64 partitions)"
exit "$status"
