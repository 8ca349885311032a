#!/usr/bin/env bash
# Benchmark 1: 1 KiB GETs over 50 keep-alive connections (wrk), straight to nginx and through
# mproxy; requests/s, p50/p99 latency, and mproxy's CPU-seconds per 10,000 requests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP ORIGIN_PORT

seconds=${BENCH_GET_SECONDS:-10}
warmup=${BENCH_GET_WARMUP_SECONDS:-2}
connections=${BENCH_GET_CONNECTIONS:-50}
url=http://127.0.0.1:$ORIGIN_PORT/1k

# report LABEL SUMMARY: the result lines of one measured run.
report() {
    local s=$2
    result "get.$1.requests" "$(summary_field "$s" requests)"
    result "get.$1.rps" "$(summary_field "$s" rps)"
    result "get.$1.p50_ms" "$(calc "$(summary_field "$s" p50_us) / 1000")"
    result "get.$1.p99_ms" "$(calc "$(summary_field "$s" p99_us) / 1000")"
    result "get.$1.errors" "$(wrk_errors "$s")"
}

bench_log "GET 1 KiB direct: ${warmup}s warm-up, ${seconds}s measured, $connections connections"
run_wrk "$warmup" "$url" >/dev/null
direct=$(run_wrk "$seconds" "$url")
bench_log "  $direct"
report direct "$direct"

start_proxy get
proxy_url=http://127.0.0.1:$PROXY_PORT/1k
bench_log "GET 1 KiB through mproxy: ${warmup}s warm-up, ${seconds}s measured"
run_wrk "$warmup" "$proxy_url" "$url" >/dev/null
check_proxy_alive
cpu_before=$(cpu_seconds "$PROXY_PID")
core_before=$(core_jiffies "$PROXY_CORE")
proxied=$(run_wrk "$seconds" "$proxy_url" "$url")
core_after=$(core_jiffies "$PROXY_CORE")
cpu_after=$(cpu_seconds "$PROXY_PID")
check_proxy_alive
bench_log "  $proxied"
report proxy "$proxied"
requests=$(summary_field "$proxied" requests)
result get.proxy.cpu_s "$(calc "$cpu_after - $cpu_before")"
if [ "${requests:-0}" -gt 0 ]; then
    result get.proxy.cpu_s_per_10k "$(calc "($cpu_after - $cpu_before) * 10000 / $requests" 4)"
fi
result get.proxy.cpu_pct "$(calc "100 * ($cpu_after - $cpu_before) / $(summary_field "$proxied" seconds)" 0)"
result get.proxy.core_busy_pct "$(core_busy_percent "$core_before" "$core_after")"
result get.proxy.rss_kib "$(rss_kib "$PROXY_PID")"
stop_proxy
