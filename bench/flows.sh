#!/usr/bin/env bash
# The flows group: what watching flow events costs the data plane. One mproxyd serves the 1 KiB GET
# load (wrk, as get_1k.sh) while 0, 5 or 1 WatchFlows subscribers (bench_flow_subscriber) read every
# event; requests/s with 0 and with 5 subscribers, and the events/s one subscriber receives.
#
# Everything in one run and against one mproxyd process, in rounds of 0, 5 and 1 subscribers, so
# that a machine whose speed drifts (builds starting and stopping) weighs on each alike; each figure
# is the median over the rounds. The subscribers run on LOAD_CORE with wrk and nginx: mproxyd keeps
# its core to itself, and its gRPC threads run there too, so what serving them costs is mproxy's.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_BIN BENCH_TMP ORIGIN_PORT

seconds=${BENCH_GET_SECONDS:-10}
warmup=${BENCH_GET_WARMUP_SECONDS:-2}
run_warmup=${BENCH_FLOWS_RUN_WARMUP_SECONDS:-1}
rounds=${BENCH_FLOWS_ROUNDS:-3}
many=${BENCH_FLOWS_SUBSCRIBERS:-5}
url=http://127.0.0.1:$ORIGIN_PORT/1k
subscriber=${BENCH_BIN:?}/bench_flow_subscriber
[ -x "$subscriber" ] || bench_die "no $subscriber (it is built only with the project: bench/CMakeLists.txt)"

start_proxy flows
proxy_url=http://127.0.0.1:$PROXY_PORT/1k

# start_subscribers N SECONDS WARMUP: N subscribers on LOAD_CORE in the background, counting for
# SECONDS after WARMUP; sets SUBSCRIBERS_PID, their summary goes to SUBSCRIBERS_OUT.
SUBSCRIBERS_OUT=$BENCH_TMP/flow-subscribers.out
# BENCH_FLOWS_SUBSCRIBER_NICE=19 runs them below wrk and nginx, to tell mproxy's own cost apart from
# the subscribers' parsing competing with the load on a two-core machine (they may then miss events).
start_subscribers() {
    nice -n "${BENCH_FLOWS_SUBSCRIBER_NICE:-0}" taskset -c "$LOAD_CORE" "$subscriber" --server "127.0.0.1:$PROXY_CONTROL_PORT" --token-file "$PROXY_TOKEN_FILE" \
        --subscribers "$1" --seconds "$2" --warmup "$3" >"$SUBSCRIBERS_OUT" &
    SUBSCRIBERS_PID=$!
    track_pid "$SUBSCRIBERS_PID"
}

# wait_subscribers: sets SUBSCRIBERS_SUMMARY to their summary line, or fails the script when a stream
# failed. (Not in a $(...): a subshell cannot wait for its parent's children.)
wait_subscribers() {
    local rc=0
    wait "$SUBSCRIBERS_PID" || rc=$?
    SUBSCRIBERS_SUMMARY=$(grep '^summary:' "$SUBSCRIBERS_OUT") || bench_die "bench_flow_subscriber printed no summary"
    [ "$rc" -eq 0 ] || bench_die "bench_flow_subscriber failed (exit $rc): $SUBSCRIBERS_SUMMARY"
}

bench_log "flows: ${warmup}s warm-up through mproxy with $many subscribers"
start_subscribers "$many" "$warmup" 0
run_wrk "$warmup" "$proxy_url" "$url" >/dev/null
wait_subscribers
check_proxy_alive

# The runs of a round, by role: no subscriber, the many, and one (for the events/s of one).
roles=(none many one)
declare -A count_of=([none]=0 [many]=$many [one]=1)
# Per role, the figures of every round (space-separated, for median).
declare -A rps cpu10k core load_core events_each events_min produced missed errors

# measure ROLE ROUND: one measured run with count_of[ROLE] subscribers. The subscribers start with
# wrk's warm-up of run_warmup seconds and count from its end for `seconds`: the window of the
# measured wrk run, give or take wrk's start-up (milliseconds).
measure() {
    local role=$1 round=$2 n=${count_of[$1]} wrk_out sub_out="" cpu_before cpu_after core_before core_after busy
    local load_before load_after load_busy requests key
    [ "$n" -eq 0 ] || start_subscribers "$n" "$seconds" "$run_warmup"
    run_wrk "$run_warmup" "$proxy_url" "$url" >/dev/null
    cpu_before=$(cpu_seconds "$PROXY_PID")
    core_before=$(core_jiffies "$PROXY_CORE")
    load_before=$(core_jiffies "$LOAD_CORE")
    wrk_out=$(run_wrk "$seconds" "$proxy_url" "$url")
    load_after=$(core_jiffies "$LOAD_CORE")
    core_after=$(core_jiffies "$PROXY_CORE")
    cpu_after=$(cpu_seconds "$PROXY_PID")
    if [ "$n" -gt 0 ]; then
        wait_subscribers
        sub_out=$SUBSCRIBERS_SUMMARY
    fi
    check_proxy_alive
    bench_log "  $n subscribers: $wrk_out"
    [ -z "$sub_out" ] || bench_log "  $n subscribers: $sub_out"

    key=flows.run$round.$role
    requests=$(summary_field "$wrk_out" requests)
    result "$key.rps" "$(summary_field "$wrk_out" rps)"
    result "$key.errors" "$(wrk_errors "$wrk_out")"
    result "$key.cpu_s" "$(calc "$cpu_after - $cpu_before")"
    busy=$(core_busy_percent "$core_before" "$core_after")
    load_busy=$(core_busy_percent "$load_before" "$load_after")
    result "$key.core_busy_pct" "$busy"
    result "$key.load_core_busy_pct" "$load_busy"
    rps[$role]+=" $(summary_field "$wrk_out" rps)"
    errors[$role]+=" $(wrk_errors "$wrk_out")"
    core[$role]+=" $busy"
    load_core[$role]+=" $load_busy"
    [ "${requests:-0}" -eq 0 ] || cpu10k[$role]+=" $(calc "($cpu_after - $cpu_before) * 10000 / $requests" 4)"
    if [ -n "$sub_out" ]; then
        result "$key.events_per_s_each" "$(summary_field "$sub_out" events_per_s_each)"
        result "$key.events_per_s_min" "$(summary_field "$sub_out" events_per_s_min)"
        result "$key.produced_per_s" "$(summary_field "$sub_out" produced_per_s)"
        result "$key.missed" "$(summary_field "$sub_out" missed_total)"
        result "$key.gaps" "$(summary_field "$sub_out" gaps_total)"
        events_each[$role]+=" $(summary_field "$sub_out" events_per_s_each)"
        events_min[$role]+=" $(summary_field "$sub_out" events_per_s_min)"
        produced[$role]+=" $(summary_field "$sub_out" produced_per_s)"
        missed[$role]+=" $(summary_field "$sub_out" missed_total)"
    fi
}

bench_log "flows: $rounds rounds of 0, $many and 1 subscribers; each ${run_warmup}s warm-up, ${seconds}s measured"
for round in $(seq "$rounds"); do
    for role in "${roles[@]}"; do measure "$role" "$round"; done
done

sum() { printf '%s\n' "$@" | awk '{ s += $1 } END { print s + 0 }'; }
for role in "${roles[@]}"; do
    # shellcheck disable=SC2086  # the figures are space-separated on purpose
    {
        result "flows.$role.rps" "$(median ${rps[$role]})"
        [ -z "${cpu10k[$role]:-}" ] || result "flows.$role.cpu_s_per_10k" "$(median ${cpu10k[$role]})"
        result "flows.$role.core_busy_pct" "$(median ${core[$role]})"
        result "flows.$role.load_core_busy_pct" "$(median ${load_core[$role]})"
        result "flows.$role.errors" "$(sum ${errors[$role]})"
        if [ "$role" != none ]; then
            result "flows.$role.events_per_s_each" "$(median ${events_each[$role]})"
            result "flows.$role.events_per_s_min" "$(median ${events_min[$role]})"
            result "flows.$role.produced_per_s" "$(median ${produced[$role]})"
            result "flows.$role.missed" "$(sum ${missed[$role]})"
        fi
    }
done
result flows.subscribers "$many"
result flows.rounds "$rounds"
result flows.proxy.rss_kib "$(rss_kib "$PROXY_PID")"
stop_proxy
