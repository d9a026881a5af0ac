// Hostile input, family 2: oversized and malformed request heads, and slowloris. Every case
// gets a status (never a silent close), the daemon keeps answering others within 100 ms, and
// nothing changes on disk.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {
  startDaemon,
  rawExchange,
  parseResponses,
  assertHealthWithin,
  snapshot,
  assertUnchanged,
  realTempDir,
  request,
  waitFor,
} from "./harness.mjs";

const H = "Host: 127.0.0.1\r\n";

describe("oversized heads get 414/431 problems, then the connection closes", () => {
  let d;
  let dir;
  before(async () => {
    d = await startDaemon();
    dir = await realTempDir("agentd-heads-");
  });
  after(async () => {
    if (d) await d.stop();
  });

  const cases = [
    ["a 64 KiB header line", () => `GET /v1/health HTTP/1.1\r\n${H}X-Big: ${"a".repeat(65536)}\r\n\r\n`, 431],
    ["10,000 header lines", () => `GET /v1/health HTTP/1.1\r\n${H}${"X: 1\r\n".repeat(10000)}\r\n`, 431],
    ["101 header lines (just past the count limit)", () => `GET /v1/health HTTP/1.1\r\n${H}${"X: 1\r\n".repeat(100)}\r\n`, 431],
    ["a 64 KiB URI", () => `GET /v1/fs/stat?path=/${"b".repeat(65536)} HTTP/1.1\r\n${H}\r\n`, 414],
    ["a 9 KiB query string", () => `GET /v1/fs/stat?path=/${"c".repeat(9000)} HTTP/1.1\r\n${H}\r\n`, 414],
    ["HTTP/2.0 in the request line", () => `GET /v1/health HTTP/2.0\r\n${H}\r\n`, 505],
    ["no version", () => `GET /v1/health\r\n${H}\r\n`, 400],
    ["a NUL in a header", () => `GET /v1/health HTTP/1.1\r\n${H}X: a\0b\r\n\r\n`, 400],
    ["a lowercase method", () => `get /v1/health HTTP/1.1\r\n${H}\r\n`, 405],
    ["an absolute-form target", () => `GET http://127.0.0.1/v1/health HTTP/1.1\r\n${H}\r\n`, 400],
  ];
  for (const [name, bytes, status] of cases) {
    test(name, async () => {
      const before = await snapshot(dir);
      const r = await rawExchange(d, bytes());
      const rs = parseResponses(r.text);
      assert.equal(rs.length, 1, r.text.slice(0, 500));
      assert.equal(rs[0].status, status, r.text.slice(0, 500));
      assert.match(rs[0].head, /content-type: application\/problem\+json/i);
      assert.match(rs[0].head, /\r\nconnection: close/i);
      const p = JSON.parse(rs[0].body);
      assert.equal(p.status, status);
      assert.ok(p.detail.length > 10, p.detail);
      assert.ok(r.closedByPeer);
      await assertHealthWithin(d);
      await assertUnchanged(dir, before);
    });
  }

  test("a 15 KiB header (under the limit) is fine", async () => {
    const r = await rawExchange(d, `GET /v1/health HTTP/1.1\r\n${H}X-Ok: ${"d".repeat(15000)}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(parseResponses(r.text).map((x) => x.status), [200]);
  });
});

describe("slowloris", () => {
  let d;
  before(async () => {
    // A short header deadline so that the test sees the slots freed.
    d = await startDaemon({ env: { AGENTD_HEADER_TIMEOUT_MS: "2500" } });
  });
  after(async () => {
    if (d) await d.stop();
  });

  test("200 connections sending a header byte per second: others are served, and the slow ones get 408", async () => {
    const cwdBefore = await snapshot(d.cwd);
    const homeBefore = await snapshot(d.home);
    const slow = [];
    for (let i = 0; i < 200; i++) {
      const s = net.connect(d.port, "127.0.0.1");
      const c = { s, data: "", closed: false };
      s.on("data", (b) => (c.data += b.toString("latin1")));
      s.on("close", () => (c.closed = true));
      s.on("error", () => {});
      slow.push(c);
    }
    await waitFor(() => slow.every((c) => c.s.readyState === "open"), { what: "200 connections" });
    const text = "GET /v1/health HTTP/1.1\r\nX-Slow: aaaaaaaaaa";
    let sent = 0;
    const drip = () => {
      for (const c of slow) if (!c.closed) c.s.write(text[sent] || "a");
      sent++;
    };
    drip();
    const timer = setInterval(drip, 1000);
    try {
      // While they dribble, other clients are served promptly (probes back to back for 2 s).
      const t0 = Date.now();
      let probes = 0;
      while (Date.now() - t0 < 2000) {
        await assertHealthWithin(d, 0, `probe ${probes}`);
        const r = await request(d, { path: "/v1/fs/stat?path=/", timeout: 1000 });
        assert.equal(r.status, 200);
        probes++;
      }
      assert.ok(probes >= 5, `${probes} probes`);
      // The header deadline frees every slow slot, with a 408 first.
      await waitFor(() => slow.every((c) => c.closed), { timeout: 8000, what: "the slow connections to be closed" });
    } finally {
      clearInterval(timer);
      for (const c of slow) c.s.destroy();
    }
    const answered = slow.filter((c) => /^HTTP\/1\.1 408 /.test(c.data)).length;
    assert.equal(answered, 200, "each slow connection got a 408 before the close");
    assert.match(slow[0].data, /application\/problem\+json/);
    await assertHealthWithin(d);
    await assertUnchanged(d.cwd, cwdBefore, "the daemon's cwd changed");
    await assertUnchanged(d.home, homeBefore, "the daemon's HOME changed");
  });

  test("a connection that sends nothing is closed after the header deadline", async () => {
    const s = net.connect(d.port, "127.0.0.1");
    let closed = false;
    let data = "";
    s.on("data", (b) => (data += b));
    s.on("close", () => (closed = true));
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    // While it sits there, others are served promptly.
    await assertHealthWithin(d, 0, "while the silent connection is open");
    assert.equal(closed, false, "the silent connection is still open");
    await waitFor(() => closed, { timeout: 8000, what: "the idle connection to be closed" });
    assert.equal(data, "", "nothing was sent, so nothing is answered");
    await assertHealthWithin(d, 0, "after the silent connection was closed");
  });
});
