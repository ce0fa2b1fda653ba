#!/usr/bin/env bash
# Scale-out on one machine: N `rekindle run` instances in one consumer group share 64-partition
# topics of the embedded broker. The instances start on empty topics; once the group has settled
# (every instance holds tasks, all tasks are held) the events are produced, so no task moves and
# re-folds mid-run. For each N: the time from the first folded event to the last
# (rekindle_events_processed_total summed over the instances' /metrics, sampled every 0.2 s), the
# rate, and each instance's peak RSS.
#
#   scripts/scaleout.sh [BINARY] [CUSTOMERS] [INSTANCES...]     (defaults: release build, 150000, 1 2 3)
#
# The instances share this machine's cores: on a 2-core machine the sum cannot pass 2 cores' worth.
set -euo pipefail
bin=${1:-.build/release/rekindle}; customers=${2:-150000}; shift 2 || true
counts=${*:-1 2 3}
partitions=64
source "$(dirname "$0")/lib/group.sh"

"$bin" generate --customers "$customers" --days 60 --seed 7 --output "$work/events.jsonl"
events=$(wc -l < "$work/events.jsonl")


echo "instances events_folded seconds events_per_second peak_rss_mib_each   ($events events in the file)"
for n in $counts; do
    # A fresh broker per round, so each round reads the same topics from the start.
    start_broker "$work/broker-$n.out"
    ports=(); runs=()
    for i in $(seq 1 "$n"); do
        port=$((19460 + i))
        "$bin" run --bootstrap "$bootstrap" --group-id "scale-$n" --http "127.0.0.1:$port" \
            > "$work/run-$n-$i.out" 2>&1 &
        runs+=($!); pids+=($!); ports+=("$port")
    done
    # The group settles before any event is produced (a later rebalance would re-fold moved tasks):
    # every instance holds tasks and together they hold all of them.
    until settled "${ports[@]}"; do sleep 0.2; done
    # Produced while the instances fold: the clock starts at the first folded event.
    "$bin" produce --bootstrap "$bootstrap" --input "$work/events.jsonl" > /dev/null 2>&1 &
    producer=$!; pids+=("$producer")
    first=""; last=""; seen=0; peak=()
    for i in "${!runs[@]}"; do peak[$i]=0; done
    # Until every event is folded (the generated file has no bad lines); then the instances are
    # stopped. None leaves the group early, which would move its tasks to the others mid-run.
    deadline=$(( $(date +%s) + 900 ))
    while awk -v s="$seen" -v e="$events" 'BEGIN {exit !(s < e)}'; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "$n instances: $seen of $events folded after 900 s" >&2; break; }
        now=$(date +%s.%N)
        folded=$(metric rekindle_events_processed_total "${ports[@]}")
        for i in "${!runs[@]}"; do
            rss=$(awk '/^VmRSS/ {print $2}' "/proc/${runs[$i]}/status" 2>/dev/null || true)
            [ "${rss:-0}" -gt "${peak[$i]}" ] && peak[$i]=$rss
        done
        if awk -v f="$folded" -v s="$seen" 'BEGIN {exit !(f > s)}'; then
            [ -n "$first" ] || first=$now
            last=$now; seen=$folded
        fi
        sleep 0.2
    done
    kill "${runs[@]}"
    wait "$producer" || true
    for p in "${runs[@]}"; do wait "$p" || true; done
    kill "$broker"; wait "$broker" 2>/dev/null || true
    secs=$(awk -v a="$first" -v b="$last" 'BEGIN {printf "%.1f", b - a}')
    rate=$(awk -v e="$seen" -v s="$secs" 'BEGIN {printf "%.0f", (s > 0) ? e / s : 0}')
    echo "$n $seen $secs $rate $(for k in "${peak[@]}"; do printf '%d ' $((k / 1024)); done)"
done
