// Streaming uploads/downloads: 1 GiB round trip, aborted uploads and SIGTERM mid-upload never
// damage the previous content or leave temporaries behind.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { q, realTempDir, startDaemon, waitFor } from "./harness.mjs";

const GiB = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;

let d;
let W;

before(async () => {
  d = await startDaemon();
  W = await realTempDir("agentd-large-");
});

after(async () => {
  await d.stop();
});

/** Random-ish chunk i of a stream: a fixed random block, stamped with its index. */
function makeChunker() {
  const base = randomBytes(CHUNK);
  return (i, len = CHUNK) => {
    const c = Buffer.from(base.subarray(0, len));
    for (let off = 0; off + 8 <= len; off += 65536) c.writeUInt32LE(i, off), c.writeUInt32LE(off, off + 4);
    return c;
  };
}

/**
 * Start a PUT with the given Content-Length and give back the request and a promise of the
 * response ({status, body} or the error).
 */
function openPut(daemon, target, length) {
  const req = http.request({
    host: "127.0.0.1",
    port: daemon.port,
    method: "PUT",
    path: `/v1/fs/file?path=${q(target)}`,
    agent: false,
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(length) },
  });
  const response = new Promise((resolve) => {
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on("error", (error) => resolve({ error }));
    });
    req.on("error", (error) => resolve({ error }));
  });
  return { req, response };
}

/** write() with backpressure; resolves false if the request died. */
function writeChunk(req, chunk) {
  return new Promise((resolve) => {
    if (req.destroyed) return resolve(false);
    const ok = req.write(chunk, (err) => {
      if (err) resolve(false);
      else if (ok) resolve(true);
    });
    if (!ok) {
      const onDrain = () => {
        req.off("close", onClose);
        resolve(true);
      };
      const onClose = () => {
        req.off("drain", onDrain);
        resolve(false);
      };
      req.once("drain", onDrain);
      req.once("close", onClose);
    }
  });
}

async function hashFile(p) {
  const h = createHash("sha256");
  for await (const c of fs.createReadStream(p, { highWaterMark: CHUNK })) h.update(c);
  return h.digest("hex");
}

const temporaries = async (dir) => (await fsp.readdir(dir)).filter((n) => n.startsWith(".agentd-upload-"));

describe("large and interrupted uploads", () => {
  test("1 GiB upload streamed in, downloaded back, identical on disk", { timeout: 150000 }, async () => {
    const target = path.join(W, "big", "one-gib.bin");
    const chunk = makeChunker();
    const sent = createHash("sha256");
    const { req, response } = openPut(d, target, GiB);
    for (let i = 0; i < GiB / CHUNK; i++) {
      const c = chunk(i);
      sent.update(c);
      assert.ok(await writeChunk(req, c), `upload died at chunk ${i}`);
    }
    req.end();
    const res = await response;
    assert.ok(!res.error, `upload failed: ${res.error && res.error.message}`);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { path: target, bytesWritten: GiB });
    const sentHash = sent.digest("hex");

    // download, hashing as it streams
    const got = createHash("sha256");
    let received = 0;
    const dl = await new Promise((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: d.port, path: `/v1/fs/file?path=${q(target)}`, agent: false }, (r) => {
          r.on("data", (c) => {
            got.update(c);
            received += c.length;
          });
          r.on("end", () => resolve(r));
          r.on("error", reject);
        })
        .on("error", reject);
    });
    assert.equal(dl.statusCode, 200);
    assert.equal(dl.headers["content-length"], String(GiB));
    assert.equal(received, GiB);
    assert.equal(got.digest("hex"), sentHash, "downloaded bytes differ from uploaded bytes");
    assert.equal((await fsp.stat(target)).size, GiB);
    assert.equal(await hashFile(target), sentHash, "on-disk bytes differ from uploaded bytes");
    assert.deepEqual(await temporaries(path.dirname(target)), []);
    await fsp.rm(target);
  });

  test("a PUT cut off halfway leaves the old content and no temporaries", async () => {
    const dir = path.join(W, "cut");
    await fsp.mkdir(dir);
    const target = path.join(dir, "victim.bin");
    const old = randomBytes(100000);
    await fsp.writeFile(target, old);
    await fsp.chmod(target, 0o640);

    const N = 16 * CHUNK;
    const chunk = makeChunker();
    const { req, response } = openPut(d, target, N);
    for (let i = 0; i < N / CHUNK / 2; i++) assert.ok(await writeChunk(req, chunk(i)));
    // let the server read what we sent before we vanish
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    const res = await response;
    assert.ok(res.error || res.status >= 400, `a partial upload must not succeed: ${JSON.stringify(res)}`);

    // the server notices the dropped connection and cleans up
    await waitFor(async () => (await temporaries(dir)).length === 0, { timeout: 10000, what: "temporaries removed" });
    assert.deepEqual(await fsp.readdir(dir), ["victim.bin"]);
    assert.ok((await fsp.readFile(target)).equals(old), "old content intact");
    assert.equal((await fsp.stat(target)).mode & 0o777, 0o640);

    // and a complete upload to the same path afterwards works
    const again = openPut(d, target, 3);
    again.req.end("new");
    const r2 = await again.response;
    assert.equal(r2.status, 200, r2.body);
    assert.equal(await fsp.readFile(target, "utf8"), "new");
    assert.equal((await fsp.stat(target)).mode & 0o777, 0o640, "mode preserved");
  });

  test("a PUT to a new file cut off halfway creates nothing", async () => {
    const dir = path.join(W, "cut-new");
    await fsp.mkdir(dir);
    const target = path.join(dir, "never.bin");
    const { req, response } = openPut(d, target, 8 * CHUNK);
    const chunk = makeChunker();
    for (let i = 0; i < 3; i++) assert.ok(await writeChunk(req, chunk(i)));
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    await response;
    await waitFor(async () => (await fsp.readdir(dir)).length === 0, { timeout: 10000, what: "directory empty again" });
  });

  test("SIGTERM during an upload: old content intact, exit code 0", async () => {
    const home = await realTempDir("agentd-large-term-");
    const d2 = await startDaemon({ home });
    const target = path.join(home, "term.bin");
    await fsp.writeFile(target, "previous content");
    const { req, response } = openPut(d2, target, 64 * CHUNK);
    const chunk = makeChunker();
    for (let i = 0; i < 8; i++) assert.ok(await writeChunk(req, chunk(i)));
    await new Promise((r) => setTimeout(r, 200));
    const exit = await d2.stop("SIGTERM", 15000);
    req.destroy();
    const res = await response;
    assert.ok(res.error || res.status >= 400, `the upload must not succeed: ${JSON.stringify(res)}`);
    assert.equal(exit.forced, undefined, "agentd had to be SIGKILLed");
    assert.equal(exit.signal, null);
    assert.equal(exit.code, 0, d2.logs());
    assert.equal(await fsp.readFile(target, "utf8"), "previous content");
    assert.deepEqual(await temporaries(home), []);
  });
});
