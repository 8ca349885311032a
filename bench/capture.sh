#!/usr/bin/env bash
# shellcheck disable=SC2153  # BENCH_BIN and the others come from run.sh
# Benchmark group "capture": what keeping intercepted exchanges costs. 1 KiB GETs over keep-alive
# HTTPS connections through mproxyd --connect-action mitm (bench_https_load), with the capture
#   off      --capture false (nothing kept: the path of traffic no capture policy covers),
#   headers  the default (fields of both heads, timings, sizes; no body bytes),
#   bodies   --capture-body-bytes 2048 (the 1 KiB response body too),
# each run ROUNDS times, alternating, one fresh mproxyd per run; requests/s and mproxy's
# CPU-seconds per 10,000 requests (medians), and the ratios against "off" from the same run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP BENCH_BIN

seconds=${BENCH_CAPTURE_SECONDS:-8}
warmup=${BENCH_CAPTURE_WARMUP_SECONDS:-2}
connections=${BENCH_CAPTURE_CONNECTIONS:-50}
rounds=${BENCH_CAPTURE_ROUNDS:-3}

dir=$BENCH_TMP/capture
mkdir -p "$dir/www"
head -c 1024 /dev/urandom >"$dir/www/1k"
start_tls_origin "$dir"
origin=127.0.0.1:$TLS_ORIGIN_PORT
origin_ca=$dir/origin-ca.pem
bench_log "HTTPS origin: nginx pid $TLS_ORIGIN_PID on $origin (core $LOAD_CORE)"

declare -A flags_of=([off]="--capture false" [headers]="" [bodies]="--capture-body-bytes 2048")
declare -A rps_runs cpu_runs

# run_one NAME ROUND: a fresh mproxyd with NAME's flags, warm-up, then the measured load.
run_one() {
    local name=$1 round=$2 state=$dir/state-$1-$2 out s requests cpu_before cpu
    # shellcheck disable=SC2086  # the flags are words
    start_proxy "capture-$name" --connect-action mitm --state-dir "$state" --upstream-ca "$origin_ca" ${flags_of[$name]}
    local args=(--target "$origin" --cafile "$state/ca.pem" --proxy "127.0.0.1:$PROXY_PORT" --connections "$connections")
    taskset -c "$LOAD_CORE" "$BENCH_BIN/bench_https_load" "${args[@]}" --duration "$warmup" >/dev/null 2>&1 ||
        bench_die "warm-up through mproxy ($name) failed"
    cpu_before=$(cpu_seconds "$PROXY_PID")
    out=$(timeout 120 taskset -c "$LOAD_CORE" "$BENCH_BIN/bench_https_load" "${args[@]}" --duration "$seconds" 2>"$dir/load.err") ||
        bench_die "bench_https_load ($name) failed: $(cat "$dir/load.err")"
    cpu=$(calc "$(cpu_seconds "$PROXY_PID") - $cpu_before")
    check_proxy_alive
    s=$(grep '^summary:' <<<"$out")
    requests=$(summary_field "$s" requests)
    [ "$(summary_field "$s" errors)" = 0 ] || bench_die "errors through mproxy ($name): $s"
    if [ "$name" != off ]; then
        local kept
        kept=$(sqlite3 "$state/captures.db" 'select count(*) from exchanges' 2>/dev/null || echo 0)
        bench_log "  $name round $round: $kept exchanges in the store after the run"
    fi
    stop_proxy 2>/dev/null
    rps_runs[$name]+="$(summary_field "$s" rps) "
    cpu_runs[$name]+="$(calc "$cpu * 10000 / $requests" 4) "
    bench_log "  $name round $round: $s cpu_s_per_10k=$(calc "$cpu * 10000 / $requests" 4)"
}

bench_log "capture: 1 KiB GETs through mitm, $connections connections, ${seconds}s each, $rounds rounds of off/headers/bodies"
for round in $(seq 1 "$rounds"); do
    for name in off headers bodies; do run_one "$name" "$round"; done
done
for name in off headers bodies; do
    # shellcheck disable=SC2086
    result "capture.$name.rps" "$(median ${rps_runs[$name]})"
    # shellcheck disable=SC2086
    result "capture.$name.cpu_s_per_10k" "$(median ${cpu_runs[$name]})"
done
# shellcheck disable=SC2086
off_rps=$(median ${rps_runs[off]}) off_cpu=$(median ${cpu_runs[off]})
for name in headers bodies; do
    # shellcheck disable=SC2086
    result "capture.$name.rps_vs_off" "$(calc "$(median ${rps_runs[$name]}) / $off_rps")"
    # shellcheck disable=SC2086
    result "capture.$name.cpu_vs_off" "$(calc "$(median ${cpu_runs[$name]}) / $off_cpu")"
done
