// A HAR export end to end: mproxyd (with a state directory and bodies captured) between the curl
// command line and a real origin (node's http server: JSON gzip-coded with a cookie, a brotli text,
// binary bytes, an upload, chunked trailers, a 103, a WebSocket session), then `mproxyctl flows har`. The document must
// pass har-validator (the HAR 1.2 JSON schema) and round-trip: every entry's fields, status,
// timings and bodies equal what `mproxyctl flows show -o json` and `flows body` give for its flow.
// Usage: node har_check.mjs --mproxyd PATH --mproxyctl PATH --modules DIR
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

import { importFrom, parseArguments, startMproxyd } from "../deploy/deploy_lib.mjs";

const options = parseArguments(process.argv.slice(2));
if (!options.mproxyctl) throw new Error("usage: --mproxyd PATH --mproxyctl PATH --modules DIR");
const validator = await importFrom(options.modules, "har-validator");

const json = JSON.stringify({ answer: 42, text: "café", list: [1, 2, 3] });
const text = "line of text that compresses\n".repeat(400);
const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));

const origin = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    switch (req.url.split("?")[0]) {
      case "/json":
        res.writeHead(200, {
          "Content-Type": "application/json",
          "Content-Encoding": "gzip",
          "Set-Cookie": "session=abc; Path=/; HttpOnly",
        });
        return res.end(zlib.gzipSync(json));
      case "/text":
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Encoding": "br" });
        return res.end(zlib.brotliCompressSync(text));
      case "/binary":
        res.writeHead(200, { "Content-Type": "application/octet-stream" });
        return res.end(binary);
      case "/upload":
        res.writeHead(201, { "Content-Type": "text/plain" });
        return res.end(`got ${Buffer.concat(chunks).length} bytes`);
      case "/trailers":
        res.writeHead(200, { "Content-Type": "text/plain", Trailer: "X-Checksum" });
        res.write("part one, ");
        res.addTrailers({ "X-Checksum": "1234" });
        return res.end("part two");
      case "/early":
        res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
        res.writeHead(200, { "Content-Type": "text/html" });
        return res.end("<p>after hints</p>");
      default:
        res.writeHead(404);
        return res.end();
    }
  });
});
// /ws: RFC 6455 by hand (node has no WebSocket server): "welcome", then each text message echoed,
// and a close answered with a close.
const frame = (opcode, payload) => {
  const body = Buffer.from(payload);
  return Buffer.concat([Buffer.from([0x80 | opcode, body.length]), body]);  // short, unmasked
};
// The frames in `buffer` (payloads < 126 bytes), unmasked; the bytes left over.
const readFrames = (buffer) => {
  const frames = [];
  while (buffer.length >= 2) {
    const masked = (buffer[1] & 0x80) !== 0, length = buffer[1] & 0x7f, start = 2 + (masked ? 4 : 0);
    if (buffer.length < start + length) break;
    const payload = Buffer.from(buffer.subarray(start, start + length));
    if (masked) for (let i = 0; i < length; ++i) payload[i] ^= buffer[2 + (i % 4)];
    frames.push({ opcode: buffer[0] & 0x0f, payload });
    buffer = buffer.subarray(start + length);
  }
  return { frames, rest: buffer };
};
origin.on("upgrade", (req, socket) => {
  const accept = createHash("sha1")
    .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.write(frame(1, "welcome"));
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    const { frames, rest } = readFrames(Buffer.concat([pending, chunk]));
    pending = rest;
    for (const f of frames) {
      if (f.opcode === 1) socket.write(frame(1, f.payload));
      if (f.opcode === 8) socket.end(frame(8, f.payload));
    }
  });
  socket.on("error", () => {});
});
await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
const originUrl = `http://127.0.0.1:${origin.address().port}`;

const dir = mkdtempSync(path.join(os.tmpdir(), "mproxy-har-"));
const state = path.join(dir, "state");
const mproxyd = startMproxyd(options.mproxyd, [
  "--listen=127.0.0.1:0",
  "--control-listen=127.0.0.1:0",
  "--metrics-listen=127.0.0.1:0",
  `--state-dir=${state}`,
  "--capture-body-bytes=1048576",
]);
let failed = false;
try {
  const [, proxyPort] = await mproxyd.waitFor(/listening on 127\.0\.0\.1:(\d+)/, "proxy listener");
  const [, controlPort] = await mproxyd.waitFor(/control plane \(gRPC\) on 127\.0\.0\.1:(\d+)/, "control plane");
  const ctl = (...args) =>
    execFileSync(
      options.mproxyctl,
      ["--server", `127.0.0.1:${controlPort}`, "--token-file", path.join(state, "control-token"), ...args],
      { maxBuffer: 64 << 20 },
    );
  // The curl command line in a child process, so that the origin (in this process) can answer.
  const curl = async (...args) => {
    const { spawn } = await import("node:child_process");
    return new Promise((resolve, reject) => {
      const child = spawn("curl", ["-sS", "-o", "/dev/null", "-x", `127.0.0.1:${proxyPort}`, ...args]);
      let errors = "";
      child.stderr.on("data", (c) => (errors += c));
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`curl ${args}: ${errors}`))));
    });
  };
  await curl("-H", "Cookie: theme=dark; lang=en", `${originUrl}/json?x=1&y=two`);
  await curl(`${originUrl}/text`);
  await curl(`${originUrl}/binary`);
  await curl("--data-binary", "name=value&other=thing", `${originUrl}/upload`);
  await curl(`${originUrl}/trailers`);
  await curl(`${originUrl}/early`);
  // A WebSocket client through the proxy (absolute-form upgrade): welcome, an echo, a close.
  await new Promise((resolve, reject) => {
    const socket = net.connect(Number(proxyPort), "127.0.0.1");
    const mask = (opcode, payload) => {
      const body = Buffer.from(payload), key = Buffer.from([1, 2, 3, 4]);
      const masked = Buffer.from(body.map((b, i) => b ^ key[i % 4]));
      return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | body.length]), key, masked]);
    };
    let received = Buffer.alloc(0), upgraded = false;
    const seen = [];
    socket.setTimeout(10000, () => socket.destroy(new Error("WebSocket session timed out")));
    socket.on("connect", () =>
      socket.write(
        `GET ${originUrl}/ws HTTP/1.1\r\nHost: 127.0.0.1:${origin.address().port}\r\nUpgrade: websocket\r\n` +
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (!upgraded) {
        const end = received.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!received.subarray(0, end).toString().startsWith("HTTP/1.1 101")) return reject(new Error(`no 101: ${received}`));
        upgraded = true;
        received = received.subarray(end + 4);
      }
      const { frames, rest } = readFrames(received);
      received = rest;
      for (const f of frames) {
        seen.push(f.payload.toString());
        if (f.opcode === 1 && f.payload.toString() === "welcome") socket.write(mask(1, "hello over ws"));
        else if (f.opcode === 1) socket.write(mask(8, Buffer.from([0x03, 0xe8, ...Buffer.from("bye")])));
        else if (f.opcode === 8) socket.end();
      }
    });
    socket.on("close", () => (seen.includes("hello over ws") ? resolve() : reject(new Error(`saw ${seen}`))));
    socket.on("error", reject);
  });

  // The store commits in batches: wait until all six are listed.
  let flows = [];
  for (let i = 0; i < 100 && flows.length < 7; ++i) {
    flows = JSON.parse(`[${ctl("flows", "list", "-o", "json").toString().trim().split("\n").join(",")}]`).filter(
      (f) => f.captureState === "CAPTURE_STATE_STORED",
    );
    if (flows.length < 7) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(flows.length, 7, "seven exchanges stored");

  const harFile = path.join(dir, "out.har");
  ctl("flows", "har", "--since", "1h", "-o", harFile);
  const har = JSON.parse(readFileSync(harFile, "utf8"));
  try {
    await validator.har(har);
  } catch (error) {
    throw new Error(`har-validator: ${JSON.stringify(error.errors ?? error.message, null, 1)}`);
  }
  assert.equal(har.log.entries.length, 7);
  assert.equal(har.log.creator.name, "mproxy");

  for (const entry of har.log.entries) {
    const id = String(entry._flowId);
    const flow = JSON.parse(ctl("flows", "show", id, "-o", "json").toString());
    const capture = flow.capture;
    const where = `flow ${id} (${entry.request.url})`;
    assert.equal(entry.request.method, capture.request.method, where);
    assert.ok(entry.request.url.endsWith(capture.request.target), where);
    assert.deepEqual(entry.request.headers, capture.request.fields, `${where}: request headers`);
    assert.equal(entry.response.status, capture.response.status, where);
    assert.deepEqual(entry.response.headers, capture.response.fields, `${where}: response headers`);
    const us = (name) => Number(capture.timings[name]);
    assert.equal(entry.timings.send, Math.max(0, us("sendUs")) / 1000, `${where}: send`);
    assert.equal(entry.timings.wait, Math.max(0, us("waitUs")) / 1000, `${where}: wait`);
    assert.equal(entry.timings.receive, Math.max(0, us("receiveUs")) / 1000, `${where}: receive`);
    assert.equal(entry.serverIPAddress, capture.serverAddress, where);
    assert.equal(entry.connection, flow.connectionId, where);
    if (Number(capture.responseBody.length) > 0) {
      const body = ctl("flows", "body", id, "-o", path.join(dir, `body-${id}`)) && readFileSync(path.join(dir, `body-${id}`));
      const content = entry.response.content;
      const exported = content.encoding === "base64" ? Buffer.from(content.text, "base64") : Buffer.from(content.text, "utf8");
      assert.ok(exported.equals(body), `${where}: the HAR's body is what flows body gives`);
    }
    if (entry.request.postData) {
      const body = ctl("flows", "body", id, "--request");
      assert.equal(entry.request.postData.text, body.toString(), `${where}: the upload`);
    }
  }
  const byPath = Object.fromEntries(har.log.entries.map((e) => [new URL(e.request.url).pathname, e]));
  assert.equal(byPath["/json"].response.content.text, json, "gzip undone, UTF-8 kept");
  assert.equal(byPath["/json"].response.content.size, Buffer.byteLength(json));
  assert.deepEqual(byPath["/json"].request.queryString, [
    { name: "x", value: "1" },
    { name: "y", value: "two" },
  ]);
  assert.equal(byPath["/text"].response.content.text, text, "br undone");
  assert.equal(byPath["/binary"].response.content.encoding, "base64");
  assert.equal(byPath["/upload"].request.postData.text, "name=value&other=thing");
  assert.deepEqual(byPath["/trailers"].response._trailers, [{ name: "X-Checksum", value: "1234" }]);
  assert.equal(byPath["/early"].response._interimResponses[0].status, 103);
  const ws = byPath["/ws"];
  assert.equal(ws.response.status, 101);
  assert.deepEqual(
    ws._webSocketMessages.map((m) => [m.type, m.opcode, m.opcode === 8 ? m._closeCode : m.data]),
    [
      ["receive", 1, "welcome"],
      ["send", 1, "hello over ws"],
      ["receive", 1, "hello over ws"],
      ["send", 8, 1000],
      ["receive", 8, 1000],
    ],
    "the WebSocket messages both ways, in order",
  );
  // Credentials are redacted by default, in the HAR as in the store: no cookie values leak.
  assert.match(JSON.stringify(byPath["/json"].request.headers), /\[redacted: \d+ bytes\]/);
  assert.doesNotMatch(JSON.stringify(har), /theme=dark|session=abc/);
  console.log(`ok: ${har.log.entries.length} entries, valid HAR 1.2, each equal to GetFlow and GetFlowBody`);
} catch (error) {
  failed = true;
  console.log(`FAILED: ${error.stack}\n--- mproxyd:\n${mproxyd.output.text}`);
} finally {
  mproxyd.stop();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
