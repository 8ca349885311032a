#!/usr/bin/env bash
# Runs mproxy's benchmarks, each next to the same load sent straight to the origin, prints the
# results table and writes it to bench/results/YYYY-MM-DD-HOSTNAME.md.
#
#   bench/run.sh [get] [tunnel] [upload] [idle] [mitm] [flows] [capture]   (no argument: all)
#
# Installs nginx and wrk if missing, builds mproxyd and the bench tools (Release, in build-bench/),
# starts nginx as the origin, and stops every process it started when it exits. See
# bench/README.md for what each figure means and the variables that change durations.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
source "$BENCH_DIR/lib.sh"

declare -A script_of=([get]=get_1k.sh [tunnel]=tunnel_1g.sh [upload]=upload_expect.sh [idle]=idle_connections.sh [mitm]=mitm.sh [flows]=flows.sh [capture]=capture.sh)
all=(get tunnel upload idle mitm flows capture)
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${all[@]}")
for name in "${selected[@]}"; do
    [ -n "${script_of[$name]:-}" ] || bench_die "unknown benchmark '$name' (get, tunnel, upload, idle, mitm, flows, capture)"
done

# --- dependencies and build -------------------------------------------------------------------
MPROXY_BENCH_DEPS=1 "$ROOT/scripts/install-deps.sh" >&2

# A build tree of its own, so that a Debug or sanitizer configuration in build/ never gets measured.
# MPROXYD=/path/to/mproxyd measures that binary instead and builds only the bench tools.
build_dir=${BENCH_BUILD_DIR:-$ROOT/build-bench}
mkdir -p "$build_dir"
if [ -z "${MPROXYD:-}" ]; then
    bench_log "building mproxyd and the bench tools (Release) in ${build_dir#"$ROOT"/}"
    cmake -S "$ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPROXY_SANITIZE=OFF \
        -DMPROXY_TESTS=OFF >"$build_dir/cmake.log" 2>&1 || {
        cat "$build_dir/cmake.log" >&2
        bench_die "cmake failed"
    }
    ninja -C "$build_dir" mproxyd >&2 || bench_die "mproxyd does not build"
    MPROXYD=$build_dir/server/mproxyd
fi
if [ "$MPROXYD" = "$build_dir/server/mproxyd" ] && grep -q '^ *add_subdirectory(bench)' "$ROOT/CMakeLists.txt"; then
    ninja -C "$build_dir" bench_tools >&2
    BENCH_BIN=$build_dir/bench
else  # the tools on their own: bench/ not wired into the project yet, or no project build
    cmake -S "$BENCH_DIR" -B "$build_dir/bench-standalone" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$build_dir/bench-standalone" bench_tools >&2
    BENCH_BIN=$build_dir/bench-standalone
fi
[ -x "$MPROXYD" ] || bench_die "no mproxyd at $MPROXYD"

# --- the run ----------------------------------------------------------------------------------
# On a shared machine, BENCH_NICE=-10 (root) keeps niced builds from taking the benchmark's cores.
if [ -n "${BENCH_NICE:-}" ]; then renice -n "$BENCH_NICE" -p $$ >/dev/null || bench_die "renice $BENCH_NICE failed"; fi
ulimit -n "$(ulimit -Hn)"  # 10,000 connections on each side of the idle benchmark
mkdir -p "$BENCH_DIR/results/tmp"
BENCH_TMP=$(mktemp -d "$BENCH_DIR/results/tmp/run.XXXXXX")
run_cleanup() {
    bench_cleanup
    if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then bench_log "kept $BENCH_TMP"; else rm -rf "$BENCH_TMP"; fi
}
trap run_cleanup EXIT

start_origin
export MPROXYD BENCH_BIN BENCH_TMP ORIGIN_PORT ORIGIN_PID BENCH_PROXY_CORE=$PROXY_CORE BENCH_LOAD_CORE=$LOAD_CORE
bench_log "origin: nginx pid $ORIGIN_PID on 127.0.0.1:$ORIGIN_PORT (core $LOAD_CORE); mproxyd on core $PROXY_CORE"

results=$BENCH_TMP/results.txt
: >"$results"
started=$(date +%s)
for name in "${selected[@]}"; do
    busy=$(wait_quiet)
    result "busy_before.$name" "$busy" >>"$results"
    [ "$busy" -le "${BENCH_QUIET_MAX:-15}" ] ||
        bench_log "warning: a core is $busy % busy with other work before '$name': its figures are skewed"
    # Each benchmark is bounded; a failed one is reported and the others still run. It runs in the
    # background so that, should this script be stopped, the cleanup can stop it (and it, its proxy).
    timeout --foreground -s TERM "${BENCH_STEP_TIMEOUT:-600}" bash "$BENCH_DIR/${script_of[$name]}" >>"$results" &
    step_pid=$!
    track_pid "$step_pid"
    if ! wait "$step_pid"; then
        bench_log "benchmark '$name' failed"
        result "failed.$name" 1 >>"$results"
    fi
done
elapsed=$(($(date +%s) - started))

# --- the table --------------------------------------------------------------------------------
declare -A R
while read -r tag key value; do
    [ "$tag" = result ] && R[$key]=$value
done <"$results"

val() { echo "${R[$1]:-—}"; }
has() { [ -n "${R[$1]:-}" ]; }
# pct DIRECT_KEY PROXY_KEY: mproxy as a percentage of direct.
pct() { if has "$1" && has "$2" && awk "BEGIN { exit !(${R[$1]} > 0) }"; then echo "$(calc "100 * ${R[$2]} / ${R[$1]}" 1) %"; else echo "—"; fi; }
# verdict EXPRESSION: "yes"/"**no**" for an awk condition over figures, "—" when one is missing.
verdict() {
    local expr=$1 key
    for key in "${@:2}"; do has "$key" || {
        echo "—"
        return
    }; done
    if awk "BEGIN { exit !($expr) }"; then echo yes; else echo "**no**"; fi
}
failed() { has "failed.$1" && echo " (**failed**: see the log)"; }
# held PREFIX: the count of connections the server held, when it did not hold them all.
held() { [ "${R[$1.all_held]:-1}" = 0 ] && echo " (held only ${R[$1.held]:-?})"; }

conns=${BENCH_GET_CONNECTIONS:-50}
idle_n=${BENCH_IDLE_CONNECTIONS:-10000}
mitm_conns=${BENCH_MITM_CONNECTIONS:-50}
mitm_new_conns=${BENCH_MITM_NEW_CONNECTIONS:-10}
mitm_upload_mib=$(((${BENCH_MITM_UPLOAD_BYTES:-$((100 << 20))}) >> 20))
subs=${BENCH_FLOWS_SUBSCRIBERS:-5}
table=$BENCH_TMP/table.md
{
    echo "| measurement | direct | via mproxy | mproxy ÷ direct | target | met |"
    echo "|---|---:|---:|---:|---|---|"
    if [[ " ${selected[*]} " == *" get "* ]]; then
        echo "| 1 KiB GET, $conns keep-alive conns: requests/s$(failed get) | $(val get.direct.rps) | $(val get.proxy.rps) | $(pct get.direct.rps get.proxy.rps) | ≥ 90 % of direct | $(verdict "${R[get.proxy.rps]:-0} >= 0.9 * ${R[get.direct.rps]:-0}" get.direct.rps get.proxy.rps) |"
        echo "| … p50 latency, ms | $(val get.direct.p50_ms) | $(val get.proxy.p50_ms) | $(pct get.direct.p50_ms get.proxy.p50_ms) | | |"
        echo "| … p99 latency, ms | $(val get.direct.p99_ms) | $(val get.proxy.p99_ms) | $(pct get.direct.p99_ms get.proxy.p99_ms) | | |"
        echo "| … mproxy CPU-s per 10,000 requests | | $(val get.proxy.cpu_s_per_10k) | | ≤ 0.20 | $(verdict "${R[get.proxy.cpu_s_per_10k]:-0} <= 0.20" get.proxy.cpu_s_per_10k) |"
        echo "| … mproxy's core busy, %: mproxyd's CPU / the core's | | $(val get.proxy.cpu_pct) / $(val get.proxy.core_busy_pct) | | | |"
        echo "| … failed requests (socket errors, non-2xx) | $(val get.direct.errors) | $(val get.proxy.errors) | | 0 | $(verdict "${R[get.proxy.errors]:-0} == 0" get.proxy.errors) |"
    fi
    if [[ " ${selected[*]} " == *" tunnel "* ]]; then
        echo "| CONNECT tunnel, 1 GiB download: MiB/s$(failed tunnel) | $(val tunnel.direct.mib_s) | $(val tunnel.proxy.mib_s) | $(pct tunnel.direct.mib_s tunnel.proxy.mib_s) | ≥ 95 % of direct | $(verdict "${R[tunnel.proxy.mib_s]:-0} >= 0.95 * ${R[tunnel.direct.mib_s]:-0}" tunnel.direct.mib_s tunnel.proxy.mib_s) |"
        echo "| … mproxy CPU-s per GiB | | $(val tunnel.proxy.cpu_s_per_gib) | | | |"
        echo "| … mproxy's core busy, %: mproxyd's CPU / the core's | | $(val tunnel.proxy.cpu_pct) / $(val tunnel.proxy.core_busy_pct) | | | |"
    fi
    if [[ " ${selected[*]} " == *" upload "* ]]; then
        echo "| 1 GiB upload, Expect: 100-continue: runs that got the 100$(failed upload) | $(val upload.direct.got_100) | $(val upload.proxy.got_100) | | all | $(verdict "${R[upload.proxy.got_100]:-0} == ${R[upload.proxy.ok]:-0} && ${R[upload.proxy.ok]:-0} > 0" upload.proxy.got_100 upload.proxy.ok) |"
        echo "| … head sent → 100 received, ms (median) | $(val upload.direct.to_100_ms_median) | $(val upload.proxy.to_100_ms_median) | | | |"
        echo "| … origin sent 100 → client has it, ms (median) | $(val upload.direct.relay_ms_median) | $(val upload.proxy.relay_ms_median) | | ≤ 2 ms | $(verdict "${R[upload.proxy.relay_ms_median]:-0} <= 2" upload.proxy.relay_ms_median) |"
        echo "| … origin sent 100 → client has it, ms (max) | $(val upload.direct.relay_ms_max) | $(val upload.proxy.relay_ms_max) | | ≤ 2 ms | $(verdict "${R[upload.proxy.relay_ms_max]:-0} <= 2" upload.proxy.relay_ms_max) |"
        echo "| … total time, ms (median) | $(val upload.direct.total_ms_median) | $(val upload.proxy.total_ms_median) | $(pct upload.direct.total_ms_median upload.proxy.total_ms_median) | | |"
        echo "| … MiB/s (median) | $(val upload.direct.mib_per_s_median) | $(val upload.proxy.mib_per_s_median) | $(pct upload.direct.mib_per_s_median upload.proxy.mib_per_s_median) | | |"
        echo "| … mproxy CPU-s per GiB | | $(val upload.proxy.cpu_s_per_gib) | | | |"
        echo "| … mproxy's core busy, %: mproxyd's CPU / the core's | | $(val upload.proxy.cpu_pct) / $(val upload.proxy.core_busy_pct) | | | |"
    fi
    if [[ " ${selected[*]} " == *" idle "* ]]; then
        echo "| $idle_n idle connections (nothing sent): KiB each$(failed idle) | $(val idle.direct.kib_per_conn)$(held idle.direct) | $(val idle.proxy.kib_per_conn)$(held idle.proxy) | | ≤ 32 KiB | $(verdict "${R[idle.proxy.kib_per_conn]:-0} <= 32 && ${R[idle.proxy.all_held]:-0} == 1" idle.proxy.kib_per_conn) |"
        echo "| $idle_n idle keep-alive connections (after one GET): KiB each | $(val idle.direct_keepalive.kib_per_conn)$(held idle.direct_keepalive) | $(val idle.proxy_keepalive.kib_per_conn)$(held idle.proxy_keepalive) | | ≤ 32 KiB | $(verdict "${R[idle.proxy_keepalive.kib_per_conn]:-0} <= 32 && ${R[idle.proxy_keepalive.all_held]:-0} == 1" idle.proxy_keepalive.kib_per_conn) |"
    fi
    if [[ " ${selected[*]} " == *" mitm "* ]]; then
        echo "| **TLS interception (mitm)**: 1 KiB GET over HTTPS, $mitm_conns keep-alive conns: requests/s$(failed mitm) | $(val mitm.get.direct.rps) | $(val mitm.get.proxy.rps) | $(pct mitm.get.direct.rps mitm.get.proxy.rps) | ≥ 85 % of direct | $(verdict "${R[mitm.get.proxy.rps]:-0} >= 0.85 * ${R[mitm.get.direct.rps]:-0}" mitm.get.direct.rps mitm.get.proxy.rps) |"
        echo "| … p50 latency, ms | $(val mitm.get.direct.p50_ms) | $(val mitm.get.proxy.p50_ms) | $(pct mitm.get.direct.p50_ms mitm.get.proxy.p50_ms) | | |"
        echo "| … p99 latency, ms | $(val mitm.get.direct.p99_ms) | $(val mitm.get.proxy.p99_ms) | $(pct mitm.get.direct.p99_ms mitm.get.proxy.p99_ms) | | |"
        echo "| … mproxy CPU-s per 10,000 requests | | $(val mitm.get.proxy.cpu_s_per_10k) | | ≤ 0.30 | $(verdict "${R[mitm.get.proxy.cpu_s_per_10k]:-0} <= 0.30" mitm.get.proxy.cpu_s_per_10k) |"
        echo "| … mproxy's core busy, %: mproxyd's CPU / the core's | | $(val mitm.get.proxy.cpu_pct) / $(val mitm.get.proxy.core_busy_pct) | | | |"
        echo "| … failed requests (errors, non-200) | $(val mitm.get.direct.errors) | $(val mitm.get.proxy.errors) | | 0 | $(verdict "${R[mitm.get.proxy.errors]:-0} == 0" mitm.get.proxy.errors) |"
        echo "| mitm: new TLS connections/s (one GET each, $mitm_new_conns at a time) | $(val mitm.new.direct.rps) | $(val mitm.new.proxy.rps) | $(pct mitm.new.direct.rps mitm.new.proxy.rps) | | |"
        echo "| … connect → handshake done, ms (p50) | $(val mitm.new.direct.handshake_p50_ms) | $(val mitm.new.proxy.handshake_p50_ms) | | | |"
        echo "| … mproxy CPU-ms per connection; core busy, % | | $(val mitm.new.proxy.cpu_ms_per_conn); $(val mitm.new.proxy.cpu_pct) / $(val mitm.new.proxy.core_busy_pct) | | | |"
        echo "| … failed connections | $(val mitm.new.direct.errors) | $(val mitm.new.proxy.errors) | | 0 | $(verdict "${R[mitm.new.proxy.errors]:-0} == 0" mitm.new.proxy.errors) |"
        echo "| mitm: 10 MiB HTTPS download, MB/s (median) | $(val mitm.download.direct.mb_s) | $(val mitm.download.proxy.mb_s) | $(pct mitm.download.direct.mb_s mitm.download.proxy.mb_s) | ≥ 450 MB/s | $(verdict "${R[mitm.download.proxy.mb_s]:-0} >= 450" mitm.download.proxy.mb_s) |"
        echo "| … mproxy CPU-s per GiB | | $(val mitm.download.proxy.cpu_s_per_gib) | | | |"
        echo "| mitm: first handshake for a new name (leaf minted), ms (median) | $(val mitm.mint.direct.cold_ms) | $(val mitm.mint.proxy.cold_ms) | | | |"
        echo "| … second handshake, same name (leaf cached), ms (median) | $(val mitm.mint.direct.cached_ms) | $(val mitm.mint.proxy.cached_ms) | | | |"
        echo "| … first − second, ms (median): the mint | $(val mitm.mint.direct.cold_minus_cached_ms) | $(val mitm.mint.proxy.cold_minus_cached_ms) | | < 2 ms | $(verdict "${R[mitm.mint.proxy.cold_minus_cached_ms]:-0} < 2 && ${R[mitm.mint.proxy.errors]:-1} == 0" mitm.mint.proxy.cold_minus_cached_ms) |"
        echo "| mitm: $mitm_upload_mib MiB HTTPS upload, Expect: 100-continue: total s (median) | $(val mitm.upload.direct.seconds) | $(val mitm.upload.proxy.seconds) | $(pct mitm.upload.direct.seconds mitm.upload.proxy.seconds) | ≤ 150 % of direct | $(verdict "${R[mitm.upload.proxy.seconds]:-0} <= 1.5 * ${R[mitm.upload.direct.seconds]:-0}" mitm.upload.direct.seconds mitm.upload.proxy.seconds) |"
        echo "| … MiB/s; mproxy CPU-s per GiB | $(val mitm.upload.direct.mib_s) | $(val mitm.upload.proxy.mib_s); $(val mitm.upload.proxy.cpu_s_per_gib) | | | |"
    fi
    if [[ " ${selected[*]} " == *" capture "* ]]; then
        echo "| **capture**: 1 KiB GET over HTTPS through mitm, 50 conns: requests/s, headers kept (direct column: capture off)$(failed capture) | $(val capture.off.rps) | $(val capture.headers.rps) | $(pct capture.off.rps capture.headers.rps) | | |"
        echo "| … mproxy CPU-s per 10,000 requests, headers kept vs off | $(val capture.off.cpu_s_per_10k) | $(val capture.headers.cpu_s_per_10k) | $(pct capture.off.cpu_s_per_10k capture.headers.cpu_s_per_10k) | ≤ 120 % of off | $(verdict "${R[capture.headers.cpu_s_per_10k]:-0} <= 1.2 * ${R[capture.off.cpu_s_per_10k]:-0}" capture.headers.cpu_s_per_10k) |"
        echo "| … requests/s, headers and 1 KiB bodies kept vs off | $(val capture.off.rps) | $(val capture.bodies.rps) | $(pct capture.off.rps capture.bodies.rps) | ≥ 85 % of off | $(verdict "${R[capture.bodies.rps]:-0} >= 0.85 * ${R[capture.off.rps]:-0}" capture.bodies.rps) |"
        echo "| … mproxy CPU-s per 10,000 requests, headers and bodies vs off | $(val capture.off.cpu_s_per_10k) | $(val capture.bodies.cpu_s_per_10k) | $(pct capture.off.cpu_s_per_10k capture.bodies.cpu_s_per_10k) | ≤ 140 % of off | $(verdict "${R[capture.bodies.cpu_s_per_10k]:-0} <= 1.4 * ${R[capture.off.cpu_s_per_10k]:-0}" capture.bodies.cpu_s_per_10k) |"
        if [ -n "${R[capture.pretap.rps]:-}" ]; then
            echo "| … requests/s, capture off vs the code before the tap (direct column: before the tap) | $(val capture.pretap.rps) | $(val capture.off.rps) | $(pct capture.pretap.rps capture.off.rps) | within noise | |"
            echo "| … mproxy CPU-s per 10,000 requests, capture off vs before the tap | $(val capture.pretap.cpu_s_per_10k) | $(val capture.off.cpu_s_per_10k) | $(pct capture.pretap.cpu_s_per_10k capture.off.cpu_s_per_10k) | within noise | |"
        fi
        echo "| **capture**: 1 GiB download through mproxy (plain), MiB/s, 1 MiB body cap (direct column: capture off) | $(val capture.gib_off.mib_s) | $(val capture.gib_capped.mib_s) | $(pct capture.gib_off.mib_s capture.gib_capped.mib_s) | ≥ 95 % of off | $(verdict "${R[capture.gib_capped.mib_s]:-0} >= 0.95 * ${R[capture.gib_off.mib_s]:-0}" capture.gib_capped.mib_s) |"
    fi
    if [[ " ${selected[*]} " == *" flows "* ]]; then
        quota=${R[flows.proxy_cpu_percent]:-0}
        if [ "$quota" -gt 0 ]; then under="mproxyd held to $quota % of its core"; else under="no CPU quota (cgroups not writable)"; fi
        echo "| **flow events**: 1 KiB GET through mproxy, $conns conns, $under: requests/s with 0 subscribers (direct column) vs $subs (via column); ratio: median of the rounds' ratios$(failed flows) | $(val flows.none.rps) | $(val flows.many.rps) | $(val flows.rps_ratio_pct) % | ≥ 95 % | $(verdict "${R[flows.rps_ratio_pct]:-0} >= 95" flows.rps_ratio_pct) |"
        echo "| … mproxy CPU-s per 10,000 requests: 0 vs $subs subscribers (ratio: median of the rounds') | $(val flows.none.cpu_s_per_10k) | $(val flows.many.cpu_s_per_10k) | $(val flows.cpu_ratio_pct) % | | |"
        echo "| … cores busy, %: mproxy's / the load core's (wrk, nginx, subscribers): 0 vs $subs subscribers | $(val flows.none.core_busy_pct) / $(val flows.none.load_core_busy_pct) | $(val flows.many.core_busy_pct) / $(val flows.many.load_core_busy_pct) | | | |"
        echo "| … without the quota: requests/s, 0 vs $subs subscribers (load core saturated: wrk, nginx and the subscribers share it) | $(val flows.free_none.rps) | $(val flows.free_many.rps) | $(val flows.free_rps_ratio_pct) % | | |"
        echo "| … without the quota: mproxy CPU-s per 10,000 requests, 0 vs $subs subscribers | $(val flows.free_none.cpu_s_per_10k) | $(val flows.free_many.cpu_s_per_10k) | $(val flows.free_cpu_ratio_pct) % | | |"
        echo "| … flow events/s, 1 subscriber during the load: made by mproxy (direct column) vs delivered to it | $(val flows.one.produced_per_s) | $(val flows.one.events_per_s_each) | $(pct flows.one.produced_per_s flows.one.events_per_s_each) | | |"
        echo "| … flow events/s delivered to each of $subs subscribers: mean / slowest (without the quota) | | $(val flows.free_many.events_per_s_each) / $(val flows.free_many.events_per_s_min) | | | |"
        echo "| … events missed by the subscribers (Gap.missed, every measured run): 1 / $subs / $subs without the quota | | $(val flows.one.missed) / $(val flows.many.missed) / $(val flows.free_many.missed) | | | |"
        echo "| … bytes per event on the wire (WatchFlowsResponse) | | $(val flows.many.bytes_per_event) | | | |"
        echo "| … failed requests: 0 vs $subs subscribers, every run | $(val flows.none.errors) | $(val flows.many.errors) | | 0 | $(verdict "${R[flows.many.errors]:-0} + ${R[flows.none.errors]:-0} + ${R[flows.free_many.errors]:-0} + ${R[flows.free_none.errors]:-0} == 0" flows.none.errors flows.many.errors) |"
    fi
} >"$table"

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || commit="$commit (with uncommitted changes)"
host=$(hostname -s 2>/dev/null || hostname)
report=$BENCH_DIR/results/$(date +%F)-$host.md
# A partial run never replaces the day's full one.
[ ${#selected[@]} -eq ${#all[@]} ] || report=${report%.md}-$(IFS=-; echo "${selected[*]}").md
{
    echo "# mproxy benchmarks, $(date '+%F %H:%M %Z') on $host"
    echo
    echo "- commit: $commit"
    echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- mproxyd: \`--threads 1 --log-level warn\` pinned to core $PROXY_CORE; origin and load client pinned to core $LOAD_CORE; every process at nice $(nice)"
    echo "- origin: $(nginx -v 2>&1 | sed 's/^nginx version: //') (1 KiB file; 1 GiB sparse file), load: $(wrk -v 2>&1 | head -1 | awk '{ print "wrk " $2 }'), $(curl --version | head -1 | awk '{ print "curl " $2 }'), bench_upload_expect, bench_idle_connections"
    durations=()
    [[ " ${selected[*]} " != *" get "* ]] || durations+=("GET: ${BENCH_GET_SECONDS:-10} s measured after ${BENCH_GET_WARMUP_SECONDS:-2} s warm-up")
    [[ " ${selected[*]} " != *" tunnel "* ]] || durations+=("tunnel: median of ${BENCH_TUNNEL_RUNS:-3} runs")
    [[ " ${selected[*]} " != *" flows "* ]] || durations+=("flows: ${BENCH_FLOWS_ROUNDS:-9} rounds of 0, $subs and 1 subscribers under the quota then 0 and $subs without it, each ${BENCH_FLOWS_SECONDS:-5} s measured after ${BENCH_FLOWS_RUN_WARMUP_SECONDS:-1} s warm-up, medians")
    [[ " ${selected[*]} " != *" upload "* ]] || durations+=("upload: ${BENCH_UPLOAD_RUNS:-5} runs of $(((${BENCH_UPLOAD_BYTES:-$((1 << 30))}) >> 20)) MiB")
    durations+=("whole run ${elapsed} s")
    echo "- $(printf '%s; ' "${durations[@]}" | sed 's/; $//')"
    if [[ " ${selected[*]} " == *" mitm "* ]]; then
        echo "- mitm: a second nginx serving HTTPS (ECDSA P-256 certificate from a throwaway CA, $(openssl version | awk '{ print "OpenSSL " $2 }')); mproxyd \`--connect-action mitm\`; load: bench_https_load (keep-alive ${BENCH_MITM_SECONDS:-10} s after ${BENCH_MITM_WARMUP_SECONDS:-2} s warm-up; new connections ${BENCH_MITM_NEW_SECONDS:-5} s; ${BENCH_MITM_PROBES:-20} name probes), curl (10 MiB download: median of ${BENCH_MITM_DOWNLOAD_RUNS:-7}; upload to WebDAV PUT: median of ${BENCH_MITM_UPLOAD_RUNS:-3})"
    fi
    if [[ " ${selected[*]} " == *" flows "* ]]; then
        echo "- flows: one mproxyd for every run of the group; subscribers: bench_flow_subscriber (WatchFlows, live, empty filter, a channel each, counting events from the wire bytes) on core $LOAD_CORE with wrk and nginx; \"direct\" there is the same mproxyd with no subscriber; the quota (cgroup cpu controller) makes mproxyd, not the shared load core, what limits requests/s"
    fi
    echo "- direct: the same load sent straight to the origin (for idle connections: nginx's worker holding them)"
    echo -n "- other work on the machine (busiest core, 1 s before each benchmark):"
    for name in "${selected[@]}"; do echo -n " $name $(val "busy_before.$name") %"; done
    echo
    for name in "${selected[@]}"; do
        [ "${R[busy_before.$name]:-0}" -le "${BENCH_QUIET_MAX:-15}" ] ||
            echo "- **warning**: the machine was busy before '$name'; its figures are skewed"
    done
    echo
    cat "$table"
    echo
    echo "<details><summary>every figure</summary>"
    echo
    echo '```'
    sort "$results" | sed 's/^result //'
    echo '```'
    echo "</details>"
} >"$report"

echo
cat "$table"
echo
bench_log "written to ${report#"$ROOT"/}"
! grep -q '^result failed\.' "$results"
