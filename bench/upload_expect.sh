#!/usr/bin/env bash
# shellcheck disable=SC2153  # BENCH_BIN and the others come from run.sh
# Benchmark 3: a 1 GiB upload with `Expect: 100-continue` (bench_upload_expect), straight to its
# in-process origin and through mproxy: time to the 100, the origin-to-client relay delay of the
# 100, total time; mproxy's CPU-seconds per GiB.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP BENCH_BIN

runs=${BENCH_UPLOAD_RUNS:-5}
size=${BENCH_UPLOAD_BYTES:-$((1 << 30))}

# upload LABEL [--proxy HOST:PORT]: runs the tool on LOAD_CORE; prints its summary line.
upload() {
    local label=$1 out rc=0
    shift
    out=$(taskset -c "$LOAD_CORE" "$BENCH_BIN/bench_upload_expect" --size "$size" --repeat "$runs" "$@") || rc=$?
    while IFS= read -r line; do echo "  $line"; done <<<"$out" >&2
    [ "$rc" = 0 ] || bench_log "upload $label: the tool exited with $rc (a run got no 100 or no 200)"
    grep '^summary:' <<<"$out" || bench_die "upload $label printed no summary"
}

report() {
    local s=$2 key keys=(ok got_100 head_to_origin_ms_median total_ms_median mib_per_s_median last_status)
    # Without a 100 there is no time to it.
    [ "$(summary_field "$s" got_100)" -gt 0 ] && keys+=(to_100_ms_median relay_ms_median relay_ms_max)
    for key in "${keys[@]}"; do
        result "upload.$1.$key" "$(summary_field "$s" "$key")"
    done
}

bench_log "upload $((size >> 20)) MiB with Expect: 100-continue, $runs runs direct"
direct=$(upload direct)
report direct "$direct"

start_proxy upload
bench_log "upload $((size >> 20)) MiB with Expect: 100-continue, $runs runs through mproxy"
cpu_before=$(cpu_seconds "$PROXY_PID")
core_before=$(core_jiffies "$PROXY_CORE")
started=$(date +%s.%N)
proxied=$(upload proxy --proxy "127.0.0.1:$PROXY_PORT")
elapsed=$(calc "$(date +%s.%N) - $started")
core_after=$(core_jiffies "$PROXY_CORE")
cpu_after=$(cpu_seconds "$PROXY_PID")
check_proxy_alive
report proxy "$proxied"
result upload.proxy.cpu_s_per_gib "$(calc "($cpu_after - $cpu_before) / $runs * $((1 << 30)) / $size")"
result upload.proxy.cpu_pct "$(calc "100 * ($cpu_after - $cpu_before) / $elapsed" 0)"
result upload.proxy.core_busy_pct "$(core_busy_percent "$core_before" "$core_after")"
stop_proxy
