// The official TypeScript SDK (sandbox-agent@0.4.2), unmodified, against agentd's ACP bridge and
// the built-in mock agent: createSession, prompt with every session/update kind the mock streams,
// permission requests answered through the SDK, mode/model/config options, destroySession while a
// prompt runs, dispose (the agent process goes), and the agent registry (listAgents, getAgent,
// installAgent).
//
// The reference's mock is echo-only, so its createSession + prompt never converge (spec 7.6):
// this file is expected to fail against the reference (AGENTD_REF=1).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import { api, assertJson, pidGone, pidStat, realTempDir, startServer, waitFor, sdkError } from "./harness.mjs";

const AGENT_IDS = ["claude", "codex", "opencode", "amp", "pi", "cursor", "mock"];
const CAPABILITIES = [
  "planMode",
  "permissions",
  "questions",
  "toolCalls",
  "toolResults",
  "textMessages",
  "images",
  "fileAttachments",
  "sessionLifecycle",
  "errorEvents",
  "reasoning",
  "status",
  "commandExecution",
  "fileChanges",
  "mcpTools",
  "streamingDeltas",
  "itemStarted",
  "sharedProcess",
];
const UPDATE_KINDS = [
  "user_message_chunk",
  "agent_thought_chunk",
  "agent_message_chunk",
  "plan",
  "tool_call",
  "tool_call_update",
  "usage_update",
];
// spec 6.1
const MOCK_CONFIG_OPTIONS = [
  {
    category: "model",
    currentValue: "mock",
    id: "model",
    name: "Model",
    options: [
      { name: "Mock", value: "mock" },
      { name: "Mock Fast", value: "mock-fast" },
    ],
    type: "select",
  },
  {
    category: "mode",
    currentValue: "normal",
    id: "mode",
    name: "Mode",
    options: [
      { name: "Normal", value: "normal" },
      { name: "Plan", value: "plan" },
    ],
    type: "select",
  },
  {
    category: "thought_level",
    currentValue: "low",
    id: "thought_level",
    name: "Thought Level",
    options: [
      { name: "Low", value: "low" },
      { name: "Medium", value: "medium" },
      { name: "High", value: "high" },
    ],
    type: "select",
  },
];

let d;
let sdk;
let work;

before(async () => {
  d = await startServer();
  sdk = await SandboxAgent.connect({ baseUrl: d.base });
  work = await realTempDir("agentd-sdk-acp-");
});

after(async () => {
  if (sdk) await sdk.dispose();
  if (d) await d.stop();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** Collects a session's events (SessionEvent: sender + JSON-RPC payload) from now on. */
function collect(session) {
  const events = [];
  const off = session.onEvent((e) => events.push(e));
  return { events, off };
}

const updates = (events) =>
  events.filter((e) => e.sender === "agent" && e.payload.method === "session/update").map((e) => e.payload.params);
const kinds = (events) => updates(events).map((p) => p.update.sessionUpdate);
const textOf = (events, kind) =>
  updates(events)
    .filter((p) => p.update.sessionUpdate === kind)
    .map((p) => p.update.content.text)
    .join("");

/**
 * Runs session.prompt(parts) and waits until the events observed for it include the agent's
 * response (they arrive on the SSE stream, possibly after prompt() resolved). Returns
 * { result, events } with the events from the prompt request to its response.
 */
async function promptAndCollect(session, parts, { onStart } = {}) {
  const c = collect(session);
  try {
    const pending = session.prompt(parts);
    if (onStart) await onStart(c.events);
    const result = await pending;
    const req = await waitFor(
      () => c.events.find((e) => e.sender === "client" && e.payload.method === "session/prompt"),
      { what: "the outbound session/prompt event" },
    );
    const id = req.payload.id;
    const resp = await waitFor(
      () => c.events.find((e) => e.sender === "agent" && e.payload.id === id && !e.payload.method),
      { what: `the response to prompt ${id} among the observed events` },
    );
    // The SDK observes the response from whichever copy comes first, the POST's reply or the
    // SSE stream's; on a loaded machine it can read the reply before the turn's updates (agentd
    // writes the updates first). Every completed mock turn ends with usage_update: wait for it
    // too (a cancelled turn ends early, with no usage).
    if (result?.stopReason !== "end_turn") return { result, events: c.events.slice(c.events.indexOf(req), c.events.indexOf(resp) + 1), all: c.events };
    const last = await waitFor(
      () =>
        c.events.findLast(
          (e, i) => i > c.events.indexOf(req) && e.payload.method === "session/update" && e.payload.params.update.sessionUpdate === "usage_update",
        ),
      { what: `the turn's last update (usage_update) for prompt ${id}` },
    );
    const end = Math.max(c.events.indexOf(resp), c.events.indexOf(last));
    const events = c.events.slice(c.events.indexOf(req), end + 1).filter((e) => e !== resp);
    events.push(resp);
    return { result, events, all: c.events };
  } finally {
    c.off();
  }
}

function mockAgentPids() {
  return fs
    .readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(pidStat)
    .filter((s) => s && s.ppid === d.pid && s.state !== "Z")
    .filter((s) => {
      try {
        return fs.readFileSync(`/proc/${s.pid}/cmdline`, "utf8").split("\0").includes("mock-agent");
      } catch {
        return false;
      }
    })
    .map((s) => s.pid);
}

// ---------------------------------------------------------------------------------------------
// the agent registry (before any session: mock is not installed yet)

describe("agent registry through the SDK", () => {
  test("listAgents: the seven agents in order, 18 capability booleans each", async () => {
    const { agents } = await sdk.listAgents();
    assert.deepEqual(agents.map((a) => a.id), AGENT_IDS);
    for (const a of agents) {
      assert.deepEqual(Object.keys(a.capabilities).sort(), [...CAPABILITIES].sort(), a.id);
      for (const k of CAPABILITIES) assert.equal(typeof a.capabilities[k], "boolean", `${a.id}.${k}`);
      assert.equal(typeof a.installed, "boolean", a.id);
      assert.equal(typeof a.credentialsAvailable, "boolean", a.id);
      assert.ok(!("configOptions" in a) && !("version" in a), `${a.id}: config fields only with config=true`);
    }
    const mock = agents.find((a) => a.id === "mock");
    for (const k of CAPABILITIES) assert.equal(mock.capabilities[k], k !== "sharedProcess", `mock.${k}`);
    assert.equal(mock.installed, false, "mock is not installed until /install (spec 6.1)");
    assert.equal(mock.credentialsAvailable, true);

    const withConfig = await sdk.listAgents({ config: true });
    assert.deepEqual(withConfig.agents.map((a) => a.id), AGENT_IDS);
    for (const a of withConfig.agents) {
      assert.ok(Array.isArray(a.configOptions) && a.configOptions.length > 0, `${a.id} configOptions`);
      assert.ok(a.configOptions.some((o) => o.category === "model"), `${a.id} has a model option`);
    }
  });

  test("getAgent('mock', {config:true}): builtin version and the spec's config options", async () => {
    const mock = await sdk.getAgent("mock", { config: true });
    assert.equal(mock.id, "mock");
    assert.equal(mock.version, "builtin");
    assert.deepEqual(mock.configOptions, MOCK_CONFIG_OPTIONS);
    assert.equal(mock.capabilities.sharedProcess, false);
    const plain = await sdk.getAgent("mock");
    assert.ok(!("configOptions" in plain));
    const err = await sdkError(() => sdk.getAgent("bogus"), 400, "unsupported_agent");
    assert.equal(err.problem.agent, "bogus");
    assert.match(err.problem.detail, /known agents: claude, codex, opencode, amp, pi, cursor, mock/);
  });

  test("installAgent('mock') twice: installed, then already installed", async () => {
    const first = await sdk.installAgent("mock");
    assert.equal(first.already_installed, false);
    assert.equal(first.artifacts.length, 1);
    const art = first.artifacts[0];
    assert.equal(art.kind, "agent_process");
    assert.equal(art.source, "builtin");
    assert.equal(art.version, "builtin");
    assert.ok(art.path.startsWith(`${d.home}/`), `${art.path} is under HOME`);
    fs.accessSync(art.path, fs.constants.X_OK);

    const second = await sdk.installAgent("mock");
    assert.deepEqual(second, { already_installed: true, artifacts: [] });
    assert.equal((await sdk.getAgent("mock")).installed, true);
    const again = await sdk.installAgent("mock", { reinstall: true });
    assert.equal(again.already_installed, false);
    assert.equal(again.artifacts[0].path, art.path);
    await sdkError(() => sdk.installAgent("bogus"), 400, "unsupported_agent");
  });
});

// ---------------------------------------------------------------------------------------------
// sessions

describe("sessions with the mock agent", () => {
  let session;

  test("createSession binds an agent session with modes and config options", async () => {
    session = await sdk.createSession({ agent: "mock", cwd: work });
    assert.equal(session.agent, "mock");
    assert.match(session.agentSessionId, /^mock-session-\d+$/);
    assert.deepEqual(
      (await session.getConfigOptions()).map((o) => [o.id, o.currentValue]),
      [
        ["model", "mock"],
        ["mode", "normal"],
        ["thought_level", "low"],
      ],
    );
    assert.equal((await session.getModes()).currentModeId, "normal");
    const { servers } = await sdk.listAcpServers();
    assert.equal(servers.length, 1);
    assert.match(servers[0].serverId, /^sdk-mock-/);
    assert.equal(servers[0].agent, "mock");
  });

  test("prompt streams every update kind and ends the turn", async () => {
    const text = "hello from the official SDK";
    const { result, events } = await promptAndCollect(session, [{ type: "text", text }]);
    assert.deepEqual(result, { stopReason: "end_turn" });

    const seen = kinds(events);
    for (const k of UPDATE_KINDS) assert.ok(seen.includes(k), `${k} in ${seen.join(",")}`);
    assert.equal(seen[0], "user_message_chunk", "the prompt is echoed first");
    assert.equal(seen.at(-1), "usage_update", "usage comes last");
    for (const p of updates(events)) assert.equal(p.sessionId, session.agentSessionId);

    assert.equal(textOf(events, "user_message_chunk"), text);
    assert.ok(seen.filter((k) => k === "agent_message_chunk").length >= 2, "the answer comes as several deltas");
    assert.equal(textOf(events, "agent_message_chunk"), `Echo: ${text}`);
    assert.match(textOf(events, "agent_thought_chunk"), /model mock, mode normal, thought level low/);

    const ups = updates(events).map((p) => p.update);
    const plan = ups.find((u) => u.sessionUpdate === "plan");
    assert.ok(plan.entries.length >= 1 && plan.entries.every((e) => e.content && e.status && e.priority));
    const call = ups.find((u) => u.sessionUpdate === "tool_call");
    const done = ups.find((u) => u.sessionUpdate === "tool_call_update");
    assert.equal(done.toolCallId, call.toolCallId);
    assert.equal(done.status, "completed");
    const usage = ups.find((u) => u.sessionUpdate === "usage_update");
    assert.ok(usage.used > 0 && usage.size > usage.used, JSON.stringify(usage));

    // The SDK persisted the same events.
    const stored = await sdk.getEvents({ sessionId: session.id, limit: 1000 });
    for (const e of events) assert.ok(stored.items.some((s) => s.id === e.id), "persisted");
  });

  test("the SDK's first SSE GET answered after its first POSTs: one stream, a prompt's updates before its result", async () => {
    // The SDK opens its SSE stream as it POSTs initialize, so the GET usually reaches agentd
    // before the server exists. Answered 404 at once (the reference does), a loaded client that
    // reads that 404 after session/new's reply keeps its stream down until the next write: the
    // first prompt restarts it, and its updates arrive after its result (a CI failure of this
    // file). This fetch delivers the first GET's answer only after session/new's reply, the
    // slowest order such a client produces.
    const gets = [];
    let newDone;
    const sessionNewReplied = new Promise((r) => (newDone = r));
    const slowFetch = async (input, init) => {
      const req = new Request(input, init);
      const isAcp = new URL(req.url).pathname.startsWith("/v1/acp/");
      const body = isAcp && req.method === "POST" ? await req.clone().text() : "";
      const res = await fetch(req);
      if (isAcp && req.method === "GET") {
        gets.push(res.status);
        if (gets.length === 1) await sessionNewReplied;
      }
      if (body.includes('"session/new"')) newDone();
      return res;
    };
    const slow = await SandboxAgent.connect({ baseUrl: d.base, fetch: slowFetch });
    try {
      const s = await slow.createSession({ agent: "mock", cwd: work });
      const text = "first prompt on a late stream";
      const { result, events } = await promptAndCollect(s, [{ type: "text", text }]);
      assert.deepEqual(result, { stopReason: "end_turn" });
      const seen = kinds(events);
      for (const k of UPDATE_KINDS) assert.ok(seen.includes(k), `${k} in ${seen.join(",")}`);
      assert.equal(textOf(events, "user_message_chunk"), text);
      assert.deepEqual(gets, [200], "one SSE GET, answered 200 once its server existed");
    } finally {
      await slow.dispose();
    }
  });

  test("a prompt that needs a permission: onPermissionRequest + respondPermission, outcome reported", async () => {
    for (const [reply, optionId, status] of [
      ["once", "allow-once", "completed"],
      ["reject", "reject-once", "failed"],
    ]) {
      const asked = [];
      const off = session.onPermissionRequest((req) => {
        asked.push(req);
        session.respondPermission(req.id, reply).catch((e) => asked.push(e));
      });
      let out;
      try {
        out = await promptAndCollect(session, [{ type: "text", text: "may I have permission to proceed?" }]);
      } finally {
        off();
      }
      assert.deepEqual(out.result, { stopReason: "end_turn" }, reply);
      assert.equal(asked.length, 1, `one permission request (${reply})`);
      const req = asked[0];
      assert.equal(req.sessionId, session.id);
      assert.equal(req.agentSessionId, session.agentSessionId);
      assert.deepEqual([...req.availableReplies].sort(), ["always", "once", "reject"]);
      assert.deepEqual(req.options.map((o) => o.optionId), ["allow-once", "allow-always", "reject-once"]);
      assert.equal(req.toolCall.title, "Mock privileged action");

      const ask = out.events.find((e) => e.sender === "agent" && e.payload.method === "session/request_permission");
      assert.ok(ask, "the request_permission envelope was observed");
      assert.equal(ask.payload.params.toolCall.toolCallId, req.toolCall.toolCallId);

      // The SDK's answer went back as a JSON-RPC response (POST, 202): the agent reports the
      // outcome it received.
      assert.match(textOf(out.events, "agent_message_chunk"), new RegExp(`^Permission outcome: selected ${optionId}\\. Echo: `));
      const permUpdate = updates(out.events)
        .map((p) => p.update)
        .find((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === req.toolCall.toolCallId);
      assert.ok(permUpdate, "the permission's tool call is updated");
      assert.equal(permUpdate.status, status);
    }
  });

  test("setMode, setModel and getConfigOptions change what the agent uses", async () => {
    await session.setMode("plan");
    assert.equal((await session.getModes()).currentModeId, "plan");
    const r = await session.setModel("mock-fast");
    assert.ok(Array.isArray(r.configOptions), JSON.stringify(r));
    assert.equal(r.configOptions.find((o) => o.id === "model").currentValue, "mock-fast");
    assert.deepEqual(
      (await session.getConfigOptions()).map((o) => [o.id, o.currentValue]),
      [
        ["model", "mock-fast"],
        ["mode", "plan"],
        ["thought_level", "low"],
      ],
    );
    // The agent itself uses them (its thought names the current values).
    const { events } = await promptAndCollect(session, [{ type: "text", text: "which settings?" }]);
    assert.match(textOf(events, "agent_thought_chunk"), /model mock-fast, mode plan, thought level low/);
    // Values the agent does not offer are refused before anything is sent.
    await assert.rejects(() => session.setModel("gpt-nonexistent"), /gpt-nonexistent|not supported|Unsupported/i);
  });

  test("destroySession while a slow prompt runs cancels the turn", async () => {
    const other = await sdk.createSession({ agent: "mock", cwd: work });
    assert.notEqual(other.agentSessionId, session.agentSessionId);
    assert.equal((await sdk.listAcpServers()).servers.length, 1, "one agent process per agent");
    const { result, events } = await promptAndCollect(other, [{ type: "text", text: "take it slow please" }], {
      onStart: async (evs) => {
        await waitFor(() => evs.some((e) => e.payload.params?.update?.sessionUpdate === "agent_thought_chunk"), {
          what: "the slow turn to be under way",
        });
        const destroyed = await sdk.destroySession(other.id);
        assert.ok(destroyed.destroyedAt > 0);
      },
    });
    assert.deepEqual(result, { stopReason: "cancelled" });
    assert.ok(
      events.some((e) => e.sender === "client" && e.payload.method === "session/cancel" && !("id" in e.payload)),
      "destroySession sent the session/cancel notification",
    );
    assert.ok(!kinds(events).includes("usage_update"), "the turn stopped before its end");
    // The first session is unaffected.
    const again = await promptAndCollect(session, [{ type: "text", text: "still there?" }]);
    assert.deepEqual(again.result, { stopReason: "end_turn" });
  });

  test("dispose deletes the server and the agent process goes", async () => {
    const before = mockAgentPids();
    assert.equal(before.length, 1, `one mock agent process: ${before}`);
    await sdk.dispose();
    sdk = null;
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/acp")).servers, []);
    await waitFor(() => pidGone(before[0]), { timeout: 2500, what: "the mock agent to exit after dispose" });
    assert.deepEqual(mockAgentPids(), []);
    // A new client starts over with a new agent process.
    sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const s2 = await sdk.createSession({ agent: "mock", cwd: path.join(work) });
    const { result } = await promptAndCollect(s2, [{ type: "text", text: "new client" }]);
    assert.deepEqual(result, { stopReason: "end_turn" });
    assert.equal(mockAgentPids().length, 1);
  });
});
