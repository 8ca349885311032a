#!/usr/bin/env bash
# shellcheck disable=SC2153  # BENCH_BIN and the others come from run.sh
# Benchmark group "mitm": TLS interception (mproxyd --connect-action mitm) against the same HTTPS
# load sent straight to an HTTPS nginx, in five parts:
#   1. 1 KiB GETs over keep-alive HTTPS connections (bench_https_load): requests/s, p50/p99,
#      mproxy's CPU-seconds per 10,000 requests;
#   2. new TLS connections per second, one GET each (bench_https_load --new-connections);
#   3. a 10 MiB download (curl): MB/s, median of a few alternating runs;
#   4. the first handshake for a new name (mproxy mints a leaf) and a second one for the same name
#      (cached leaf), medians in ms (bench_https_load --probe);
#   5. a 100 MiB upload with `Expect: 100-continue` (curl -T to nginx's WebDAV PUT), total time.
# The HTTPS origin is a second nginx of its own (bench/nginx-tls.conf.in), with a throwaway CA and
# certificate made here with the openssl CLI. One mproxyd serves every part.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP BENCH_BIN

seconds=${BENCH_MITM_SECONDS:-10}
warmup=${BENCH_MITM_WARMUP_SECONDS:-2}
connections=${BENCH_MITM_CONNECTIONS:-50}
new_seconds=${BENCH_MITM_NEW_SECONDS:-5}
new_connections=${BENCH_MITM_NEW_CONNECTIONS:-10}
download_runs=${BENCH_MITM_DOWNLOAD_RUNS:-7}
probes=${BENCH_MITM_PROBES:-20}
upload_runs=${BENCH_MITM_UPLOAD_RUNS:-3}
upload_bytes=${BENCH_MITM_UPLOAD_BYTES:-$((100 << 20))}
download_bytes=$((10 << 20))

dir=$BENCH_TMP/mitm
mkdir -p "$dir/www"
head -c 1024 /dev/urandom >"$dir/www/1k"
head -c "$download_bytes" /dev/urandom >"$dir/www/10m"  # not sparse: nothing to gain for TLS, and honest
truncate -s "$upload_bytes" "$dir/upload.bin"
start_tls_origin "$dir"
origin=127.0.0.1:$TLS_ORIGIN_PORT
origin_ca=$dir/origin-ca.pem
bench_log "HTTPS origin: nginx pid $TLS_ORIGIN_PID on $origin (core $LOAD_CORE)"
curl -sSf --noproxy '*' --cacert "$origin_ca" -o /dev/null "https://localhost:$TLS_ORIGIN_PORT/1k" ||
    bench_die "the HTTPS origin does not serve /1k"

start_proxy mitm --connect-action mitm --state-dir "$dir/state" --upstream-ca "$origin_ca"
mitm_ca=$dir/state/ca.pem
[ -s "$mitm_ca" ] || bench_die "mproxyd made no CA at $mitm_ca"
proxy=127.0.0.1:$PROXY_PORT
curl -sSf --proxy "http://$proxy" --cacert "$mitm_ca" -o /dev/null "https://localhost:$TLS_ORIGIN_PORT/1k" ||
    bench_die "curl through mproxy (mitm) does not get /1k"

# load ARGS...: bench_https_load on LOAD_CORE; prints its summary line (errors are in it too).
load() {
    local out rc=0
    out=$(timeout 120 taskset -c "$LOAD_CORE" "$BENCH_BIN/bench_https_load" --target "$origin" "$@" 2>"$dir/load.err") ||
        rc=$?
    [ "$rc" = 0 ] || bench_log "bench_https_load $* exited with $rc: $(cat "$dir/load.err")"
    grep '^summary:' <<<"$out" || bench_die "bench_https_load printed no summary"
}
direct_args=(--cafile "$origin_ca")
proxy_args=(--cafile "$mitm_ca" --proxy "$proxy")

# measure_proxy KEY_PREFIX COMMAND...: runs the command (its stdout passes through) and records
# mproxyd's CPU over it in MEASURED_CPU and its core's busy percentage in MEASURED_CORE.
measure_proxy() {
    local cpu_before core_before
    cpu_before=$(cpu_seconds "$PROXY_PID")
    core_before=$(core_jiffies "$PROXY_CORE")
    "$@"
    MEASURED_CORE=$(core_busy_percent "$core_before" "$(core_jiffies "$PROXY_CORE")")
    MEASURED_CPU=$(calc "$(cpu_seconds "$PROXY_PID") - $cpu_before")
    check_proxy_alive
}

# --- 1. keep-alive GETs ------------------------------------------------------------------------
report_load() {
    local key=$1 s=$2
    result "$key.requests" "$(summary_field "$s" requests)"
    result "$key.rps" "$(summary_field "$s" rps)"
    result "$key.p50_ms" "$(calc "$(summary_field "$s" p50_us) / 1000")"
    result "$key.p99_ms" "$(calc "$(summary_field "$s" p99_us) / 1000")"
    result "$key.errors" "$(($(summary_field "$s" errors) + $(summary_field "$s" bad_status)))"
}

bench_log "mitm 1/5: 1 KiB GETs over HTTPS, $connections keep-alive connections, ${warmup}s warm-up, ${seconds}s measured"
load "${direct_args[@]}" --connections "$connections" --duration "$warmup" >/dev/null
s=$(load "${direct_args[@]}" --connections "$connections" --duration "$seconds")
bench_log "  direct: $s"
report_load mitm.get.direct "$s"
load "${proxy_args[@]}" --connections "$connections" --duration "$warmup" >/dev/null
measure_proxy load "${proxy_args[@]}" --connections "$connections" --duration "$seconds" >"$dir/out"
s=$(cat "$dir/out")
bench_log "  mitm:   $s"
report_load mitm.get.proxy "$s"
requests=$(summary_field "$s" requests)
result mitm.get.proxy.cpu_s "$MEASURED_CPU"
[ "${requests:-0}" -gt 0 ] && result mitm.get.proxy.cpu_s_per_10k "$(calc "$MEASURED_CPU * 10000 / $requests" 4)"
result mitm.get.proxy.cpu_pct "$(calc "100 * $MEASURED_CPU / $seconds" 0)"
result mitm.get.proxy.core_busy_pct "$MEASURED_CORE"

# --- 2. new connections ------------------------------------------------------------------------
bench_log "mitm 2/5: new TLS connections (one GET each), $new_connections at a time, ${new_seconds}s measured"
load "${direct_args[@]}" --new-connections --connections "$new_connections" --duration 1 >/dev/null
s=$(load "${direct_args[@]}" --new-connections --connections "$new_connections" --duration "$new_seconds")
bench_log "  direct: $s"
report_load mitm.new.direct "$s"
result mitm.new.direct.handshake_p50_ms "$(calc "$(summary_field "$s" handshake_p50_us) / 1000")"
load "${proxy_args[@]}" --new-connections --connections "$new_connections" --duration 1 >/dev/null
measure_proxy load "${proxy_args[@]}" --new-connections --connections "$new_connections" --duration "$new_seconds" >"$dir/out"
s=$(cat "$dir/out")
bench_log "  mitm:   $s"
report_load mitm.new.proxy "$s"
result mitm.new.proxy.handshake_p50_ms "$(calc "$(summary_field "$s" handshake_p50_us) / 1000")"
requests=$(summary_field "$s" requests)
[ "${requests:-0}" -gt 0 ] && result mitm.new.proxy.cpu_ms_per_conn "$(calc "$MEASURED_CPU * 1000 / $requests" 3)"
result mitm.new.proxy.cpu_pct "$(calc "100 * $MEASURED_CPU / $new_seconds" 0)"
result mitm.new.proxy.core_busy_pct "$MEASURED_CORE"

# --- 3. 10 MiB download ------------------------------------------------------------------------
# download CURL_ARGS...: prints the transfer's bytes per second (connect and handshake included).
download() {
    local out code bytes speed
    out=$(taskset -c "$LOAD_CORE" curl -sS --max-time 30 -o /dev/null \
        -w '%{http_code} %{size_download} %{speed_download}' "$@" "https://localhost:$TLS_ORIGIN_PORT/10m") ||
        bench_die "curl $* failed: $out"
    read -r code bytes speed <<<"$out"
    if [ "$code" != 200 ] || [ "$bytes" != "$download_bytes" ]; then bench_die "curl $*: status $code, $bytes bytes"; fi
    echo "$speed"
}
bench_log "mitm 3/5: 10 MiB HTTPS download, $download_runs runs each way, alternating"
download --noproxy '*' --cacert "$origin_ca" >/dev/null  # warm-up
download --proxy "http://$proxy" --cacert "$mitm_ca" >/dev/null
direct=()
proxied=()
cpu_before=$(cpu_seconds "$PROXY_PID")
for _ in $(seq "$download_runs"); do
    direct+=("$(download --noproxy '*' --cacert "$origin_ca")")
    proxied+=("$(download --proxy "http://$proxy" --cacert "$mitm_ca")")
done
cpu=$(calc "$(cpu_seconds "$PROXY_PID") - $cpu_before")
check_proxy_alive
bench_log "  direct B/s: ${direct[*]}"
bench_log "  mitm B/s:   ${proxied[*]}"
result mitm.download.direct.mb_s "$(calc "$(median "${direct[@]}") / 1000000" 1)"
result mitm.download.proxy.mb_s "$(calc "$(median "${proxied[@]}") / 1000000" 1)"
result mitm.download.proxy.cpu_s_per_gib "$(calc "$cpu / $download_runs * 1024 / 10")"

# --- 4. leaf minting: first handshake for a name, then a second one ---------------------------
bench_log "mitm 4/5: first and second TLS handshake for $probes new names each way"
s=$(load "${direct_args[@]}" --probe "$probes")
bench_log "  direct: $s"
result mitm.mint.direct.cold_ms "$(summary_field "$s" cold_ms_median)"
result mitm.mint.direct.cached_ms "$(summary_field "$s" cached_ms_median)"
result mitm.mint.direct.cold_minus_cached_ms "$(summary_field "$s" cold_minus_cached_ms_median)"
result mitm.mint.direct.errors "$(($(summary_field "$s" errors) + $(summary_field "$s" bad_status)))"
s=$(load "${proxy_args[@]}" --probe "$probes")
check_proxy_alive
bench_log "  mitm:   $s"
result mitm.mint.proxy.cold_ms "$(summary_field "$s" cold_ms_median)"
result mitm.mint.proxy.cached_ms "$(summary_field "$s" cached_ms_median)"
result mitm.mint.proxy.cold_minus_cached_ms "$(summary_field "$s" cold_minus_cached_ms_median)"
result mitm.mint.proxy.errors "$(($(summary_field "$s" errors) + $(summary_field "$s" bad_status)))"

# --- 5. 100 MiB upload with Expect: 100-continue -----------------------------------------------
# upload CURL_ARGS...: prints the seconds from start to the final response (WebDAV PUT: 201 or 204).
upload() {
    local out code bytes seconds
    out=$(taskset -c "$LOAD_CORE" curl -sS --max-time 60 -o /dev/null -T "$dir/upload.bin" \
        -H 'Expect: 100-continue' -w '%{http_code} %{size_upload} %{time_total}' "$@" \
        "https://localhost:$TLS_ORIGIN_PORT/put/upload.bin") || bench_die "curl -T $* failed: $out"
    read -r code bytes seconds <<<"$out"
    case $code in 201 | 204) ;; *) bench_die "curl -T $*: status $code" ;; esac
    [ "$bytes" = "$upload_bytes" ] || bench_die "curl -T $*: sent $bytes bytes of $upload_bytes"
    echo "$seconds"
}
bench_log "mitm 5/5: $((upload_bytes >> 20)) MiB upload with Expect: 100-continue, $upload_runs runs each way, alternating"
upload --noproxy '*' --cacert "$origin_ca" >/dev/null  # warm-up
direct=()
proxied=()
cpu_before=$(cpu_seconds "$PROXY_PID")
for _ in $(seq "$upload_runs"); do
    direct+=("$(upload --noproxy '*' --cacert "$origin_ca")")
    proxied+=("$(upload --proxy "http://$proxy" --cacert "$mitm_ca")")
done
cpu=$(calc "$(cpu_seconds "$PROXY_PID") - $cpu_before")
check_proxy_alive
bench_log "  direct s: ${direct[*]}"
bench_log "  mitm s:   ${proxied[*]}"
result mitm.upload.direct.seconds "$(median "${direct[@]}")"
result mitm.upload.proxy.seconds "$(median "${proxied[@]}")"
result mitm.upload.direct.mib_s "$(calc "$((upload_bytes >> 20)) / $(median "${direct[@]}")" 1)"
result mitm.upload.proxy.mib_s "$(calc "$((upload_bytes >> 20)) / $(median "${proxied[@]}")" 1)"
result mitm.upload.proxy.cpu_s_per_gib "$(calc "$cpu / $upload_runs * 1024 / $((upload_bytes >> 20))")"
result mitm.proxy.rss_kib "$(rss_kib "$PROXY_PID")"
stop_proxy
