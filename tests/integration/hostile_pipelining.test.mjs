// Hostile input, family 1: pipelined requests. Several requests written back to back in one
// write on one connection must be answered in order, each exactly once; afterwards the daemon
// answers /v1/health from another connection within 100 ms and nothing else changed on disk.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  startDaemon,
  rawExchange,
  parseResponses,
  assertHealthWithin,
  snapshot,
  assertUnchanged,
  realTempDir,
  procCreate,
  procKillQuietly,
  q,
} from "./harness.mjs";

let d;
let dir;
before(async () => {
  d = await startDaemon();
  dir = await realTempDir("agentd-pipe-");
});
after(async () => {
  if (d) await d.stop();
});

const H = "Host: 127.0.0.1\r\n";
const get = (p, extra = "") => `GET ${p} HTTP/1.1\r\n${H}${extra}\r\n`;
const put = (file, body, extra = "") =>
  `PUT /v1/fs/file?path=${q(file)} HTTP/1.1\r\n${H}Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const last = "Connection: close\r\n";

/** Sends the requests in one write; returns the statuses of the responses, in order. */
async function pipeline(bytes, { expect, changed = [] }) {
  const before = await snapshot(dir);
  const r = await rawExchange(d, bytes, { timeout: 5000 });
  const rs = parseResponses(r.text);
  assert.deepEqual(rs.map((x) => x.status), expect, r.text.slice(0, 2000));
  assert.ok(r.closedByPeer, "the last request asked to close");
  await assertHealthWithin(d);
  // Only the entries the requests wrote changed.
  const skip = new Set(changed.map((f) => path.relative(dir, f)));
  const keep = (snap) => snap.filter(([rel]) => !skip.has(rel));
  assert.deepEqual(keep(await snapshot(dir)), keep(before), "nothing else changed on disk");
  return rs;
}

describe("pipelined requests are answered in order", () => {
  test("GET then PUT with a body (the one-packet hang)", async () => {
    const f = path.join(dir, "p1");
    const rs = await pipeline(get("/v1/health") + put(f, "hey", last), { expect: [200, 200], changed: [f] });
    assert.equal(rs[0].body, '{"status":"ok"}');
    assert.deepEqual(JSON.parse(rs[1].body), { path: f, bytesWritten: 3 });
    assert.equal(fs.readFileSync(f, "utf8"), "hey", "the body is the body, not the request's own head");
  });

  test("GET then GET", async () => {
    await pipeline(get("/v1/health") + get("/v1/health", last), { expect: [200, 200] });
  });

  test("PUT then GET", async () => {
    const f = path.join(dir, "p2");
    await pipeline(put(f, "first") + get("/v1/health", last), { expect: [200, 200], changed: [f] });
    assert.equal(fs.readFileSync(f, "utf8"), "first");
  });

  test("POST with a JSON body then GET", async () => {
    const body = JSON.stringify({ command: "echo", args: ["piped"] });
    const post = `POST /v1/processes/run HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const rs = await pipeline(post + get("/v1/health", last), { expect: [200, 200] });
    assert.equal(JSON.parse(rs[0].body).stdout, "piped\n");
  });

  test("a bodiless POST then a PUT with a body", async () => {
    const sub = path.join(dir, "made");
    const f = path.join(dir, "p3");
    const post = `POST /v1/fs/mkdir?path=${q(sub)} HTTP/1.1\r\n${H}\r\n`;
    await pipeline(post + put(f, "after a bodiless POST", last), { expect: [200, 200], changed: [sub, f] });
    assert.ok(fs.statSync(sub).isDirectory());
    assert.equal(fs.readFileSync(f, "utf8"), "after a bodiless POST");
  });

  test("a chunked PUT then GET then a Content-Length PUT", async () => {
    const f = path.join(dir, "p4");
    const g = path.join(dir, "p5");
    const chunked = `PUT /v1/fs/file?path=${q(f)} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`;
    await pipeline(chunked + get("/v1/health") + put(g, "xyz", last), { expect: [200, 200, 200], changed: [f, g] });
    assert.equal(fs.readFileSync(f, "utf8"), "abcde");
    assert.equal(fs.readFileSync(g, "utf8"), "xyz");
  });

  test("Expect: 100-continue with the body already sent, then GET", async () => {
    const f = path.join(dir, "p6");
    const rs = await pipeline(put(f, "continued", "Expect: 100-continue\r\n") + get("/v1/health", last), {
      expect: [100, 200, 200],
      changed: [f],
    });
    assert.match(rs[0].head, /^HTTP\/1\.1 100 Continue$/);
    assert.equal(fs.readFileSync(f, "utf8"), "continued");
  });

  test("a request answered early (401 before its body) then another", async () => {
    const t = await startDaemon({ token: "T" });
    try {
      const f = path.join(dir, "p7");
      const bytes = put(f, "unauthorised") + get("/v1/health", `Authorization: Bearer T\r\n${last}`);
      const r = await rawExchange(t, bytes);
      assert.deepEqual(parseResponses(r.text).map((x) => x.status), [401, 200]);
      assert.equal(fs.existsSync(f), false);
      await assertHealthWithin(t);
    } finally {
      await t.stop();
    }
  });

  test("a POST without Content-Length has no body (RFC 9112): the next request follows, Connection: close is honoured", async () => {
    const sub = path.join(dir, "nocl");
    const post = `POST /v1/fs/mkdir?path=${q(sub)} HTTP/1.1\r\n${H}\r\n`;
    await pipeline(post + get("/v1/health", last), { expect: [200, 200], changed: [sub] });
    // Connection: close on the POST itself: answered, then closed (not held open).
    const r = await rawExchange(d, `POST /v1/fs/mkdir?path=${q(sub)} HTTP/1.1\r\n${H}${last}\r\n`);
    assert.deepEqual(parseResponses(r.text).map((x) => x.status), [200]);
    assert.ok(r.closedByPeer);
  });

  test("a hundred GETs in one write", async () => {
    const bytes = get("/v1/health").repeat(99) + get("/v1/health", last);
    const rs = await pipeline(bytes, { expect: Array(100).fill(200) });
    assert.ok(rs.every((x) => x.body === '{"status":"ok"}'));
  });

  test("a WebSocket upgrade after a GET, in the same write", async () => {
    const p = await procCreate(d, { command: "cat", tty: true });
    try {
      const key = Buffer.from("0123456789abcdef").toString("base64");
      const upgrade =
        `GET /v1/processes/${p.id}/terminal/ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;
      const r = await rawExchange(d, get("/v1/health") + upgrade, {
        until: (t) => /"type":"ready"/.test(t),
      });
      const rs = parseResponses(r.text);
      assert.deepEqual(rs.map((x) => x.status), [200, 101], r.text.slice(0, 1000));
      assert.match(rs[1].head, /sec-websocket-accept: /i);
      assert.match(r.text, /"type":"ready"/, "the terminal's first frame arrived");
      await assertHealthWithin(d);
    } finally {
      await procKillQuietly(d, p.id);
    }
  });

  test("a request that is only partly sent before the close does not run", async () => {
    const f = path.join(dir, "p8");
    const before = await snapshot(dir);
    const r = await rawExchange(d, get("/v1/health") + put(f, "complete").slice(0, -3), { timeout: 300 });
    assert.deepEqual(parseResponses(r.text).map((x) => x.status), [200]);
    await assertHealthWithin(d);
    await assertUnchanged(dir, before);
  });
});
