// The official SDKs against `agentd mock-agent`:
//  * @agentclientprotocol/sdk's ClientSideConnection straight over the mock's stdio (the ACP
//    reference client: it validates every session/update and permission request it receives);
//  * the sandbox-agent SDK's high-level session flow (createSession with mode/model/thought
//    level, prompt with onEvent, onPermissionRequest + respondPermission, setMode, setModel,
//    getConfigOptions, destroySession, dispose), carried by a deliberately tiny in-test HTTP
//    bridge that implements the wire of spec 7.2-7.4 (POST, SSE with ids and replay, DELETE).
//    The bridge only moves lines; whatever converges here is the mock's doing (the reference's
//    echo mock loops forever in createSession + prompt, spec 7.6).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Readable, Writable } from "node:stream";
import { spawn } from "node:child_process";
import { ClientSideConnection, ndJsonStream } from "@agentclientprotocol/sdk";
import { SandboxAgent } from "sandbox-agent";
import { AGENTD_BIN, waitFor } from "./harness.mjs";

const UPDATE_KINDS = ["user_message_chunk", "agent_thought_chunk", "plan", "tool_call", "tool_call_update",
  "agent_message_chunk", "usage_update"];

/** Resolves when pred() is true, re-checking on every call of the returned `poke`. */
function condition(pred, what, timeout = 10000) {
  let poke;
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeout);
    poke = () => {
      if (pred()) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  return { promise: p, poke: () => poke() };
}

describe("ACP reference client (ClientSideConnection) over stdio", () => {
  test("initialize, newSession, setSessionMode, setSessionConfigOption, prompt with a permission, cancel", async () => {
    const child = spawn(AGENTD_BIN, ["mock-agent"], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    const updates = [];
    const permissions = [];
    const validationErrors = [];
    const origError = console.error;
    // The SDK reports schema violations of notifications through console.error; make them fatal.
    console.error = (...args) => validationErrors.push(args.map(String).join(" "));
    let seen = () => {};
    try {
      const stream = ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout));
      const conn = new ClientSideConnection(() => ({
        async sessionUpdate(n) {
          updates.push(n);
          seen();
        },
        async requestPermission(req) {
          permissions.push(req);
          return { outcome: { outcome: "selected", optionId: "allow-always" } };
        },
      }), stream);

      const init = await conn.initialize({ protocolVersion: 1, clientCapabilities: {} });
      assert.equal(init.protocolVersion, 1);
      const s = await conn.newSession({ cwd: "/tmp", mcpServers: [] });
      assert.equal(s.modes.currentModeId, "normal");
      await conn.setSessionMode({ sessionId: s.sessionId, modeId: "plan" });
      const cfg = await conn.setSessionConfigOption({ sessionId: s.sessionId, configId: "model", value: "mock-fast" });
      assert.equal(cfg.configOptions.find((o) => o.id === "model").currentValue, "mock-fast");
      assert.equal(cfg.configOptions.find((o) => o.id === "mode").currentValue, "plan");

      const from = updates.length;
      const res = await conn.prompt({ sessionId: s.sessionId, prompt: [{ type: "text", text: "ask permission first" }] });
      assert.equal(res.stopReason, "end_turn");
      assert.equal(permissions.length, 1);
      assert.equal(permissions[0].sessionId, s.sessionId);
      const mine = updates.slice(from).map((n) => n.update);
      for (const k of UPDATE_KINDS) assert.ok(mine.some((u) => u.sessionUpdate === k), `missing ${k}`);
      const reply = mine.filter((u) => u.sessionUpdate === "agent_message_chunk").map((u) => u.content.text).join("");
      assert.equal(reply, "Permission outcome: selected allow-always. Echo: ask permission first");

      // Cancel a slow prompt once its reply has started.
      const started = condition(() => updates.some((n, i) => i > from + mine.length && n.update.sessionUpdate === "agent_message_chunk"),
        "the slow reply to start");
      seen = started.poke;
      const slow = conn.prompt({ sessionId: s.sessionId, prompt: [{ type: "text", text: "a slow answer that takes a while to write out" }] });
      await started.promise;
      await conn.cancel({ sessionId: s.sessionId });
      assert.equal((await slow).stopReason, "cancelled");
      assert.deepEqual(validationErrors, []);
    } finally {
      console.error = origError;
      child.stdin.end();
    }
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
  });
});

/**
 * The smallest bridge the sandbox-agent SDK can talk to: GET /v1/health, and /v1/acp/{id} with
 * POST (first one spawns `agentd mock-agent`; requests wait for their response, the rest get
 * 202), GET (SSE with numeric ids, replay, Last-Event-ID) and DELETE (closes the agent's stdin).
 */
function startBridge() {
  const servers = new Map();
  const stats = { posts: [], agents: [] };
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/v1/health") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    const m = /^\/v1\/acp\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const id = decodeURIComponent(m[1]);
    let s = servers.get(id);
    if (req.method === "DELETE") {
      if (s) {
        servers.delete(id);
        s.child.stdin.end();
        for (const sub of s.subs) sub.end();
      }
      res.writeHead(204).end();
      return;
    }
    if (req.method === "GET") {
      if (!s) {
        res.writeHead(404, { "content-type": "application/json" }).end("{}");
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const last = Number(req.headers["last-event-id"] || 0);
      for (const e of s.events) if (e.id > last) res.write(`event: message\nid: ${e.id}\ndata: ${e.line}\n\n`);
      s.subs.add(res);
      req.on("close", () => s.subs.delete(res));
      return;
    }
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const msg = JSON.parse(body);
      stats.posts.push(msg);
      if (!s) {
        const child = spawn(AGENTD_BIN, ["mock-agent"], { stdio: ["pipe", "pipe", "inherit"] });
        s = { child, events: [], subs: new Set(), waiting: new Map(), next: 1 };
        servers.set(id, s);
        const agent = { child, exited: new Promise((r) => child.on("exit", (code, signal) => r({ code, signal }))) };
        stats.agents.push(agent);
        let buf = "";
        const server = s;
        child.stdout.on("data", (c) => {
          buf += c;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            const ev = { id: server.next++, line };
            server.events.push(ev);
            for (const sub of server.subs) sub.write(`event: message\nid: ${ev.id}\ndata: ${line}\n\n`);
            const out = JSON.parse(line);
            if (!out.method && server.waiting.has(JSON.stringify(out.id))) {
              server.waiting.get(JSON.stringify(out.id))(line);
              server.waiting.delete(JSON.stringify(out.id));
            }
          }
        });
      }
      if (msg.method && "id" in msg) {
        s.waiting.set(JSON.stringify(msg.id), (line) => res.writeHead(200, { "content-type": "application/json" }).end(line));
      } else {
        res.writeHead(202).end();
      }
      s.child.stdin.write(`${JSON.stringify(msg)}\n`);
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () => resolve({
      base: `http://127.0.0.1:${srv.address().port}`,
      stats,
      async close() {
        for (const s of servers.values()) s.child.stdin.end();
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      },
    })));
}

describe("sandbox-agent SDK high-level flow against the mock", () => {
  let bridge;
  let sdk;

  before(async () => {
    bridge = await startBridge();
    sdk = await SandboxAgent.connect({ baseUrl: bridge.base });
  });

  after(async () => {
    if (sdk) await sdk.dispose();
    if (bridge) await bridge.close();
  });

  test("createSession, prompt with every update kind, permission, setMode/setModel, destroySession, dispose", async () => {
    const session = await sdk.createSession({ agent: "mock", cwd: "/tmp", mode: "plan", model: "mock-fast", thoughtLevel: "high" });
    assert.match(session.agentSessionId, /^mock-session-\d+$/);
    // createSession converged: exactly one session/new, and the requested values were applied.
    assert.equal(bridge.stats.posts.filter((p) => p.method === "session/new").length, 1);
    let opts = await session.getConfigOptions();
    const value = (id) => opts.find((o) => o.id === id).currentValue;
    assert.deepEqual([value("mode"), value("model"), value("thought_level")], ["plan", "mock-fast", "high"]);
    assert.equal((await session.getModes()).currentModeId, "plan");

    const events = [];
    session.onEvent((e) => events.push(e));
    const asked = [];
    session.onPermissionRequest((p) => {
      asked.push(p);
      void session.respondPermission(p.id, "once");
    });

    const res = await session.prompt([{ type: "text", text: "hello with permission" }]);
    assert.equal(res.stopReason, "end_turn");
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0].availableReplies.sort(), ["always", "once", "reject"]);
    // The response may overtake the notifications (POST body vs SSE), as with any ACP bridge.
    const sessionUpdates = () =>
      events.map((e) => e.payload).filter((p) => p.method === "session/update").map((p) => p.params.update);
    await waitFor(() => sessionUpdates().some((u) => u.sessionUpdate === "usage_update"), { what: "the turn's usage_update" });
    const updates = sessionUpdates();
    for (const k of UPDATE_KINDS) assert.ok(updates.some((u) => u.sessionUpdate === k), `missing ${k} in SDK events`);
    const reply = updates.filter((u) => u.sessionUpdate === "agent_message_chunk").map((u) => u.content.text).join("");
    assert.equal(reply, "Permission outcome: selected allow-once. Echo: hello with permission");
    assert.match(updates.find((u) => u.sessionUpdate === "agent_thought_chunk").content.text, /mode plan.*thought level high/);

    await session.setMode("normal");
    await session.setModel("mock");
    opts = await session.getConfigOptions();
    assert.deepEqual([value("mode"), value("model")], ["normal", "mock"]);
    // Values the mock does not offer are refused (client-side, from the mock's own options).
    await assert.rejects(() => session.setModel("gpt-9"), /does not support value 'gpt-9'/);

    const second = await session.prompt([{ type: "text", text: "plain" }]);
    assert.equal(second.stopReason, "end_turn");

    const destroyed = await sdk.destroySession(session.id);
    assert.ok(destroyed.destroyedAt);
    // The SDK posts notifications without waiting for them.
    const cancel = await waitFor(() => bridge.stats.posts.find((p) => p.method === "session/cancel"), { what: "session/cancel" });
    assert.deepEqual(cancel.params, { sessionId: session.agentSessionId });
    assert.ok(!("id" in cancel), "session/cancel is a notification");
    // Still one session/new for the whole flow.
    assert.equal(bridge.stats.posts.filter((p) => p.method === "session/new").length, 1);

    await sdk.dispose();
    sdk = null;
    // dispose sent DELETE; the bridge closed the agent's stdin and the mock exited cleanly.
    for (const a of bridge.stats.agents) assert.deepEqual(await a.exited, { code: 0, signal: null });
  });
});
