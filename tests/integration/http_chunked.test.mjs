// Chunked request bodies (Transfer-Encoding: chunked) on every route that takes a body, of any
// size. The framing cases that must never be read two ways (request smuggling) are in
// hostile_smuggling.test.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import {
  startDaemon,
  request,
  rawExchange,
  parseResponses,
  assertProblem,
  realTempDir,
  makeTar,
  vmRssKb,
  pidIsSanitized,
  q,
  waitFor,
} from "./harness.mjs";

let d;
let dir;
before(async () => {
  d = await startDaemon();
  dir = await realTempDir("agentd-chunked-");
});
after(async () => {
  if (d) await d.stop();
});

/** Chunked encoding of buffers, one chunk each, and the terminator. */
const chunked = (...parts) =>
  Buffer.concat([
    ...parts.flatMap((p) => {
      const b = Buffer.from(p);
      return [Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")];
    }),
    Buffer.from("0\r\n\r\n"),
  ]);

describe("chunked request bodies", () => {
  test("curl -T - streams 1 GiB into PUT /v1/fs/file byte-exact, with bounded memory", async () => {
    const target = path.join(dir, "one-gib.bin");
    const total = 1024 * 1024 * 1024;
    const block = Buffer.alloc(1024 * 1024);
    const hash = createHash("sha256");
    const curl = spawn("curl", ["-sS", "--fail-with-body", "-T", "-", `${d.base}/v1/fs/file?path=${q(target)}`], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    curl.stdout.on("data", (c) => (out += c));
    curl.stderr.on("data", (c) => (err += c));
    const exited = new Promise((r) => curl.on("exit", r));
    let maxRss = 0;
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, vmRssKb(d.pid) || 0)), 50);
    try {
      for (let sent = 0, i = 0; sent < total; sent += block.length, i++) {
        // Varying content, so that a lost or repeated block changes the hash.
        block.writeUInt32LE(i, 0);
        block.writeUInt32LE(i * 2654435761 >>> 0, 512 * 1024);
        hash.update(block);
        if (!curl.stdin.write(block)) await new Promise((r) => curl.stdin.once("drain", r));
      }
      curl.stdin.end();
      assert.equal(await exited, 0, `curl: ${err} ${out}`);
    } finally {
      clearInterval(sampler);
    }
    assert.deepEqual(JSON.parse(out), { path: target, bytesWritten: total });
    const disk = createHash("sha256");
    for await (const c of fs.createReadStream(target, { highWaterMark: 4 << 20 })) disk.update(c);
    assert.equal(disk.digest("hex"), hash.digest("hex"), "the file on disk is what was sent");
    await fsp.rm(target);
    // Release builds stay near 10 MB; sanitizers add their own shadow memory.
    const limit = pidIsSanitized(d.pid) ? 512 * 1024 : 64 * 1024;
    assert.ok(maxRss > 0 && maxRss < limit, `RSS peaked at ${maxRss} kB`);
  });

  test("a chunked tar into POST /v1/fs/upload-batch", async () => {
    const dest = path.join(dir, "batch");
    const tar = makeTar([
      { name: "a.txt", data: "alpha" },
      { name: "d/", type: "dir" },
      { name: "d/b.txt", data: "beta".repeat(5000) },
    ]);
    const res = await request(d, {
      method: "POST",
      path: `/v1/fs/upload-batch?path=${q(dest)}`,
      headers: { "Content-Type": "application/x-tar" },
      chunked: true,
      body: tar,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(fs.readFileSync(path.join(dest, "a.txt"), "utf8"), "alpha");
    assert.equal(fs.readFileSync(path.join(dest, "d/b.txt"), "utf8"), "beta".repeat(5000));
  });

  test("chunk boundaries anywhere (one byte per chunk, extensions, trailers) decode the same", async () => {
    const target = path.join(dir, "tiny-chunks.txt");
    const text = "every byte its own chunk";
    const body = Buffer.concat([
      ...[...text].map((ch, i) => Buffer.from(`1${i % 2 ? ";ext=1" : ""}\r\n${ch}\r\n`)),
      Buffer.from("0\r\nX-Trailer: yes\r\n\r\n"),
    ]);
    const r = await rawExchange(
      d,
      Buffer.concat([
        Buffer.from(`PUT /v1/fs/file?path=${q(target)} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`),
        body,
        Buffer.from("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
      ]),
    );
    const rs = parseResponses(r.text);
    assert.deepEqual(rs.map((x) => x.status), [200, 200], r.text);
    assert.equal(rs[1].body, '{"status":"ok"}', "the request after the body is parsed as one");
    assert.equal(fs.readFileSync(target, "utf8"), text);
  });

  test("JSON limits apply to the decoded size", async () => {
    const big = JSON.stringify({ command: "true", args: ["x".repeat(2 * 1024 * 1024)] });
    const res = await request(d, {
      method: "POST",
      path: "/v1/processes/run",
      headers: { "Content-Type": "application/json" },
      chunked: true,
      body: big,
    });
    assertProblem(res, 413, "invalid_request");
  });

  test("the official SDK through a forwarding fetch (bodies re-sent as streams) drives an ACP session", async () => {
    let streamed = 0;
    const forwarding = async (input, init) => {
      const req = new Request(input, init);
      if (req.body) streamed++;
      return fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        duplex: "half",
        signal: req.signal,
      });
    };
    const sdk = await SandboxAgent.connect({ baseUrl: d.base, fetch: forwarding });
    try {
      const session = await sdk.createSession({ agent: "mock", cwd: dir });
      const result = await session.prompt([{ type: "text", text: "through a proxy" }]);
      assert.deepEqual(result, { stopReason: "end_turn" });
      await sdk.writeFsFile({ path: path.join(dir, "via-proxy.txt") }, "proxied");
      assert.equal(fs.readFileSync(path.join(dir, "via-proxy.txt"), "utf8"), "proxied");
      assert.ok(streamed >= 3, `bodies went out as streams (${streamed})`);
    } finally {
      await sdk.dispose();
    }
  });
});

describe("chunked uploads that stop", () => {
  test("an unterminated chunked upload that is cut off leaves no file", async () => {
    const target = path.join(dir, "cut.txt");
    const r = await rawExchange(
      d,
      `PUT /v1/fs/file?path=${q(target)} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
      { timeout: 300 },
    );
    assert.equal(r.text, "", "no reply while the body is incomplete");
    assert.equal((await request(d, { path: "/v1/health" })).status, 200);
    // The abandoned upload is released: no temporary stays behind (O_TMPFILE leaves none at all).
    await waitFor(async () => (await fsp.readdir(dir)).every((n) => !n.startsWith(".agentd-upload-")), {
      what: "the abandoned upload's temporary to go",
    });
    assert.equal(fs.existsSync(target), false);
  });
});
