-- wrk script for bench/get_1k.sh.
-- With MPROXY_BENCH_ABSOLUTE_URL set, the request line carries that absolute URI (and Host its
-- authority), so that wrk's connections to the proxy make forward-proxy requests.
-- At the end prints one `summary:` line of key=value pairs (latencies in microseconds).

local absolute = os.getenv("MPROXY_BENCH_ABSOLUTE_URL")
if absolute and absolute ~= "" then
   wrk.path = absolute
   wrk.headers["Host"] = absolute:match("^%a+://([^/]+)")
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "summary: requests=%d seconds=%.3f rps=%.1f bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "mean_us=%.1f errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
      summary.requests, seconds, summary.requests / seconds, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
