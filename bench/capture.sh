#!/usr/bin/env bash
# shellcheck disable=SC2153  # BENCH_BIN and the others come from run.sh
# Benchmark group "capture": what keeping intercepted exchanges costs. 1 KiB GETs over keep-alive
# HTTPS connections through mproxyd --connect-action mitm (bench_https_load), with the capture
#   off      --capture false (nothing kept: the path of traffic no capture policy covers),
#   headers  the default (fields of both heads, timings, sizes; no body bytes),
#   bodies   --capture-body-bytes 2048 (the 1 KiB response body too).
# One mproxyd per variant runs throughout (all on the proxy core, idle while not loaded), and the
# load goes to each in turn, in short slices, ROUNDS times: requests and mproxy's CPU-seconds are
# summed per variant over its slices, so that the machine's drift (on a shared host, the same
# load has been seen to cost twice the CPU from one minute to the next) falls on every variant
# alike; requests/s and CPU-seconds per 10,000 requests, and the ratios against "off".
# The stores fill as they would in use: a run long enough reaches the budget and evicts.
# With BENCH_CAPTURE_BASELINE_MPROXYD (an mproxyd built from the commit before the capture tap),
#   pretap   that binary, in the same rounds: "off" must be within noise of it.
# Then a 1 GiB download (curl through mproxyd in plain mode, from nginx) with --capture false
# against --capture-body-bytes 1048576 (the first MiB kept, the rest spliced), alternating runs:
# MiB/s (medians) and the ratio.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP BENCH_BIN ORIGIN_PORT

seconds=${BENCH_CAPTURE_SECONDS:-2}  # one slice
warmup=${BENCH_CAPTURE_WARMUP_SECONDS:-2}
connections=${BENCH_CAPTURE_CONNECTIONS:-50}
rounds=${BENCH_CAPTURE_ROUNDS:-20}

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
declare -A pid_of port_of requests_of cpu_of

for name in "${variants[@]}"; do
    binary=$MPROXYD
    [ "$name" != pretap ] || binary=$baseline
    # shellcheck disable=SC2086  # the flags are words
    MPROXYD=$binary start_proxy "capture-$name" --connect-action mitm --state-dir "$dir/state-$name" \
        --upstream-ca "$origin_ca" ${flags_of[$name]}
    pid_of[$name]=$PROXY_PID port_of[$name]=$PROXY_PORT requests_of[$name]=0 cpu_of[$name]=0
done

# load NAME SECONDS: 1 KiB GETs through NAME's proxy; prints the summary line.
load() {
    local name=$1 out
    out=$(timeout 120 taskset -c "$LOAD_CORE" "$BENCH_BIN/bench_https_load" --target "$origin" \
        --cafile "$dir/state-$name/ca.pem" --proxy "127.0.0.1:${port_of[$name]}" \
        --connections "$connections" --duration "$2" 2>"$dir/load.err") ||
        bench_die "bench_https_load ($name) failed: $(cat "$dir/load.err")"
    grep '^summary:' <<<"$out"
}

for name in "${variants[@]}"; do load "$name" "$warmup" >/dev/null; done
bench_log "capture: 1 KiB GETs through mitm, $connections connections, $rounds rounds of ${seconds}s slices of ${variants[*]}"
for round in $(seq 1 "$rounds"); do
    for name in "${variants[@]}"; do
        cpu_before=$(cpu_seconds "${pid_of[$name]}")
        s=$(load "$name" "$seconds")
        cpu=$(calc "$(cpu_seconds "${pid_of[$name]}") - $cpu_before")
        kill -0 "${pid_of[$name]}" 2>/dev/null || bench_die "mproxyd ($name) exited during the benchmark"
        [ "$(summary_field "$s" errors)" = 0 ] || bench_die "errors through mproxy ($name): $s"
        requests=$(summary_field "$s" requests)
        requests_of[$name]=$((${requests_of[$name]} + requests))
        cpu_of[$name]=$(calc "${cpu_of[$name]} + $cpu" 2)
        bench_log "  $name round $round: $s cpu_s_per_10k=$(calc "$cpu * 10000 / $requests" 4)"
    done
done
for name in headers bodies; do
    kept=$(sqlite3 "$dir/state-$name/captures.db" 'select count(*) from exchanges' 2>/dev/null || echo 0)
    bench_log "  $name: $kept exchanges in the store after the run (${requests_of[$name]} requests)"
done
total_seconds=$((rounds * seconds))
declare -A rps cpu_per_10k
for name in "${variants[@]}"; do
    rps[$name]=$(calc "${requests_of[$name]} / $total_seconds" 1)
    cpu_per_10k[$name]=$(calc "${cpu_of[$name]} * 10000 / ${requests_of[$name]}" 4)
    result "capture.$name.rps" "${rps[$name]}"
    result "capture.$name.cpu_s_per_10k" "${cpu_per_10k[$name]}"
done
for name in headers bodies; do
    result "capture.$name.rps_vs_off" "$(calc "${rps[$name]} / ${rps[off]}")"
    result "capture.$name.cpu_vs_off" "$(calc "${cpu_per_10k[$name]} / ${cpu_per_10k[off]}")"
done
if [ -n "$baseline" ]; then
    result capture.off.rps_vs_pretap "$(calc "${rps[off]} / ${rps[pretap]}")"
    result capture.off.cpu_vs_pretap "$(calc "${cpu_per_10k[off]} / ${cpu_per_10k[pretap]}")"
fi
for name in "${variants[@]}"; do stop_pid "${pid_of[$name]}"; done

# The 1 GiB download: nginx's sparse file through mproxyd (absolute-form, plain mode).
gib_runs=${BENCH_CAPTURE_GIB_RUNS:-5}
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
