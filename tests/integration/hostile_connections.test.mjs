// Hostile input, family 6: connection counts. Past the cap a connection gets a 503 problem and
// is closed (never left hanging unaccepted); idle keep-alive connections give their slots back
// quickly when slots run short; 2,000 connections are held with health still answering. None of
// it changes anything on disk (the daemon's cwd, where `cat` runs, and its HOME).
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {
  startDaemon,
  assertHealthWithin,
  request,
  waitFor,
  procCreate,
  procKillQuietly,
  snapshot,
  assertUnchanged,
} from "./harness.mjs";

/** Snapshots of the daemon's cwd and HOME, to compare with assertDiskUnchanged(). */
const diskOf = async (d) => ({ cwd: await snapshot(d.cwd), home: await snapshot(d.home) });
async function assertDiskUnchanged(d, before) {
  await assertUnchanged(d.cwd, before.cwd, "the daemon's cwd changed");
  await assertUnchanged(d.home, before.home, "the daemon's HOME changed");
}

/** Opens n connections; each may first send `hello` (and read its reply). */
async function openMany(d, n, hello = null) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(d.port, "127.0.0.1");
    const c = { s, data: "", closed: false };
    s.on("data", (b) => (c.data += b.toString("latin1")));
    s.on("close", () => (c.closed = true));
    s.on("error", () => {});
    if (hello) s.write(hello);
    socks.push(c);
  }
  await waitFor(() => socks.every((c) => c.closed || c.s.readyState === "open"), { timeout: 20000, what: `${n} connections` });
  return socks;
}

describe("connection limits", () => {
  const daemons = [];
  after(async () => {
    for (const d of daemons) await d.stop();
  });

  test("past the cap: 503 problem+json and close; a freed slot serves again", async () => {
    const d = await startDaemon({ env: { AGENTD_MAX_CONNECTIONS: "40" } });
    daemons.push(d);
    const disk = await diskOf(d);
    const held = await openMany(d, 40);
    await waitFor(async () => (await request(d, { path: "/v1/health", timeout: 2000 }).catch(() => null))?.status === 503, {
      what: "the cap to be reached",
    });
    const extra = await openMany(d, 5, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await waitFor(() => extra.every((c) => c.closed), { what: "the refused connections to be closed" });
    for (const c of extra) {
      assert.match(c.data, /^HTTP\/1\.1 503 /);
      assert.match(c.data, /application\/problem\+json/);
      assert.match(c.data, /too many open connections/);
    }
    for (const c of held.slice(0, 10)) c.s.destroy();
    await waitFor(async () => (await request(d, { path: "/v1/health", timeout: 1000 }).catch(() => null))?.status === 200, {
      what: "health once slots are free",
    });
    // Once slots are free, health answers promptly from a fresh connection.
    for (let i = 0; i < 5; i++) await assertHealthWithin(d, 0, `probe ${i}`);
    for (const c of held) c.s.destroy();
    await assertHealthWithin(d);
    await assertDiskUnchanged(d, disk);
  });

  test("idle keep-alive connections are let go after 2 s when more than half the slots are used", async () => {
    const d = await startDaemon({ env: { AGENTD_MAX_CONNECTIONS: "40" } });
    daemons.push(d);
    const disk = await diskOf(d);
    // 30 connections that each did one request and now sit idle (keep-alive).
    const idle = await openMany(d, 30, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await waitFor(() => idle.every((c) => c.data.includes('{"status":"ok"}')), { what: "30 answers" });
    const t0 = Date.now();
    await waitFor(() => idle.every((c) => c.closed), { timeout: 10000, what: "the idle connections to be let go" });
    assert.ok(Date.now() - t0 < 8000, "well before the 60 s idle timeout");
    await assertHealthWithin(d);
    await assertDiskUnchanged(d, disk);
  });

  test("2,000 concurrent connections (1,800 idle keep-alive, 200 SSE followers): health still answers", async () => {
    const d = await startDaemon();
    daemons.push(d);
    const disk = await diskOf(d);
    const p = await procCreate(d, { command: "cat" });
    try {
      const idle = await openMany(d, 1800, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      const sse = await openMany(d, 200, `GET /v1/processes/${p.id}/logs?follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await waitFor(() => idle.every((c) => c.data.includes('{"status":"ok"}')), { timeout: 30000, what: "1,800 answers" });
      await waitFor(() => sse.every((c) => c.data.includes("text/event-stream")), { timeout: 30000, what: "200 log followers" });
      for (let i = 0; i < 20; i++) await assertHealthWithin(d, 0, `probe ${i}`);
      assert.ok(idle.every((c) => !c.closed) && sse.every((c) => !c.closed), "all 2,000 are still held");
      for (const c of [...idle, ...sse]) c.s.destroy();
    } finally {
      await procKillQuietly(d, p.id);
    }
    await assertDiskUnchanged(d, disk);
  });
});
