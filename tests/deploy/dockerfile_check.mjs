// The Dockerfile, checked without Docker:
//  - the runtime stage's apt-get install list provides every shared library mproxyd and mproxyctl
//    load (ldd, each library's Debian package by dpkg -S);
//  - the default CMD's flags are flags mproxyd accepts, and it exposes the ports the CMD listens on;
//  - the HEALTHCHECK command, run as Docker would run it, passes against a real mproxyd and fails
//    once mproxyd is gone.
// Usage: node dockerfile_check.mjs --mproxyd PATH --mproxyctl PATH
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

import { mproxydFlags, sourceDir, startMproxyd } from "./deploy_lib.mjs";

const argv = process.argv.slice(2);
const option = (name) => {
  const index = argv.indexOf(`--${name}`);
  if (index < 0 || !argv[index + 1]) throw new Error("usage: --mproxyd PATH --mproxyctl PATH");
  return argv[index + 1];
};
const binaries = [option("mproxyd"), option("mproxyctl")];

// Instructions with their continuation lines joined; comments dropped.
const instructions = readFileSync(path.join(sourceDir, "Dockerfile"), "utf8")
  .split("\n")
  .filter((line) => !/^\s*#/.test(line))
  .join("\n")
  .replace(/\\\n/g, " ")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => {
    const [, keyword, rest] = line.trim().match(/^(\w+)\s+(.*)$/);
    return { keyword: keyword.toUpperCase(), rest };
  });
const stages = instructions.reduce((all, instruction) => {
  if (instruction.keyword === "FROM") all.push([]);
  all.at(-1).push(instruction);
  return all;
}, []);
const runtime = stages.at(-1);
const one = (keyword) => runtime.filter((i) => i.keyword === keyword).at(-1)?.rest;

function runtimePackages() {
  const installs = runtime
    .filter((i) => i.keyword === "RUN")
    .flatMap((i) => [...i.rest.matchAll(/apt-get install ((?:[^&;|])*)/g)].map((m) => m[1]));
  return new Set(installs.flatMap((list) => list.split(/\s+/).filter((word) => /^[a-z0-9][a-z0-9.+-]+$/.test(word))));
}

// Debian packages of the shared libraries `binary` loads, by one dpkg -S for them all (it is slow
// per call). A library is looked up by its resolved path and by the path ldd shows, since Debian
// registers one or the other. The sanitizer runtimes of an ASan build are left out: the image is
// built Release.
function libraryPackages(binary) {
  const ldd = execFileSync("ldd", [binary], { encoding: "utf8" });
  assert.doesNotMatch(ldd, /not found/, `${binary} misses libraries:\n${ldd}`);
  const libraries = [...ldd.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]);
  const candidates = [...new Set(libraries.flatMap((library) => [realpathSync(library), library]))];
  const owners = new Map();
  const search = spawnSync("dpkg", ["-S", ...candidates], { encoding: "utf8" });
  for (const [, owner, file] of search.stdout.matchAll(/^([^:\s]+)(?::\S+)?: (\S+)$/gm)) owners.set(file, owner);
  const packages = new Set();
  for (const library of libraries) {
    const name = owners.get(realpathSync(library)) ?? owners.get(library);
    assert.ok(name, `no Debian package owns ${library} (${binary})`);
    if (!/^lib(asan|ubsan|lsan|tsan)\d*$/.test(name)) packages.add(name);
  }
  return packages;
}

test("the runtime stage installs the package of every library the binaries load", () => {
  const installed = runtimePackages();
  assert.ok(installed.has("ca-certificates"), "no ca-certificates: origins could not be verified");
  for (const binary of binaries) {
    const needed = libraryPackages(binary);
    assert.ok(needed.size >= 5, `${binary}: only ${[...needed]}`);
    const missing = [...needed].filter((p) => !installed.has(p));
    assert.deepEqual(missing, [], `${path.basename(binary)} needs packages the runtime stage does not install`);
  }
});

test("the runtime stage is slim Debian 12, runs mproxyd as a non-root user, keeps state in a volume", () => {
  assert.equal(stages.length, 2, "a build stage and a runtime stage");
  assert.match(stages[0][0].rest, /^debian:12\b/);
  assert.match(runtime[0].rest, /^debian:12-slim$/);
  assert.match(one("USER"), /^[1-9]\d*:[1-9]\d*$/, "USER is a numeric non-root uid:gid");
  assert.deepEqual(JSON.parse(one("ENTRYPOINT")), ["/usr/local/bin/mproxyd"]);
  assert.match(one("VOLUME"), /\/var\/lib\/mproxy/);
  assert.match(one("ENV") ?? "", /XDG_STATE_HOME=\/var\/lib\b/, "the state directory default is the volume");
});

test("the default CMD passes flags mproxyd accepts and listens on the exposed ports", () => {
  const flags = mproxydFlags(binaries[0]);
  const command = JSON.parse(one("CMD"));
  const exposed = one("EXPOSE").split(/\s+/).map((p) => Number(p.split("/")[0]));
  for (const argument of command) {
    const [flag, value] = argument.split("=");
    assert.ok(flags.has(flag), `CMD ${flag}: not in mproxyd --help`);
    if (flag.endsWith("listen")) {
      assert.match(value, /^0\.0\.0\.0:\d+$/, `${flag} must listen on every interface in a container`);
      assert.ok(exposed.includes(Number(value.split(":")[1])), `${argument}: port not in EXPOSE`);
    }
  }
  assert.equal(command.filter((a) => a.split("=")[0].endsWith("listen")).length, 3, "proxy, control and metrics");
});

test("the HEALTHCHECK passes against a running mproxyd and fails when it is gone", async () => {
  const healthcheck = JSON.parse(one("HEALTHCHECK").match(/\bCMD\s+(\[.*\])\s*$/)[1]);
  const runCheck = (port) =>
    spawnSync(healthcheck[0], healthcheck.slice(1), {
      env: { ...process.env, MPROXY_HEALTH_PORT: String(port) },
      encoding: "utf8",
      timeout: 20_000,
    });
  const dir = mkdtempSync(path.join(os.tmpdir(), "mproxy-healthcheck-"));
  const { child, exit, waitFor, stop } = startMproxyd(binaries[0], [
    "--listen=127.0.0.1:0",
    "--control-listen=127.0.0.1:0",
    "--metrics-listen=127.0.0.1:0",
    `--state-dir=${dir}`,
  ]);
  try {
    const port = Number((await waitFor(/listening on 127\.0\.0\.1:(\d+)/, "proxy listener"))[1]);
    const healthy = runCheck(port);
    assert.equal(healthy.status, 0, `health check failed against a running mproxyd: ${healthy.stderr}`);
    child.kill("SIGTERM");
    await exit;
    assert.notEqual(runCheck(port).status, 0, "health check passed with mproxyd stopped");
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
