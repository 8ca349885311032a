#!/usr/bin/env bash
# Benchmark 2: a 1 GiB download (curl from nginx) straight and through a CONNECT tunnel of
# mproxy (curl --proxytunnel); MiB/s, the median of a few alternating runs after one warm-up
# download, and mproxy's CPU-seconds per GiB relayed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env MPROXYD BENCH_TMP ORIGIN_PORT

runs=${BENCH_TUNNEL_RUNS:-3}
url=http://127.0.0.1:$ORIGIN_PORT/1g
size=$((1 << 30))

# download [curl proxy options...]: prints the seconds one 1 GiB transfer took.
download() {
    local out code connect_code bytes seconds
    out=$(taskset -c "$LOAD_CORE" curl -sS --max-time 120 -o /dev/null \
        -w '%{http_code} %{http_connect} %{size_download} %{time_total}' "$@" "$url") ||
        bench_die "curl $* failed: $out"
    read -r code connect_code bytes seconds <<<"$out"
    if [ "$code" != 200 ] || [ "$bytes" != "$size" ]; then
        bench_die "curl $*: status $code (CONNECT $connect_code), $bytes bytes instead of $size"
    fi
    echo "$seconds"
}

start_proxy tunnel --connect-action tunnel
download --noproxy '*' >/dev/null  # warm-up: the first read of the file fills the page cache
direct=()
proxied=()
cpu_total=0
core_busy=()
for i in $(seq "$runs"); do
    direct+=("$(download --noproxy '*')")
    cpu_before=$(cpu_seconds "$PROXY_PID")
    core_before=$(core_jiffies "$PROXY_CORE")
    proxied+=("$(download --proxytunnel --proxy "http://127.0.0.1:$PROXY_PORT")")
    core_busy+=("$(core_busy_percent "$core_before" "$(core_jiffies "$PROXY_CORE")")")
    cpu_after=$(cpu_seconds "$PROXY_PID")
    check_proxy_alive
    cpu_total=$(calc "$cpu_total + $cpu_after - $cpu_before")
    bench_log "tunnel run $i: direct ${direct[-1]} s, through mproxy ${proxied[-1]} s"
done
result tunnel.direct.seconds "$(median "${direct[@]}")"
result tunnel.proxy.seconds "$(median "${proxied[@]}")"
result tunnel.direct.mib_s "$(calc "1024 / $(median "${direct[@]}")" 1)"
result tunnel.proxy.mib_s "$(calc "1024 / $(median "${proxied[@]}")" 1)"
result tunnel.proxy.cpu_s_per_gib "$(calc "$cpu_total / $runs")"
total_seconds=$(calc "$(printf '%s + ' "${proxied[@]}") 0")
result tunnel.proxy.cpu_pct "$(calc "100 * $cpu_total / $total_seconds" 0)"
result tunnel.proxy.core_busy_pct "$(median "${core_busy[@]}")"
result tunnel.proxy.rss_kib "$(rss_kib "$PROXY_PID")"
stop_proxy
