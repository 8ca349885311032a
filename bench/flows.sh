#!/usr/bin/env bash
# The flows group: what watching flow events costs the data plane. One mproxyd serves the 1 KiB GET
# load (wrk, as get_1k.sh) while 0, 5 or 1 WatchFlows subscribers (bench_flow_subscriber) read every
# event; requests/s with 0 and with 5 subscribers, and the events/s one subscriber receives.
#
# Everything in one run and against one mproxyd process, in rounds of 0, 5 and 1 subscribers, so
# that a machine whose speed drifts (builds starting and stopping) weighs on each alike. The cost of
# the subscribers is the median over the rounds of each round's ratio (5 subscribers ÷ none, two runs
# a few seconds apart); the other figures are medians of their own.
#
# On two cores, the subscribers run on LOAD_CORE with wrk and nginx, and that core is the one that
# runs out first: what the subscribers' own processes cost would then decide the proxy's
# requests/s. So the headline runs hold mproxyd to BENCH_FLOWS_PROXY_CPU_PERCENT of its core (a
# cgroup CPU quota, 60 % by default), which makes mproxyd the bottleneck and its requests/s a
# measure of its own cost, gRPC threads included (they share the quota). A pair of runs without the
# quota (free_none, free_many) is reported beside it. Without cgroups (not root), the headline runs
# are unquoted too and the table says so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_BIN BENCH_TMP ORIGIN_PORT

seconds=${BENCH_FLOWS_SECONDS:-5}
warmup=${BENCH_GET_WARMUP_SECONDS:-2}
run_warmup=${BENCH_FLOWS_RUN_WARMUP_SECONDS:-1}
rounds=${BENCH_FLOWS_ROUNDS:-9}
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
[ "$many" -eq 0 ] || start_subscribers "$many" "$warmup" 0
run_wrk "$warmup" "$proxy_url" "$url" >/dev/null
[ "$many" -eq 0 ] || wait_subscribers
check_proxy_alive

# The runs of a round, by role: no subscriber, the many, and one (for the events/s of one), with
# mproxyd held to its CPU quota; then none and the many again without it.
roles=(none many one free_none free_many)
declare -A count_of=([none]=0 [many]=$many [one]=1 [free_none]=0 [free_many]=$many)
declare -A capped_role=([none]=1 [many]=1 [one]=1 [free_none]=0 [free_many]=0)
cap_percent=${BENCH_FLOWS_PROXY_CPU_PERCENT:-60}
if [ "$cap_percent" -gt 0 ] && cpu_cap "$PROXY_PID" "$cap_percent"; then
    cpu_uncap "$PROXY_PID"
else
    bench_log "flows: no CPU quota for mproxyd (cgroups not writable, or BENCH_FLOWS_PROXY_CPU_PERCENT=0): every run is unquoted"
    cap_percent=0
fi
result flows.proxy_cpu_percent "$cap_percent"
# Per role, the figures of every round (space-separated, for median); per pair, each round's ratio.
declare -A rps cpu10k core load_core events_each events_min produced missed errors bytes_each
rps_ratio=() cpu_ratio=() free_rps_ratio=() free_cpu_ratio=()
declare -A round_rps round_cpu

# measure ROLE ROUND: one measured run with count_of[ROLE] subscribers. The subscribers start with
# wrk's warm-up of run_warmup seconds and count from its end for `seconds`: the window of the
# measured wrk run, give or take wrk's start-up (milliseconds).
measure() {
    local role=$1 round=$2 n=${count_of[$1]} wrk_out sub_out="" cpu_before cpu_after core_before core_after busy
    local load_before load_after load_busy requests key
    if [ "$cap_percent" -gt 0 ] && [ "${capped_role[$role]}" = 1 ]; then
        cpu_cap "$PROXY_PID" "$cap_percent" || bench_die "could not put mproxyd under its CPU quota"
    else
        cpu_uncap "$PROXY_PID"
    fi
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
    bench_log "  $role ($n subscribers): $wrk_out"
    [ -z "$sub_out" ] || bench_log "  $role ($n subscribers): $sub_out"

    key=flows.run$round.$role
    requests=$(summary_field "$wrk_out" requests)
    result "$key.rps" "$(summary_field "$wrk_out" rps)"
    result "$key.errors" "$(wrk_errors "$wrk_out")"
    result "$key.cpu_s" "$(calc "$cpu_after - $cpu_before")"
    busy=$(core_busy_percent "$core_before" "$core_after")
    load_busy=$(core_busy_percent "$load_before" "$load_after")
    result "$key.core_busy_pct" "$busy"
    result "$key.load_core_busy_pct" "$load_busy"
    round_rps[$role]=$(summary_field "$wrk_out" rps)
    rps[$role]+=" ${round_rps[$role]}"
    errors[$role]+=" $(wrk_errors "$wrk_out")"
    core[$role]+=" $busy"
    load_core[$role]+=" $load_busy"
    round_cpu[$role]=""
    if [ "${requests:-0}" -gt 0 ]; then
        round_cpu[$role]=$(calc "($cpu_after - $cpu_before) * 10000 / $requests" 4)
        cpu10k[$role]+=" ${round_cpu[$role]}"
    fi
    if [ -n "$sub_out" ]; then
        result "$key.events_per_s_each" "$(summary_field "$sub_out" events_per_s_each)"
        result "$key.events_per_s_min" "$(summary_field "$sub_out" events_per_s_min)"
        result "$key.produced_per_s" "$(summary_field "$sub_out" produced_per_s)"
        result "$key.missed" "$(summary_field "$sub_out" missed_total)"
        result "$key.gaps" "$(summary_field "$sub_out" gaps_total)"
        result "$key.bytes_per_event" "$(summary_field "$sub_out" bytes_per_event)"
        events_each[$role]+=" $(summary_field "$sub_out" events_per_s_each)"
        events_min[$role]+=" $(summary_field "$sub_out" events_per_s_min)"
        produced[$role]+=" $(summary_field "$sub_out" produced_per_s)"
        missed[$role]+=" $(summary_field "$sub_out" missed_total)"
        bytes_each[$role]+=" $(summary_field "$sub_out" bytes_per_event)"
    fi
}

# ratio_of BASE OTHER: OTHER ÷ BASE in percent; nothing when a figure is missing.
ratio_of() { awk -v b="$1" -v o="$2" 'BEGIN { if (b > 0 && o != "") printf "%.1f", 100 * o / b }'; }
# add_ratio ARRAY NAME ROUND BASE OTHER: this round's ratio, recorded and appended to ARRAY.
add_ratio() {
    local -n into=$1
    local r
    r=$(ratio_of "$4" "$5")
    [ -n "$r" ] || return 0
    into+=("$r")
    result "flows.run$3.$2" "$r"
}

bench_log "flows: $rounds rounds of ${roles[*]}; each ${run_warmup}s warm-up, ${seconds}s measured; quota ${cap_percent} % of a core"
for round in $(seq "$rounds"); do
    for role in "${roles[@]}"; do measure "$role" "$round"; done
    add_ratio rps_ratio rps_ratio_pct "$round" "${round_rps[none]}" "${round_rps[many]}"
    add_ratio cpu_ratio cpu_ratio_pct "$round" "${round_cpu[none]}" "${round_cpu[many]}"
    add_ratio free_rps_ratio free_rps_ratio_pct "$round" "${round_rps[free_none]}" "${round_rps[free_many]}"
    add_ratio free_cpu_ratio free_cpu_ratio_pct "$round" "${round_cpu[free_none]}" "${round_cpu[free_many]}"
done
cpu_uncap "$PROXY_PID"

sum() { printf '%s\n' "$@" | awk '{ s += $1 } END { print s + 0 }'; }
for role in "${roles[@]}"; do
    # shellcheck disable=SC2086  # the figures are space-separated on purpose
    {
        result "flows.$role.rps" "$(median ${rps[$role]})"
        [ -z "${cpu10k[$role]:-}" ] || result "flows.$role.cpu_s_per_10k" "$(median ${cpu10k[$role]})"
        result "flows.$role.core_busy_pct" "$(median ${core[$role]})"
        result "flows.$role.load_core_busy_pct" "$(median ${load_core[$role]})"
        result "flows.$role.errors" "$(sum ${errors[$role]})"
        if [ "${count_of[$role]}" -gt 0 ]; then
            result "flows.$role.events_per_s_each" "$(median ${events_each[$role]})"
            result "flows.$role.events_per_s_min" "$(median ${events_min[$role]})"
            result "flows.$role.produced_per_s" "$(median ${produced[$role]})"
            result "flows.$role.missed" "$(sum ${missed[$role]})"
            result "flows.$role.bytes_per_event" "$(median ${bytes_each[$role]})"
        fi
    }
done
[ "${#rps_ratio[@]}" -eq 0 ] || result flows.rps_ratio_pct "$(median "${rps_ratio[@]}")"
[ "${#cpu_ratio[@]}" -eq 0 ] || result flows.cpu_ratio_pct "$(median "${cpu_ratio[@]}")"
[ "${#free_rps_ratio[@]}" -eq 0 ] || result flows.free_rps_ratio_pct "$(median "${free_rps_ratio[@]}")"
[ "${#free_cpu_ratio[@]}" -eq 0 ] || result flows.free_cpu_ratio_pct "$(median "${free_cpu_ratio[@]}")"
result flows.subscribers "$many"
result flows.rounds "$rounds"
result flows.proxy.rss_kib "$(rss_kib "$PROXY_PID")"
stop_proxy
