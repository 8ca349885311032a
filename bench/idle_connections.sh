#!/usr/bin/env bash
# shellcheck disable=SC2153  # BENCH_BIN and the others come from run.sh
# Benchmark 4: RSS of mproxy before and after 10,000 idle client connections, in KiB per
# connection: connections that sent nothing yet, and connections idling in keep-alive after one
# GET. nginx's worker under the same load is the reference.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP BENCH_BIN ORIGIN_PORT ORIGIN_PID

count=${BENCH_IDLE_CONNECTIONS:-10000}

# measure LABEL PID TARGET [--get REQUEST_TARGET]: prints the tool's summary line.
measure() {
    local label=$1 pid=$2 target=$3 out rc=0
    shift 3
    out=$(taskset -c "$LOAD_CORE" "$BENCH_BIN/bench_idle_connections" --target "$target" --pid "$pid" \
        --count "$count" "$@") || rc=$?
    bench_log "  $label: $out"
    [ "$rc" = 0 ] || bench_log "idle $label: the tool exited with $rc (the server did not hold them all)"
    grep '^summary:' <<<"$out" || bench_die "idle $label printed no summary"
}

report() {
    local s=$2 key
    for key in kib_per_conn all_held held rss_before_kib rss_held_kib rss_after_close_kib open_ms; do
        result "idle.$1.$key" "$(summary_field "$s" "$key")"
    done
}

[ "$(ulimit -n)" -gt $((count + 100)) ] || bench_die "ulimit -n is $(ulimit -n): too low for $count connections"
worker=$(origin_worker_pid)

bench_log "$count idle connections, nothing sent"
direct=$(measure nginx "$worker" "127.0.0.1:$ORIGIN_PORT")
report direct "$direct"
start_proxy idle
proxied=$(measure mproxy "$PROXY_PID" "127.0.0.1:$PROXY_PORT")
report proxy "$proxied"
check_proxy_alive
stop_proxy

bench_log "$count idle keep-alive connections, after one 1 KiB GET each"
direct=$(measure nginx "$worker" "127.0.0.1:$ORIGIN_PORT" --get /1k)
report direct_keepalive "$direct"
start_proxy idle-keepalive
proxied=$(measure mproxy "$PROXY_PID" "127.0.0.1:$PROXY_PORT" --get "http://127.0.0.1:$ORIGIN_PORT/1k")
report proxy_keepalive "$proxied"
check_proxy_alive
stop_proxy
