// The container's entrypoint with the ConfigMap's file: renders each overlay, takes the config
// file its Deployment mounts, and starts mproxyd --config FILE the way the pod does, with only the
// listeners (port 0, loopback) and the state directory overridden by flags. mproxyd must come up
// with the file's seed rules in force, answer through its proxy port, reload the file when the
// ConfigMap changes (the kubelet's way: a new directory behind the ..data symlink, swapped in one
// rename), and drain and exit 0 on SIGTERM. Exits 77 (CTest: skipped) while the mproxyd under test has no --config.
// Usage: node config_start_check.mjs --mproxyd PATH --modules DIR
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import {
  deadlineMs,
  importFrom,
  mproxydFlags,
  overlays,
  parseArguments,
  parseObjects,
  renderOverlay,
  startMproxyd,
} from "./deploy_lib.mjs";

const options = parseArguments(process.argv.slice(2));
if (!mproxydFlags(options.mproxyd).has("--config")) {
  console.log(`SKIP: ${options.mproxyd} has no --config in its --help yet: the ConfigMap's file cannot be tried`);
  process.exit(77);
}
const YAML = await importFrom(options.modules, "yaml");
// One HTTP/1.1 request on a fresh connection; resolves with the status line.
function statusLine(port, request) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let received = "";
    socket.setTimeout(deadlineMs, () => socket.destroy(new Error("no answer")));
    socket.on("data", (chunk) => {
      received += chunk;
      const end = received.indexOf("\r\n");
      if (end >= 0) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on("error", reject);
  });
}

// The layout the kubelet gives a ConfigMap volume: <dir>/<key> -> ..data/<key>, ..data -> a
// versioned directory. Each call publishes a new version the way the kubelet does.
function publishConfigMapVolume(dir, key, content, version) {
  mkdirSync(path.join(dir, `..${version}`), { recursive: true });
  writeFileSync(path.join(dir, `..${version}`, key), content);
  symlinkSync(`..${version}`, path.join(dir, "..data_tmp"));
  renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
  if (version === 1) symlinkSync(`..data/${key}`, path.join(dir, key));
}

async function tryOverlay(overlay) {
  const objects = parseObjects(YAML, renderOverlay(overlay));
  const container = objects.find((o) => o.kind === "Deployment").spec.template.spec.containers[0];
  const configArgument = container.args.find((a) => a.startsWith("--config="));
  const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "mproxy-config");
  const key = path.basename(configArgument.slice("--config=".length));
  const config = YAML.parse(configMap.data[key]);

  const dir = mkdtempSync(path.join(os.tmpdir(), `mproxy-deploy-${overlay}-`));
  try {
    const volume = path.join(dir, "config");
    publishConfigMapVolume(volume, key, configMap.data[key], 1);
    const configFile = path.join(volume, key);
    const args = [
      `--config=${configFile}`,
      "--listen=127.0.0.1:0",
      "--control-listen=127.0.0.1:0",
      "--metrics-listen=127.0.0.1:0",
      `--state-dir=${path.join(dir, "state")}`,
    ];
    const { child, output, exit, waitFor, stop } = startMproxyd(options.mproxyd, args);
    try {
      const [, port] = await waitFor(/listening on 127\.0\.0\.1:(\d+)/, "proxy listener");
      const [, rules] = await waitFor(/(\d+) rules in force/, "control plane");
      assert.equal(Number(rules), config.rules.length, "the ConfigMap's seed rules are not the ones in force");
      // What the Docker health check asks: the proxy port answers with mproxyd's CA.
      const status = await statusLine(
        Number(port),
        "HEAD /ca.pem HTTP/1.1\r\nHost: mproxy.local\r\nConnection: close\r\n\r\n",
      );
      assert.match(status, /^HTTP\/1\.1 200 /, "HEAD /ca.pem through the proxy port");
      // mproxyd takes its reference copy of the file as its watcher starts, just after start-up: a
      // change published before then is its starting point, not a change. So a new version goes out
      // every few seconds until one is reloaded.
      await waitFor(/reloaded on SIGHUP and when it changes/, "the file watcher");
      let reloaded = false;
      for (let version = 2; !reloaded && version < 2 + deadlineMs / 3000; ++version) {
        const limits = { ...config.limits, max_connections: version + (config.limits?.max_connections ?? 0) };
        publishConfigMapVolume(volume, key, YAML.stringify({ ...config, limits }), version);
        reloaded = await waitFor(/configuration reloaded/, "reload", 3000).then(
          () => true,
          () => false,
        );
      }
      assert.ok(reloaded, `no reload after the ConfigMap changed:\n${output.text}`);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), deadlineMs + (config.drain_timeout_seconds ?? 30) * 1000);
      const { code, signal } = await exit;
      clearTimeout(timer);
      assert.equal(signal, null, `mproxyd did not stop on SIGTERM:\n${output.text}`);
      assert.equal(code, 0, `mproxyd exited ${code} after SIGTERM:\n${output.text}`);
      console.log(`ok: ${overlay}: mproxyd --config ${key} served on port ${port} with ${rules} seed rule(s), reloaded, exit 0`);
    } finally {
      stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let failed = 0;
for (const overlay of overlays) {
  try {
    await tryOverlay(overlay);
  } catch (error) {
    ++failed;
    console.log(`FAILED: ${overlay}: ${error.message}`);
  }
}
console.log(`${overlays.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
