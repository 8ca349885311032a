#!/usr/bin/env bash
# Installs the Debian 12 packages mproxy builds and tests with, only those that are missing.
#   MPROXY_TEST_DEPS=1   also what the tests run (the Prometheus server and promtool)
#   MPROXY_BENCH_DEPS=1  also what the benchmarks run
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libssl-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev curl
  clang libclang-rt-14-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libyaml-cpp-dev nlohmann-json3-dev prometheus-cpp-dev libsqlite3-dev
  zlib1g-dev libbrotli-dev libzstd-dev
)
if [ "${MPROXY_TEST_DEPS:-0}" = 1 ]; then packages+=(prometheus); fi
# tests/deploy: kubectl renders the kustomize overlays, node and npm run the checks. A kubectl or a
# Node.js (with its own npm) from elsewhere is kept: Debian's packages would conflict with them.
if [ "${MPROXY_TEST_DEPS:-0}" = 1 ]; then
  command -v kubectl >/dev/null || packages+=(kubernetes-client)
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
if [ "${MPROXY_BENCH_DEPS:-0}" = 1 ]; then packages+=(nginx-light wrk util-linux procps sqlite3); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The tests start their own Prometheus on a free port: the packaged service is not wanted, and it
# would take 127.0.0.1:9090, mproxyd's default control port.
if printf '%s\n' "${missing[@]}" | grep -qx prometheus && command -v systemctl >/dev/null &&
   systemctl is-enabled prometheus >/dev/null 2>&1; then
  echo "disabling the prometheus service the package started (the tests run their own)"
  "${sudo_cmd[@]}" systemctl disable --now prometheus || true
fi
