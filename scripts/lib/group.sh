# Sourced by scripts/scaleout.sh and scripts/rebalance.sh: `rekindle run` instances in one
# consumer group on the embedded broker, watched through their /metrics. Expects $bin and
# $partitions; sets $work (removed on exit) and $pids (killed on exit).
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# start_broker OUT: the embedded broker with every topic at $partitions partitions, its output in
# OUT; sets $broker and $bootstrap.
start_broker() {
    : > "$1"
    "$bin" broker --partitions "$partitions" > "$1" 2>&1 &
    broker=$!; pids+=("$broker")
    until grep -q '^bootstrap: ' "$1"; do kill -0 "$broker"; sleep 0.1; done
    bootstrap=$(sed -n 's/^bootstrap: //p' "$1")
}

# metric NAME PORT...: the sum of the metric's samples (labelled or not) over the instances'
# ports; 0 for a port that does not answer.
metric() {
    local name=$1; shift; local sum=0 v
    for port in "$@"; do
        v=$(curl -s --max-time 1 "http://127.0.0.1:$port/metrics" | awk -v n="$name" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}')
        sum=$(awk -v a="$sum" -v b="${v:-0}" 'BEGIN {print a + b}')
    done
    echo "$sum"
}

# settled PORT...: every instance holds tasks, and together they hold all $partitions of them.
settled() {
    [ "$(metric rekindle_assigned_tasks "$@")" = "$partitions" ] || return 1
    for port in "$@"; do [ "$(metric rekindle_assigned_tasks "$port")" != 0 ] || return 1; done
}
