#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for SECONDS seconds.
# Fails on the first target that crashes or breaks an invariant; its input is kept in
# build-fuzz/artifacts/<target>/. The seed corpus in tests/fuzz/corpus is copied, never modified.
#
#   scripts/fuzz.sh [SECONDS]        (default 30)
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
targets=(request_head response_head authority client_hello websocket_frames content_decoding)

CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROXY_FUZZ=ON >/dev/null
ninja -C "$build" -j "${FUZZ_BUILD_JOBS:-1}" mproxy_fuzzers

status=0
for target in "${targets[@]}"; do
    corpus="$build/corpus/$target"
    artifacts="$build/artifacts/$target/"
    mkdir -p "$corpus" "$artifacts"
    for seed in "$root/tests/fuzz/corpus/$target/"*; do
        [ -e "$corpus/$(basename "$seed")" ] || cp "$seed" "$corpus/"
    done
    echo "== fuzz_$target for ${seconds}s"
    if ! "$build/tests/fuzz/fuzz_$target" "$corpus" \
            -dict="$root/tests/fuzz/http.dict" \
            -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts" -print_final_stats=1; then
        echo "fuzz_$target FAILED: reproduce with $build/tests/fuzz/fuzz_$target $artifacts<crash-file>" >&2
        status=1
    fi
done
exit "$status"
