// Chunked request bodies (Transfer-Encoding: chunked) on every route that takes a body, of any
// size; early replies to chunked requests (issue 9); the official SDK through a forwarding fetch
// that really sends its bodies chunked. The framing cases that must never be read two ways
// (request smuggling) are in hostile_smuggling.test.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import {
  startDaemon,
  request,
  rawExchange,
  parseResponses,
  assertProblem,
  assertHealthWithin,
  realTempDir,
  makeTar,
  vmRssKb,
  pidIsSanitized,
  q,
  waitFor,
} from "./harness.mjs";

let d;
let dt; // with a token: early 401s
let dir;
before(async () => {
  d = await startDaemon();
  dt = await startDaemon({ token: "T" });
  dir = await realTempDir("agentd-chunked-");
});
after(async () => {
  if (d) await d.stop();
  if (dt) await dt.stop();
});

const MIB = 1024 * 1024;
const LIM_DISCARD_BODY_BYTES = 16 * MIB; // stream/limits.h
const LIM_ACP_LINE_BYTES = 16 * MIB; // stream/limits.h
const H = "Host: 127.0.0.1\r\n";

/**
 * A raw connection to `to`: { sock, text() (all received, latin1), bytes(), ended (the peer's
 * FIN came), closed }.  Resolves once connected.
 */
function openConn(to) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(to.port, "127.0.0.1");
    const chunks = [];
    const c = {
      sock,
      ended: false,
      closed: false,
      text: () => Buffer.concat(chunks).toString("latin1"),
    };
    sock.on("data", (b) => chunks.push(b));
    sock.on("end", () => (c.ended = true));
    sock.on("close", () => (c.closed = true));
    sock.on("error", () => {});
    sock.once("connect", () => resolve(c));
    sock.once("error", reject);
  });
}

/** One of parseResponses()'s responses in the shape assertProblem() takes. */
const asResponse = (r) => ({
  status: r.status,
  headers: { "content-type": (/\r\ncontent-type: ([^\r]*)/i.exec(r.head) || [])[1] },
  text: r.body,
});

/** Writes b, waiting for the socket to drain (or the peer to go); false once the peer ended. */
async function writeOrEnd(c, b) {
  if (c.ended || c.closed) return false;
  if (!c.sock.write(b))
    await new Promise((r) => {
      c.sock.once("drain", r);
      c.sock.once("end", r);
      c.sock.once("close", r);
    });
  return !c.ended && !c.closed;
}

/**
 * The request heads in one connection's client-to-server bytes, in order: [{ method, target,
 * headers }] (header names lower-cased, repeated ones joined with ", "); bodies are skipped by
 * their own framing (chunked or Content-Length). Stops at an incomplete request.
 */
function requestHeads(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", i);
    if (end < 0) return out;
    const lines = buf.subarray(i, end).toString("latin1").split("\r\n");
    const [method, target] = lines[0].split(" ");
    const headers = {};
    for (const l of lines.slice(1)) {
      const k = l.indexOf(":");
      const name = l.slice(0, k).trim().toLowerCase();
      const v = l.slice(k + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${v}` : v;
    }
    out.push({ method, target, headers });
    i = end + 4;
    if (/chunked/i.test(headers["transfer-encoding"] || "")) {
      for (;;) {
        const le = buf.indexOf("\r\n", i);
        if (le < 0) return out;
        const size = Number.parseInt(buf.subarray(i, le).toString("latin1"), 16);
        i = le + 2;
        if (size > 0) {
          i += size + 2;
          continue;
        }
        for (;;) {
          const te = buf.indexOf("\r\n", i);
          if (te < 0) return out;
          const last = te === i;
          i = te + 2;
          if (last) break;
        }
        break;
      }
    } else if (headers["content-length"]) i += Number(headers["content-length"]);
  }
}

/**
 * A TCP proxy in front of `to` that passes bytes through untouched and keeps what each client
 * connection sent: { base, sent() (one Buffer per connection), close() }.
 */
async function recordingProxy(to) {
  const recs = [];
  const socks = new Set();
  const srv = net.createServer((client) => {
    const rec = [];
    recs.push(rec);
    const up = net.connect(to.port, "127.0.0.1");
    const done = () => {
      client.destroy();
      up.destroy();
    };
    for (const s of [client, up]) {
      socks.add(s);
      s.on("error", done);
      s.on("close", done);
    }
    client.on("data", (b) => rec.push(b));
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${srv.address().port}`,
    sent: () => recs.map((r) => Buffer.concat(r)),
    close: () =>
      new Promise((r) => {
        for (const s of socks) s.destroy();
        srv.close(r);
      }),
  };
}

/** Chunked encoding of a list of buffers, one chunk each, and the terminator. */
const chunkedList = (parts) =>
  Buffer.concat([
    ...parts.flatMap((p) => {
      const b = Buffer.from(p);
      return [Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")];
    }),
    Buffer.from("0\r\n\r\n"),
  ]);
const chunked = (...parts) => chunkedList(parts);

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

  test("the official SDK through a forwarding fetch (bodies re-sent as streams) drives an ACP session", async (t) => {
    // The SDK talks to a recording TCP proxy in front of the daemon, so that what reached the
    // daemon's socket is seen, not only what the fetch was asked to do.
    const proxy = await recordingProxy(d);
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
    const sdk = await SandboxAgent.connect({ baseUrl: proxy.base, fetch: forwarding });
    try {
      const session = await sdk.createSession({ agent: "mock", cwd: dir });
      const result = await session.prompt([{ type: "text", text: "through a proxy" }]);
      assert.deepEqual(result, { stopReason: "end_turn" });
      await sdk.writeFsFile({ path: path.join(dir, "via-proxy.txt") }, "proxied");
      assert.equal(fs.readFileSync(path.join(dir, "via-proxy.txt"), "utf8"), "proxied");
      assert.ok(streamed >= 3, `bodies went out as streams (${streamed})`);
    } finally {
      await sdk.dispose();
      await proxy.close();
    }
    const heads = proxy.sent().flatMap(requestHeads);
    const acp = heads.filter((h) => h.target.startsWith("/v1/acp/"));
    t.diagnostic(`/v1/acp requests on the wire: ${[...new Set(acp.map((h) => `${h.method} ${h.target}`))].join(" | ")}`);
    const posts = acp.filter((h) => h.method === "POST");
    assert.ok(posts.length >= 3, `initialize, session/new and session/prompt were POSTed: ${JSON.stringify(heads.map((h) => `${h.method} ${h.target}`))}`);
    for (const h of posts) {
      assert.equal(h.headers["transfer-encoding"], "chunked", `${h.method} ${h.target}: ${JSON.stringify(h.headers)}`);
      assert.equal(h.headers["content-length"], undefined, `${h.method} ${h.target}`);
    }
    const put = heads.find((h) => h.method === "PUT" && h.target.startsWith("/v1/fs/file?"));
    assert.ok(put, "the file write went through the proxy");
    assert.equal(put.headers["transfer-encoding"], "chunked", JSON.stringify(put.headers));
  });

  test("a chunked POST /v1/acp/{id} over 16 MiB decoded is 413 problem+json; 16 MiB exactly is taken", async () => {
    const message = (size) => {
      const pad = size - JSON.stringify({ jsonrpc: "2.0", method: "x", params: { p: "" } }).length;
      const m = Buffer.from(JSON.stringify({ jsonrpc: "2.0", method: "x", params: { p: "a".repeat(pad) } }));
      assert.equal(m.length, size);
      return m;
    };
    const split = (m, n) => {
      const parts = [];
      for (let i = 0; i < m.length; i += n) parts.push(m.subarray(i, i + n));
      return parts;
    };
    const post = async (id, body) => {
      const c = await openConn(d);
      const head = `POST /v1/acp/${id}?agent=mock HTTP/1.1\r\n${H}Content-Type: application/json\r\nAccept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const health = `GET /v1/health HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
      assert.ok(await writeOrEnd(c, Buffer.concat([Buffer.from(head), body, Buffer.from(health)])));
      await waitFor(() => c.closed, { timeout: 30000, what: "the connection to close" });
      return parseResponses(c.text());
    };
    // The limit counts decoded bytes: exactly LIM_ACP_LINE_BYTES in 16-byte chunks is 22 MiB on
    // the wire, and is taken (202: a notification).
    const exact = chunkedList(split(message(LIM_ACP_LINE_BYTES), 16));
    assert.ok(exact.length > LIM_ACP_LINE_BYTES + 5 * MIB);
    let rs = await post("chunked-exact", exact);
    assert.deepEqual(rs.map((x) => x.status), [202, 200], rs.map((x) => x.head).join("\n"));
    assert.equal((await request(d, { method: "DELETE", path: "/v1/acp/chunked-exact" })).status, 204);
    // One byte more, in 1 MiB chunks: 413, nothing created, and the connection stays in step
    // (the next request is answered after the 413).
    rs = await post("chunked-big", chunkedList(split(message(LIM_ACP_LINE_BYTES + 1), MIB)));
    assert.deepEqual(rs.map((x) => x.status), [413, 200], rs.map((x) => x.head).join("\n"));
    const p = assertProblem(asResponse(rs[0]), 413, "invalid_request");
    assert.match(p.detail, /limited to 16777216 bytes/);
    const servers = (await request(d, { path: "/v1/acp" })).json();
    assert.ok(!JSON.stringify(servers).includes("chunked-big"), `no server was created: ${JSON.stringify(servers)}`);
    await assertHealthWithin(d);
  });
});

describe("early replies to chunked requests (issue 9)", () => {
  // The reply goes out before the body has come; the rest of the body is read and dropped, and
  // the next request on the connection is answered after it, in order.
  const cases = [
    ["404 for an unknown path", () => d, () => `POST /v1/no-such-route HTTP/1.1\r\n${H}`, 404, "invalid_request", {}],
    [
      "401 without the token",
      () => dt,
      () => `PUT /v1/fs/file?path=${q(path.join(dir, "unauthorized.txt"))} HTTP/1.1\r\n${H}`,
      401,
      "token_invalid",
      { authorization: "Bearer T" },
    ],
  ];
  for (const [name, daemon, start, status, kind, auth] of cases) {
    test(`${name}, then a pipelined GET /v1/health on the same connection: both answered in order`, async () => {
      const to = daemon();
      const health = `GET /v1/health HTTP/1.1\r\n${H}${auth.authorization ? `Authorization: ${auth.authorization}\r\n` : ""}Connection: close\r\n\r\n`;
      // All at once.
      let r = await rawExchange(to, `${start()}Transfer-Encoding: chunked\r\n\r\n${chunked("hello", "world").toString("latin1")}${health}`);
      assert.deepEqual(parseResponses(r.text).map((x) => x.status), [status, 200], r.text);
      // The reply first, while the body is still to come (1 MiB of it); then the rest and the next request.
      const c = await openConn(to);
      c.sock.write(`${start()}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      await waitFor(() => parseResponses(c.text()).length === 1, { what: `the early ${status}` });
      const [first] = parseResponses(c.text());
      assert.equal(first.status, status, c.text());
      assert.match(first.head, /content-type: application\/problem\+json/i);
      assert.equal(JSON.parse(first.body).type, `urn:sandbox-agent:error:${kind}`);
      assert.equal(c.ended, false, "the connection stays open for the rest of the body");
      const rest = Buffer.alloc(MIB, 0x62);
      assert.ok(await writeOrEnd(c, Buffer.concat([chunked(rest.subarray(0, MIB / 2), rest.subarray(MIB / 2)), Buffer.from(health)])));
      await waitFor(() => c.closed, { what: "the close asked for by the second request" });
      const rs = parseResponses(c.text());
      assert.deepEqual(rs.map((x) => x.status), [status, 200], c.text());
      assert.equal(rs[1].body, '{"status":"ok"}');
      assert.equal(fs.existsSync(path.join(dir, "unauthorized.txt")), false);
      await assertHealthWithin(to);
    });
  }

  test("an early reply with more than LIM_DISCARD_BODY_BYTES still to come: the reply, then the connection is closed", async () => {
    const total = 64 * MIB; // one chunk declared up front
    const c = await openConn(d);
    c.sock.write(`POST /v1/no-such-route HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${total.toString(16)}\r\n`);
    await waitFor(() => parseResponses(c.text()).length === 1, { what: "the early 404" });
    const block = Buffer.alloc(256 * 1024, 0x63);
    let sent = 0;
    let sentAtEnd = null;
    c.sock.once("end", () => (sentAtEnd = sent));
    while (sent < total && !c.ended && !c.closed) {
      sent += block.length; // counted once handed to the socket
      if (!(await writeOrEnd(c, block))) break;
    }
    // Had the daemon read the whole body, it would answer this next request.
    if (!c.ended && !c.closed) await writeOrEnd(c, `\r\n0\r\n\r\nGET /v1/health HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    await waitFor(() => c.ended, { what: "the daemon to end the connection" });
    // It read and dropped up to the limit first (this many bytes had been handed to the socket
    // when its FIN came, at least as many as it read).
    assert.ok(sentAtEnd > LIM_DISCARD_BODY_BYTES, `ended after ${sentAtEnd} bytes, before the limit was reached`);
    const rs = parseResponses(c.text());
    assert.deepEqual(rs.map((x) => x.status), [404], c.text().slice(0, 500));
    assert.equal(c.text().length, rs[0].head.length + 4 + rs[0].body.length, "nothing after the reply");
    c.sock.destroy();
    await assertHealthWithin(d);
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
