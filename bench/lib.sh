# shellcheck shell=bash
# Shared by the bench scripts (sourced, never run): logging, result lines, the processes a script
# starts (and stops on exit), ports, the origin (nginx) and the proxy, and /proc readings.
#
# A benchmark script prints its figures on stdout as `result KEY VALUE` lines and everything else
# on stderr. bench/run.sh exports the environment they share:
#   MPROXYD       the mproxyd binary          BENCH_BIN     the folder of the bench tools
#   BENCH_TMP     this run's scratch folder   ORIGIN_PORT   the nginx origin's port
#   ORIGIN_PID    the nginx master's pid

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROXY_CORE=${BENCH_PROXY_CORE:-0}  # mproxyd alone on this core
LOAD_CORE=${BENCH_LOAD_CORE:-1}    # origin and load client share this one

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() {
    bench_log "error: $*"
    exit 1
}
result() { printf 'result %s %s\n' "$1" "$2"; }

require_env() {
    local name
    for name in "$@"; do
        [ -n "${!name:-}" ] || bench_die "$name is not set: run this through bench/run.sh"
    done
}

# --- processes --------------------------------------------------------------------------------
# Every process a script starts goes through track_pid; on exit they are stopped by pid, newest
# first: SIGTERM, then SIGKILL for whatever is still there after 3 s.
BENCH_PIDS=()
track_pid() { BENCH_PIDS+=("$1"); }

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local i
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${BENCH_PIDS[i]}"; done
    BENCH_PIDS=()
    cpu_cap_cleanup
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- ports ------------------------------------------------------------------------------------
port_in_use() { ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }

free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 10000))
        port_in_use "$port" || {
            echo "$port"
            return 0
        }
    done
    bench_die "no free port found"
}

# Waits until something listens on 127.0.0.1:PORT, while PID (if given) stays alive.
wait_for_listen() {
    local port=$1 pid=${2:-} i
    for i in $(seq 100); do
        ss -Htln "( sport = :$port )" 2>/dev/null | grep -q . && return 0
        [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
        sleep 0.05
    done
    return 1
}

# --- /proc ------------------------------------------------------------------------------------
# utime + stime of every thread of PID, in seconds.
cpu_seconds() {
    local ticks
    ticks=$(sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }')
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# "BUSY TOTAL" jiffies of one core so far; core_busy_percent turns two of them into a percentage.
# mproxyd's core is busier than its utime + stime say: the kernel's receive work for the packets
# it sends over loopback (softirq) runs there too and is counted to no process.
core_jiffies() { awk -v cpu="cpu$1" '$1 == cpu { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
core_busy_percent() {
    local b1 t1 b2 t2
    read -r b1 t1 <<<"$1"
    read -r b2 t2 <<<"$2"
    calc "($t2 > $t1) ? 100 * ($b2 - $b1) / ($t2 - $t1) : 0" 0
}

# Busy percentage of the busiest core over SECONDS, whoever keeps it busy.
busiest_core_percent() {
    local before after
    before=$(grep '^cpu[0-9]' /proc/stat)
    sleep "$1"
    after=$(grep '^cpu[0-9]' /proc/stat)
    paste <(echo "$before") <(echo "$after") | awk '{
        n = NF / 2; total = 0; idle = ($(n + 5) + $(n + 6)) - ($5 + $6)
        for (i = 2; i <= n; i++) total += $(n + i) - $i
        busy = total > 0 ? 100 * (1 - idle / total) : 0
        if (busy > max) max = busy
    } END { printf "%.0f", max }'
}

# Waits until no core is more than BENCH_QUIET_MAX % busy for one second (other work on the
# machine skews every figure), at most BENCH_QUIET_WAIT seconds; prints the last busy figure.
wait_quiet() {
    local busy deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-60}))
    while :; do
        busy=$(busiest_core_percent 1)
        [ "$busy" -le "${BENCH_QUIET_MAX:-15}" ] || [ "$SECONDS" -ge "$deadline" ] && break
    done
    echo "$busy"
}

# --- CPU caps ---------------------------------------------------------------------------------
# cpu_cap PID PERCENT: holds every thread of PID (and any it starts) to PERCENT of one core, through
# a cgroup of the cpu controller (v1 or v2); cpu_uncap PID lifts it. Returns 1, changing nothing,
# where cgroups cannot be written (not root, or a container without them).
BENCH_CGROUP=
cpu_cap() {
    local pid=$1 percent=$2 period=20000
    local quota=$((period * percent / 100))
    if [ -z "$BENCH_CGROUP" ]; then
        if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
            BENCH_CGROUP=/sys/fs/cgroup/mproxy-bench-$$
        elif [ -d /sys/fs/cgroup/cpu ]; then
            BENCH_CGROUP=/sys/fs/cgroup/cpu/mproxy-bench-$$
        else
            return 1
        fi
        mkdir -p "$BENCH_CGROUP" 2>/dev/null || { BENCH_CGROUP=; return 1; }
    fi
    if [ -f "$BENCH_CGROUP/cpu.max" ]; then
        echo "$quota $period" >"$BENCH_CGROUP/cpu.max" 2>/dev/null || return 1
    else
        echo "$period" >"$BENCH_CGROUP/cpu.cfs_period_us" 2>/dev/null &&
            echo "$quota" >"$BENCH_CGROUP/cpu.cfs_quota_us" 2>/dev/null || return 1
    fi
    echo "$pid" >"$BENCH_CGROUP/cgroup.procs" 2>/dev/null
}
cpu_uncap() {
    [ -n "$BENCH_CGROUP" ] || return 0
    echo "$1" >"$(dirname "$BENCH_CGROUP")/cgroup.procs" 2>/dev/null || true
}
# Removes the cgroup once nothing is in it (bench_cleanup calls it).
cpu_cap_cleanup() {
    [ -n "$BENCH_CGROUP" ] && [ -d "$BENCH_CGROUP" ] || return 0
    local pid
    while read -r pid; do echo "$pid" >"$(dirname "$BENCH_CGROUP")/cgroup.procs" 2>/dev/null || true; done <"$BENCH_CGROUP/cgroup.procs"
    rmdir "$BENCH_CGROUP" 2>/dev/null || true
}

# --- arithmetic -------------------------------------------------------------------------------
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Value of KEY in a `summary: k=v k=v` line.
summary_field() { sed -n 's/^summary: //p' <<<"$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

# --- the proxy --------------------------------------------------------------------------------
# The bearer token of every bench mproxyd's control plane (32 characters, fixed: nothing to guard).
BENCH_CONTROL_TOKEN=bench-control-token-0123456789ab

# start_proxy NAME [mproxyd flags...]: mproxyd alone on PROXY_CORE with one thread; sets PROXY_PID
# and PROXY_PORT. Its log goes to $BENCH_TMP/mproxyd-NAME.log. Its gRPC control plane gets a free
# port of its own (exported as PROXY_CONTROL_PORT, never the default 9090, where another mproxyd may
# run) and the token in PROXY_TOKEN_FILE; its state (CA, rules) goes to $BENCH_TMP/state-NAME unless
# the flags name a --state-dir, so that no run writes into the repository or meets another's state.
start_proxy() {
    local name=$1 state_flags=()
    shift
    [[ " $* " == *" --state-dir "* ]] || state_flags=(--state-dir "$BENCH_TMP/state-$name")
    PROXY_PORT=$(free_port)
    PROXY_CONTROL_PORT=$(free_port)
    [ "$PROXY_CONTROL_PORT" != "$PROXY_PORT" ] || PROXY_CONTROL_PORT=$(free_port)
    PROXY_TOKEN_FILE=$BENCH_TMP/control-token
    (umask 077 && echo "$BENCH_CONTROL_TOKEN" >"$PROXY_TOKEN_FILE")
    export PROXY_CONTROL_PORT PROXY_TOKEN_FILE
    PROXY_LOG=$BENCH_TMP/mproxyd-$name.log
    taskset -c "$PROXY_CORE" "$MPROXYD" --listen "127.0.0.1:$PROXY_PORT" --threads 1 --log-level warn \
        --control-listen "127.0.0.1:$PROXY_CONTROL_PORT" --control-token-file "$PROXY_TOKEN_FILE" \
        --metrics-listen "${PROXY_METRICS_LISTEN:-off}" \
        "${state_flags[@]}" "$@" >"$PROXY_LOG" 2>&1 &
    PROXY_PID=$!
    track_pid "$PROXY_PID"
    if ! wait_for_listen "$PROXY_PORT" "$PROXY_PID" || ! wait_for_listen "$PROXY_CONTROL_PORT" "$PROXY_PID"; then
        tail -20 "$PROXY_LOG" >&2 || true
        bench_die "mproxyd did not start listening on 127.0.0.1:$PROXY_PORT (control 127.0.0.1:$PROXY_CONTROL_PORT)"
    fi
}

stop_proxy() {
    stop_pid "$PROXY_PID"
    if [ -s "$PROXY_LOG" ]; then
        bench_log "mproxyd log ($PROXY_LOG), last lines:"
        tail -5 "$PROXY_LOG" >&2
    fi
}

# Fails the script when the proxy died under load.
check_proxy_alive() {
    kill -0 "$PROXY_PID" 2>/dev/null && return 0
    tail -20 "$PROXY_LOG" >&2 || true
    bench_die "mproxyd exited during the benchmark"
}

# --- wrk --------------------------------------------------------------------------------------
# run_wrk SECONDS CONNECT_URL [ABSOLUTE_URL]: one wrk run of 1 KiB GETs (bench/get_1k.lua, one
# thread, BENCH_GET_CONNECTIONS connections) on LOAD_CORE; prints its summary line. With
# ABSOLUTE_URL, the requests are forward-proxy requests for it sent to CONNECT_URL.
run_wrk() {
    local out
    out=$(MPROXY_BENCH_ABSOLUTE_URL=${3:-} taskset -c "$LOAD_CORE" \
        wrk -t1 -c"${BENCH_GET_CONNECTIONS:-50}" -d"${1}s" --timeout 5s -s "$BENCH_DIR/get_1k.lua" "$2")
    grep '^summary:' <<<"$out" || {
        echo "$out" >&2
        bench_die "wrk printed no summary"
    }
}

# wrk_errors SUMMARY: socket errors (connect, read, write, timeout) and non-2xx/3xx answers.
wrk_errors() {
    local kind errors=0
    for kind in connect read write status timeout; do
        errors=$((errors + $(summary_field "$1" "errors_$kind")))
    done
    echo "$errors"
}

# --- the origin -------------------------------------------------------------------------------
# start_origin: nginx from bench/nginx.conf.in on LOAD_CORE, serving /1k (1 KiB) and /1g (1 GiB,
# sparse) from $BENCH_TMP/origin; sets ORIGIN_PORT and ORIGIN_PID.
start_origin() {
    local prefix=$BENCH_TMP/origin nofile
    mkdir -p "$prefix/www" "$prefix/nginx-temp"
    head -c 1024 /dev/urandom >"$prefix/www/1k"
    truncate -s 1G "$prefix/www/1g"
    nofile=$(ulimit -n)
    ORIGIN_PORT=$(free_port)
    sed -e "s|@USER@|$(id -un) $(id -gn)|g" -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$ORIGIN_PORT|g" -e "s|@NOFILE@|$nofile|g" \
        -e "s|@CONNECTIONS@|$((nofile - 100))|g" "$BENCH_DIR/nginx.conf.in" >"$prefix/nginx.conf"
    taskset -c "$LOAD_CORE" nginx -e "$prefix/nginx-error.log" -p "$prefix" -c "$prefix/nginx.conf" \
        >"$prefix/nginx-stdout.log" 2>&1 &
    ORIGIN_PID=$!
    track_pid "$ORIGIN_PID"
    if ! wait_for_listen "$ORIGIN_PORT" "$ORIGIN_PID"; then
        cat "$prefix/nginx-stdout.log" "$prefix/nginx-error.log" >&2 2>/dev/null || true
        bench_die "nginx did not start on 127.0.0.1:$ORIGIN_PORT"
    fi
    curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/1k" || bench_die "nginx does not serve /1k"
}

# The nginx worker (the process that holds the client connections).
origin_worker_pid() { tr ' ' '\n' <"/proc/$ORIGIN_PID/task/$ORIGIN_PID/children" | grep -m1 .; }

# start_tls_origin DIR: a second nginx, from bench/nginx-tls.conf.in, serving HTTPS on LOAD_CORE
# from DIR/www (and WebDAV PUT under /put/) with a throwaway CA and a certificate for localhost,
# *.bench.test and 127.0.0.1 made with the openssl CLI in DIR; clients trust DIR/origin-ca.pem.
# Sets TLS_ORIGIN_PORT and TLS_ORIGIN_PID.
start_tls_origin() {
    local prefix=$1 nofile log=$1/openssl.log
    mkdir -p "$prefix/www/put" "$prefix/nginx-temp"
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=mproxy bench origin CA" -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$prefix/origin-ca.key" -out "$prefix/origin-ca.pem" &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
                -keyout "$prefix/origin.key" -out "$prefix/origin.csr" &&
            printf '%s\n' "subjectAltName=DNS:localhost,DNS:*.bench.test,IP:127.0.0.1" \
                "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=serverAuth" >"$prefix/origin.ext" &&
            openssl x509 -req -in "$prefix/origin.csr" -CA "$prefix/origin-ca.pem" -CAkey "$prefix/origin-ca.key" \
                -set_serial 1 -days 2 -extfile "$prefix/origin.ext" -out "$prefix/origin.pem"
    } >"$log" 2>&1 || {
        cat "$log" >&2
        bench_die "openssl could not make the origin's certificate"
    }
    nofile=$(ulimit -n)
    TLS_ORIGIN_PORT=$(free_port)
    sed -e "s|@USER@|$(id -un) $(id -gn)|g" -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$TLS_ORIGIN_PORT|g" \
        -e "s|@NOFILE@|$nofile|g" -e "s|@CONNECTIONS@|$((nofile - 100))|g" "$BENCH_DIR/nginx-tls.conf.in" \
        >"$prefix/nginx.conf"
    taskset -c "$LOAD_CORE" nginx -e "$prefix/nginx-error.log" -p "$prefix" -c "$prefix/nginx.conf" \
        >"$prefix/nginx-stdout.log" 2>&1 &
    TLS_ORIGIN_PID=$!
    track_pid "$TLS_ORIGIN_PID"
    if ! wait_for_listen "$TLS_ORIGIN_PORT" "$TLS_ORIGIN_PID"; then
        cat "$prefix/nginx-stdout.log" "$prefix/nginx-error.log" >&2 2>/dev/null || true
        bench_die "nginx (TLS) did not start on 127.0.0.1:$TLS_ORIGIN_PORT"
    fi
}
