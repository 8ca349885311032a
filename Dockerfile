# mproxy's container image: mproxyd (the entrypoint) and mproxyctl.
#   docker build -t mproxy:dev .
#   docker run --rm -p 8080:8080 -p 9090:9090 -p 9100:9100 -v mproxy-state:/var/lib/mproxy mproxy:dev
# Ports: 8080 proxy (HTTP/1.1, CONNECT), 9090 control plane (gRPC; gRPC health checking needs no
# token), 9100 Prometheus /metrics. State (the CA when none is given, the control token, the rules)
# lives in the volume /var/lib/mproxy. tests/deploy/dockerfile_check.mjs keeps this file honest:
# the runtime packages below must provide every library the binaries link, and the health check
# is run against a real mproxyd.

# --- build: the same Debian 12 packages as a developer's machine (scripts/install-deps.sh) ---
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN bash /src/scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPROXY_TESTS=OFF \
 && ninja -C /build mproxyd mproxyctl \
 && strip /build/server/mproxyd /build/clients/mproxyctl

# --- runtime: slim Debian 12 with only the shared libraries the two binaries load ---
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
# ca-certificates: the system trust store that intercepted origins are verified against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libbrotli1 \
      libc-ares2 \
      libc6 \
      libcivetweb1 \
      libfmt9 \
      libgcc-s1 \
      libgrpc++1.51 \
      libgrpc29 \
      libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 \
      libprotobuf32 \
      libre2-9 \
      libspdlog1.10 \
      libsqlite3-0 \
      libssl3 \
      libstdc++6 \
      libyaml-cpp0.7 \
      libzstd1 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*

# A fixed non-root uid/gid (65532), so Kubernetes' runAsUser and fsGroup can name it.
RUN groupadd --system --gid 65532 mproxy \
 && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/mproxy --no-create-home \
      --shell /usr/sbin/nologin mproxy \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/mproxy

COPY --from=build /build/server/mproxyd /build/clients/mproxyctl /usr/local/bin/

# XDG_STATE_HOME makes /var/lib/mproxy the default state directory of mproxyd and the default
# token file of mproxyctl alike, so `docker exec <container> mproxyctl status` needs no flags.
ENV XDG_STATE_HOME=/var/lib
VOLUME ["/var/lib/mproxy"]
EXPOSE 8080/tcp 9090/tcp 9100/tcp
USER 65532:65532

# The data plane itself answers: mproxyd serves its CA at /ca.pem on the proxy port, so a 200 there
# means the listener accepts and a worker thread answers. Only bash is needed (no curl in the
# image); MPROXY_HEALTH_PORT follows a --listen that moved the proxy off 8080.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${MPROXY_HEALTH_PORT:-8080} && printf 'HEAD /ca.pem HTTP/1.1\\r\\nHost: mproxy.local\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 status <&3 && [[ $status == 'HTTP/1.1 200 '* ]]"]

ENTRYPOINT ["/usr/local/bin/mproxyd"]
# Listen on every interface inside the container (mproxyd's own defaults are loopback only).
# Arguments given to `docker run` (or a pod's args) replace these.
CMD ["--listen=0.0.0.0:8080", "--control-listen=0.0.0.0:9090", "--metrics-listen=0.0.0.0:9100"]
