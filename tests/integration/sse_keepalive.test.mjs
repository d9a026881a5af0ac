// Every event stream comes from one SSE source (stream/sse.c) and keeps the reference's
// keep-alive comment per stream: a lone colon for process logs and fs watch, `: heartbeat` for
// ACP (spec 3.7 and 7.3). The interval is shortened with AGENTD_SSE_KEEPALIVE_MS.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startDaemon, procCreate, procKillQuietly, postJson, realTempDir, q } from "./harness.mjs";

/** GETs p as text/event-stream and resolves with the raw body once pred(text) holds. */
function rawUntil(d, p, pred, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: d.port, path: p, headers: { accept: "text/event-stream", ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        text += c;
        if (pred(text)) {
          req.destroy();
          resolve({ status: res.statusCode, type: res.headers["content-type"], text });
        }
      });
      res.on("end", () => reject(new Error(`stream ended: ${JSON.stringify(text)}`)));
    });
    req.on("error", (e) => (e.code === "ECONNRESET" ? null : reject(e)));
    req.setTimeout(10000, () => req.destroy(new Error("no keep-alive within 10 s")));
  });
}

const count = (text, s) => text.split(s).length - 1;

describe("SSE keep-alives", () => {
  let d;
  before(async () => {
    d = await startDaemon({ env: { AGENTD_SSE_KEEPALIVE_MS: "100" } });
  });
  after(async () => {
    await d.stop();
  });

  test("process logs: a lone colon", async () => {
    const p = await procCreate(d, { command: "sleep", args: ["30"] });
    try {
      const r = await rawUntil(d, `/v1/processes/${p.id}/logs?follow=true`, (t) => count(t, ":\n\n") >= 2);
      assert.equal(r.status, 200);
      assert.match(r.type, /^text\/event-stream/);
      assert.match(r.text, /^(:\n\n)+$/, "nothing but keep-alives from a silent process");
    } finally {
      await procKillQuietly(d, p.id);
    }
  });

  test("ACP: `: heartbeat`", async () => {
    const init = await postJson(d, "/v1/acp/ka?agent=mock", { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: 1 } });
    assert.equal(init.status, 200);
    const r = await rawUntil(d, "/v1/acp/ka", (t) => count(t, ": heartbeat\n\n") >= 2, { "last-event-id": "2" });
    assert.equal(r.status, 200);
    assert.match(r.text, /^(: heartbeat\n\n)+$/, "the events up to id 2 are skipped, then only heartbeats");
  });

  test("fs watch: a lone colon after ready", async () => {
    const dir = await realTempDir("agentd-ka-");
    const r = await rawUntil(d, `/v1/fs/watch?path=${q(dir)}`, (t) => count(t, "\n:\n\n") >= 2);
    assert.equal(r.status, 200);
    assert.match(r.text, /^event: ready\n(id: \d+\n)?data: .*\n\n(:\n\n)+$/);
  });
});
