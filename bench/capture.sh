#!/usr/bin/env bash
# shellcheck disable=SC2153  # BENCH_BIN and the others come from run.sh
# Benchmark group "capture": what keeping intercepted exchanges costs. 1 KiB GETs over keep-alive
# HTTPS connections through mproxyd --connect-action mitm (bench_https_load), with the capture
#   off      --capture false (nothing kept: the path of traffic no capture policy covers),
#   headers  the default (fields of both heads, timings, sizes; no body bytes),
#   bodies   --capture-body-bytes 2048 (the 1 KiB response body too),
# each run ROUNDS times, alternating, one fresh mproxyd per run; requests/s and mproxy's
# CPU-seconds per 10,000 requests (medians), and the ratios against "off" from the same run.
# With BENCH_CAPTURE_BASELINE_MPROXYD (an mproxyd built from the commit before the capture tap),
#   pretap   that binary, in the same rounds: "off" must be within noise of it.
# Then a 1 GiB download (curl through mproxyd in plain mode, from nginx) with --capture false
# against --capture-body-bytes 1048576 (the first MiB kept, the rest spliced), alternating runs:
# MiB/s (medians) and the ratio.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP BENCH_BIN ORIGIN_PORT

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

declare -A flags_of=([off]="--capture false" [headers]="" [bodies]="--capture-body-bytes 2048" [pretap]="")
variants=(off headers bodies)
baseline=${BENCH_CAPTURE_BASELINE_MPROXYD:-}
if [ -n "$baseline" ]; then
    [ -x "$baseline" ] || bench_die "BENCH_CAPTURE_BASELINE_MPROXYD=$baseline is not an executable"
    variants+=(pretap)
fi
declare -A rps_runs cpu_runs

# run_one NAME ROUND: a fresh mproxyd with NAME's flags, warm-up, then the measured load.
run_one() {
    local name=$1 round=$2 state=$dir/state-$1-$2 out s requests cpu_before cpu
    local binary=$MPROXYD
    [ "$name" != pretap ] || binary=$baseline
    # shellcheck disable=SC2086  # the flags are words
    MPROXYD=$binary start_proxy "capture-$name" --connect-action mitm --state-dir "$state" --upstream-ca "$origin_ca" ${flags_of[$name]}
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
    if [ "$name" = headers ] || [ "$name" = bodies ]; then
        local kept
        kept=$(sqlite3 "$state/captures.db" 'select count(*) from exchanges' 2>/dev/null || echo 0)
        bench_log "  $name round $round: $kept exchanges in the store after the run"
    fi
    stop_proxy 2>/dev/null
    rps_runs[$name]+="$(summary_field "$s" rps) "
    cpu_runs[$name]+="$(calc "$cpu * 10000 / $requests" 4) "
    bench_log "  $name round $round: $s cpu_s_per_10k=$(calc "$cpu * 10000 / $requests" 4)"
}

bench_log "capture: 1 KiB GETs through mitm, $connections connections, ${seconds}s each, $rounds rounds of ${variants[*]}"
for round in $(seq 1 "$rounds"); do
    for name in "${variants[@]}"; do run_one "$name" "$round"; done
done
for name in "${variants[@]}"; do
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
if [ -n "$baseline" ]; then
    # shellcheck disable=SC2086
    result capture.off.rps_vs_pretap "$(calc "$off_rps / $(median ${rps_runs[pretap]})")"
    # shellcheck disable=SC2086
    result capture.off.cpu_vs_pretap "$(calc "$off_cpu / $(median ${cpu_runs[pretap]})")"
fi

# The 1 GiB download: nginx's sparse file through mproxyd (absolute-form, plain mode).
gib_runs=${BENCH_CAPTURE_GIB_RUNS:-3}
url=http://127.0.0.1:$ORIGIN_PORT/1g
size=$((1 << 30))
gib_seconds() {
    local out code bytes seconds
    out=$(taskset -c "$LOAD_CORE" curl -sS --max-time 120 -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
        --proxy "http://127.0.0.1:$PROXY_PORT" "$url") || bench_die "curl through mproxy failed: $out"
    read -r code bytes seconds <<<"$out"
    [ "$code" = 200 ] && [ "$bytes" = "$size" ] || bench_die "1 GiB download: status $code, $bytes bytes instead of $size"
    echo "$seconds"
}
declare -A gib_of=([off]="--capture false" [capped]="--capture-body-bytes 1048576")
declare -A gib_runs_of
taskset -c "$LOAD_CORE" curl -sS --noproxy '*' -o /dev/null "$url" || bench_die "nginx does not serve /1g"  # page cache
for round in $(seq 1 "$gib_runs"); do
    for name in off capped; do
        # shellcheck disable=SC2086
        start_proxy "capture-gib-$name" --state-dir "$dir/gib-$name-$round" ${gib_of[$name]}
        gib_runs_of[$name]+="$(gib_seconds) "
        if [ "$name" = capped ]; then
            # The store commits within its batch wait (20 ms) of the exchange's end.
            kept=
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                kept=$(sqlite3 "$dir/gib-$name-$round/captures.db" 'select length(response_body) from exchanges where response_body is not null' 2>/dev/null | head -1)
                [ -z "$kept" ] || break
                sleep 0.1
            done
            [ "$kept" = 1048576 ] || bench_die "1 GiB with a 1 MiB cap: the store kept ${kept:-no} body bytes, not 1048576"
            bench_log "  1 GiB $name round $round: $kept body bytes kept (seconds so far: ${gib_runs_of[$name]})"
        fi
        check_proxy_alive
        stop_proxy 2>/dev/null
    done
done
for name in off capped; do
    # shellcheck disable=SC2086
    result "capture.gib_$name.mib_s" "$(calc "1024 / $(median ${gib_runs_of[$name]})" 1)"
done
# shellcheck disable=SC2086
result capture.gib_capped.vs_off "$(calc "$(median ${gib_runs_of[off]}) / $(median ${gib_runs_of[capped]})")"
