// `agentd mock-agent`, the built-in ACP agent, driven directly over stdio with raw JSON-RPC lines.
// Every message it sends is checked against the ACP schema (acp_stdio.mjs). Covered: initialize,
// authenticate, session/new (modes, configOptions of spec 6.1), set_mode / set_model /
// set_config_option and their notifications, a prompt's full update sequence, the permission
// round trip (allow, reject, cancelled, cancel while waiting), session/cancel of a slow prompt,
// JSON-RPC errors (unknown method, bad JSON, bad UTF-8, wrong envelope, over-long lines) and the
// exit on stdin EOF.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AGENTD_BIN } from "./harness.mjs";
import { spawnMockAgent, mockSession, chunkText } from "./acp_stdio.mjs";

const LINE_LIMIT = 16 * 1024 * 1024; // LIM_ACP_LINE_BYTES

// spec 6.1: the mock's configOptions with their defaults.
const CONFIG_OPTIONS = [
  { category: "model", currentValue: "mock", id: "model", name: "Model", type: "select",
    options: [{ name: "Mock", value: "mock" }, { name: "Mock Fast", value: "mock-fast" }] },
  { category: "mode", currentValue: "normal", id: "mode", name: "Mode", type: "select",
    options: [{ name: "Normal", value: "normal" }, { name: "Plan", value: "plan" }] },
  { category: "thought_level", currentValue: "low", id: "thought_level", name: "Thought Level", type: "select",
    options: [{ name: "Low", value: "low" }, { name: "Medium", value: "medium" }, { name: "High", value: "high" }] },
];

const withValues = (values) =>
  CONFIG_OPTIONS.map((o) => (o.id in values ? { ...o, currentValue: values[o.id] } : o));

const text = (t) => [{ type: "text", text: t }];

/** Run fn with a fresh agent; the agent must then exit 0 on stdin EOF. */
async function withAgent(fn) {
  const a = spawnMockAgent();
  try {
    await fn(a);
    await a.end();
  } finally {
    a.kill();
  }
}

/** Send a prompt; resolve { response, updates } once the prompt's response arrived. */
async function prompt(a, sessionId, blocks) {
  const from = a.messages.length;
  const response = await a.request("session/prompt", { sessionId, prompt: blocks });
  return { response, updates: a.updates(sessionId, from), from };
}

function assertRpcError(res, code, re) {
  assert.ok(res.error, `expected an error, got ${JSON.stringify(res)}`);
  assert.equal(res.error.code, code, JSON.stringify(res.error));
  if (re) assert.match(res.error.message, re);
  assert.ok(!("result" in res));
}

describe("mock agent: handshake and sessions", () => {
  test("initialize answers protocol version 1, capabilities, no auth methods, agentInfo", () =>
    withAgent(async (a) => {
      const r = await a.call("initialize", { protocolVersion: 1, clientInfo: { name: "t", version: "1" } });
      assert.equal(r.protocolVersion, 1);
      assert.deepEqual(r.authMethods, []);
      assert.equal(r.agentCapabilities.loadSession, false);
      assert.equal(typeof r.agentCapabilities.promptCapabilities, "object");
      assert.deepEqual(r.agentInfo, { name: "agentd-mock", title: "agentd mock agent", version: "builtin" });
      // A client asking for a newer version still learns the one the agent speaks.
      assert.equal((await a.call("initialize", { protocolVersion: 7 })).protocolVersion, 1);
      assertRpcError(await a.request("initialize", {}), -32602, /protocolVersion/);
      assert.deepEqual(await a.call("authenticate", { methodId: "anything" }), {});
    }));

  test("session/new returns unique ids, the modes and the configOptions of spec 6.1", () =>
    withAgent(async (a) => {
      const s1 = await a.call("session/new", { cwd: "/tmp", mcpServers: [] });
      const s2 = await a.call("session/new", { cwd: "/", mcpServers: [] });
      assert.match(s1.sessionId, /^mock-session-\d+$/);
      assert.notEqual(s1.sessionId, s2.sessionId);
      assert.deepEqual(s1.configOptions, CONFIG_OPTIONS);
      assert.equal(s1.modes.currentModeId, "normal");
      assert.deepEqual(s1.modes.availableModes.map((m) => [m.id, m.name]), [["normal", "Normal"], ["plan", "Plan"]]);
      for (const m of s1.modes.availableModes) assert.equal(typeof m.description, "string");
      // mcpServers may be omitted; cwd must be an absolute path.
      assert.ok((await a.call("session/new", { cwd: "/tmp" })).sessionId);
      assertRpcError(await a.request("session/new", { cwd: "relative", mcpServers: [] }), -32602, /absolute/);
      assertRpcError(await a.request("session/new", { mcpServers: [] }), -32602, /cwd/);
      assertRpcError(await a.request("session/new", { cwd: "/", mcpServers: {} }), -32602, /mcpServers/);
      assertRpcError(await a.request("session/new", "nope"), -32602, /params/);
    }));

  test("session/set_mode changes the mode, announces it and keeps the mode option in step", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const from = a.messages.length;
      const r = await a.call("session/set_mode", { sessionId, modeId: "plan" });
      assert.deepEqual(r, {});
      const ups = a.updates(sessionId, from);
      assert.deepEqual(ups.map((u) => u.sessionUpdate), ["current_mode_update", "config_option_update"]);
      assert.equal(ups[0].currentModeId, "plan");
      assert.deepEqual(ups[1].configOptions, withValues({ mode: "plan" }));
      // The notifications come before the response.
      const respIdx = a.messages.findIndex((m, i) => i >= from && !m.method);
      assert.ok(a.messages.slice(from, respIdx).every((m) => m.method === "session/update"));

      assertRpcError(await a.request("session/set_mode", { sessionId, modeId: "turbo" }), -32602, /turbo.*normal, plan/);
      assertRpcError(await a.request("session/set_mode", { sessionId: "mock-session-999", modeId: "plan" }), -32602, /mock-session-999/);
      assertRpcError(await a.request("session/set_mode", { sessionId }), -32602, /modeId/);
      // Nothing changed on the failed calls.
      const cfg = await a.call("session/set_config_option", { sessionId, configId: "model", value: "mock" });
      assert.deepEqual(cfg.configOptions, withValues({ mode: "plan" }));
    }));

  test("session/set_config_option updates each option per session and returns every option", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const other = (await a.call("session/new", { cwd: "/tmp", mcpServers: [] })).sessionId;
      let from = a.messages.length;
      let r = await a.call("session/set_config_option", { sessionId, configId: "model", value: "mock-fast" });
      assert.deepEqual(r.configOptions, withValues({ model: "mock-fast" }));
      assert.deepEqual(a.updates(sessionId, from).map((u) => u.sessionUpdate), ["config_option_update"]);
      r = await a.call("session/set_config_option", { sessionId, configId: "thought_level", value: "high" });
      assert.deepEqual(r.configOptions, withValues({ model: "mock-fast", thought_level: "high" }));
      from = a.messages.length;
      r = await a.call("session/set_config_option", { sessionId, configId: "mode", value: "plan" });
      assert.deepEqual(r.configOptions, withValues({ model: "mock-fast", thought_level: "high", mode: "plan" }));
      const ups = a.updates(sessionId, from);
      assert.deepEqual(ups.map((u) => u.sessionUpdate), ["current_mode_update", "config_option_update"]);
      assert.equal(ups[0].currentModeId, "plan");
      // session/set_model is the same option under its own method.
      assert.deepEqual(await a.call("session/set_model", { sessionId, modelId: "mock" }), {});
      r = await a.call("session/set_config_option", { sessionId, configId: "thought_level", value: "low" });
      assert.deepEqual(r.configOptions, withValues({ mode: "plan" }));
      // The other session kept its defaults.
      r = await a.call("session/set_config_option", { sessionId: other, configId: "model", value: "mock" });
      assert.deepEqual(r.configOptions, CONFIG_OPTIONS);

      assertRpcError(await a.request("session/set_config_option", { sessionId, configId: "color", value: "red" }), -32602, /color.*model, mode, thought_level/);
      assertRpcError(await a.request("session/set_config_option", { sessionId, configId: "model", value: "gpt" }), -32602, /gpt.*mock, mock-fast/);
      assertRpcError(await a.request("session/set_config_option", { sessionId, configId: "model", type: "boolean", value: true }), -32602, /select/);
      assertRpcError(await a.request("session/set_config_option", { sessionId: "x", configId: "model", value: "mock" }), -32602, /unknown sessionId/);
      assertRpcError(await a.request("session/set_model", { sessionId, modelId: "big" }), -32602, /big/);
    }));
});

describe("mock agent: prompts", () => {
  test("a prompt streams every update kind in order and ends the turn", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const { response, updates } = await prompt(a, sessionId, [
        { type: "text", text: "hello " },
        { type: "image", mimeType: "image/png", data: "iVBORw0KGgo=" },
        { type: "text", text: "wörld ✓" },
      ]);
      assert.deepEqual(response.result, { stopReason: "end_turn" });
      const kinds = updates.map((u) => u.sessionUpdate);
      const firstOf = (k) => kinds.indexOf(k);
      for (const k of ["user_message_chunk", "agent_thought_chunk", "plan", "tool_call", "tool_call_update",
        "agent_message_chunk", "usage_update"])
        assert.ok(kinds.includes(k), `missing ${k} in ${kinds}`);
      assert.ok(firstOf("user_message_chunk") < firstOf("agent_thought_chunk"));
      assert.ok(firstOf("plan") < firstOf("tool_call"));
      assert.ok(firstOf("tool_call") < firstOf("tool_call_update"));
      assert.ok(firstOf("tool_call_update") < firstOf("agent_message_chunk"));
      assert.equal(kinds[kinds.length - 1], "usage_update");

      // The user's text blocks are echoed as user_message_chunks; images are not.
      assert.deepEqual(updates.filter((u) => u.sessionUpdate === "user_message_chunk").map(chunkText), ["hello ", "wörld ✓"]);
      const deltas = updates.filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText);
      assert.ok(deltas.length >= 2, `several deltas, got ${deltas.length}`);
      assert.equal(deltas.join(""), "Echo: hello \nwörld ✓");
      assert.ok(chunkText(updates[firstOf("agent_thought_chunk")]).length > 0);

      const plan = updates[firstOf("plan")];
      assert.ok(plan.entries.length > 0);
      for (const e of plan.entries) assert.deepEqual(Object.keys(e).sort(), ["content", "priority", "status"]);
      const call = updates[firstOf("tool_call")];
      assert.equal(call.status, "pending");
      assert.equal(typeof call.title, "string");
      assert.equal(typeof call.kind, "string");
      const done = updates[firstOf("tool_call_update")];
      assert.equal(done.toolCallId, call.toolCallId);
      assert.equal(done.status, "completed");
      assert.ok(Array.isArray(done.content) && done.content.length > 0);
      const usage = updates[kinds.length - 1];
      assert.ok(Number.isInteger(usage.used) && usage.used > 0);
      assert.ok(Number.isInteger(usage.size) && usage.size >= usage.used);

      // usage grows over the session; tool call ids are not reused.
      const second = await prompt(a, sessionId, text("again"));
      const usage2 = second.updates.find((u) => u.sessionUpdate === "usage_update");
      assert.ok(usage2.used > usage.used);
      assert.notEqual(second.updates.find((u) => u.sessionUpdate === "tool_call").toolCallId, call.toolCallId);
    }));

  test("the thought reflects the session's mode, model and thought level", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      await a.call("session/set_mode", { sessionId, modeId: "plan" });
      await a.call("session/set_config_option", { sessionId, configId: "thought_level", value: "medium" });
      const { updates } = await prompt(a, sessionId, text("x"));
      const thought = chunkText(updates.find((u) => u.sessionUpdate === "agent_thought_chunk"));
      assert.match(thought, /model mock, mode plan, thought level medium/);
    }));

  test("prompt errors: unknown session, missing prompt, a second prompt while one runs", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      assertRpcError(await a.request("session/prompt", { sessionId: "nope", prompt: text("x") }), -32602, /nope/);
      assertRpcError(await a.request("session/prompt", { sessionId }), -32602, /prompt/);
      assertRpcError(await a.request("session/prompt", { sessionId, prompt: "hi" }), -32602, /prompt/);
      // A running turn (waiting for a permission answer) refuses another prompt on its session.
      const from = a.messages.length;
      await a.send({ jsonrpc: "2.0", id: "p1", method: "session/prompt", params: { sessionId, prompt: text("permission please") } });
      const ask = await a.next((m) => m.method === "session/request_permission", { from });
      assertRpcError(await a.request("session/prompt", { sessionId, prompt: text("x") }), -32600, /already running/);
      // ...but another session is independent.
      const other = (await a.call("session/new", { cwd: "/tmp", mcpServers: [] })).sessionId;
      assert.deepEqual((await prompt(a, other, text("parallel"))).response.result, { stopReason: "end_turn" });
      await a.send({ jsonrpc: "2.0", id: ask.id, result: { outcome: { outcome: "selected", optionId: "allow-once" } } });
      const done = await a.next((m) => m.id === "p1" && !m.method, { from });
      assert.deepEqual(done.result, { stopReason: "end_turn" });
    }));
});

describe("mock agent: permissions", () => {
  /** Start a permission prompt and return { request, from } once the agent asked. */
  async function askPermission(a, sessionId, id, words = "may I use the permission?") {
    const from = a.messages.length;
    await a.send({ jsonrpc: "2.0", id, method: "session/prompt", params: { sessionId, prompt: text(words) } });
    const request = await a.next((m) => m.method === "session/request_permission", { from, what: "permission request" });
    return { request, from };
  }

  for (const [optionId, status] of [["allow-once", "completed"], ["allow-always", "completed"], ["reject-once", "failed"]]) {
    test(`permission round trip: ${optionId} is reported in the reply`, () =>
      withAgent(async (a) => {
        const { sessionId } = await mockSession(a);
        const { request, from } = await askPermission(a, sessionId, 10);
        assert.equal(typeof request.id, "string");
        assert.match(request.id, /^perm-/);
        const p = request.params;
        assert.equal(p.sessionId, sessionId);
        assert.deepEqual(p.options.map((o) => [o.optionId, o.kind]),
          [["allow-once", "allow_once"], ["allow-always", "allow_always"], ["reject-once", "reject_once"]]);
        // The tool call the permission is about was announced before the request, and the turn
        // waits: no answer and no agent message yet.
        const before = a.updates(sessionId, from);
        const announced = before.find((u) => u.sessionUpdate === "tool_call");
        assert.equal(announced.toolCallId, p.toolCall.toolCallId);
        assert.ok(!before.some((u) => u.sessionUpdate === "agent_message_chunk"));
        assert.ok(!a.messages.slice(from).some((m) => m.id === 10 && !m.method));

        await a.send({ jsonrpc: "2.0", id: request.id, result: { outcome: { outcome: "selected", optionId } } });
        const resp = await a.next((m) => m.id === 10 && !m.method, { from });
        assert.deepEqual(resp.result, { stopReason: "end_turn" });
        const ups = a.updates(sessionId, from);
        const reply = ups.filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText).join("");
        assert.equal(reply, `Permission outcome: selected ${optionId}. Echo: may I use the permission?`);
        const verdict = ups.find((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === p.toolCall.toolCallId);
        assert.equal(verdict.status, status);
        // A second answer to the same request is ignored.
        await a.send({ jsonrpc: "2.0", id: request.id, result: { outcome: { outcome: "selected", optionId } } });
        assert.deepEqual(await a.call("authenticate", {}), {});
      }));
  }

  test("a client that answers cancelled (or with an error) gets a cancelled outcome and the turn ends", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      let { request, from } = await askPermission(a, sessionId, "c1", "PERMISSION");
      await a.send({ jsonrpc: "2.0", id: request.id, result: { outcome: { outcome: "cancelled" } } });
      let resp = await a.next((m) => m.id === "c1" && !m.method, { from });
      assert.deepEqual(resp.result, { stopReason: "end_turn" });
      let reply = a.updates(sessionId, from).filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText).join("");
      assert.equal(reply, "Permission outcome: cancelled. Echo: PERMISSION");

      ({ request, from } = await askPermission(a, sessionId, "c2"));
      await a.send({ jsonrpc: "2.0", id: request.id, error: { code: -32603, message: "client broke" } });
      resp = await a.next((m) => m.id === "c2" && !m.method, { from });
      assert.deepEqual(resp.result, { stopReason: "end_turn" });
      reply = a.updates(sessionId, from).filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText).join("");
      assert.match(reply, /^Permission outcome: cancelled\./);
    }));

  test("the word must stand alone: 'permissions' or 'nopermission' do not ask", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const { response, from } = await prompt(a, sessionId, text("permissions nopermission"));
      assert.deepEqual(response.result, { stopReason: "end_turn" });
      assert.ok(!a.messages.slice(from).some((m) => m.method === "session/request_permission"));
    }));

  test("session/cancel while waiting for the answer ends the prompt as cancelled; the late answer is ignored", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const { request, from } = await askPermission(a, sessionId, 42);
      await a.notify("session/cancel", { sessionId });
      const resp = await a.next((m) => m.id === 42 && !m.method, { from });
      assert.deepEqual(resp.result, { stopReason: "cancelled" });
      const after = a.messages.length;
      await a.send({ jsonrpc: "2.0", id: request.id, result: { outcome: { outcome: "selected", optionId: "allow-once" } } });
      // The session is usable again, and the late answer produced nothing.
      const { response } = await prompt(a, sessionId, text("next"));
      assert.deepEqual(response.result, { stopReason: "end_turn" });
      const stray = a.updates(sessionId, after).filter((u) => chunkText(u).includes("Permission outcome"));
      assert.deepEqual(stray, []);
    }));

  test("stdin EOF while a permission is pending cancels that prompt, then the agent exits 0", async () => {
    const a = spawnMockAgent();
    try {
      const { sessionId } = await mockSession(a);
      const { from } = await askPermission(a, sessionId, "eof");
      const ended = a.end();
      const resp = await a.next((m) => m.id === "eof" && !m.method, { from });
      assert.deepEqual(resp.result, { stopReason: "cancelled" });
      await ended;
    } finally {
      a.kill();
    }
  });
});

describe("mock agent: cancel and slow prompts", () => {
  test("session/cancel stops a slow prompt midway with stopReason cancelled", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const words = "please answer slow so that this turn can be cancelled midway";
      const from = a.messages.length;
      await a.send({ jsonrpc: "2.0", id: "slow-1", method: "session/prompt", params: { sessionId, prompt: text(words) } });
      await a.next((m) => m.method === "session/update" && m.params.update.sessionUpdate === "agent_message_chunk",
        { from, what: "the first reply delta" });
      await a.notify("session/cancel", { sessionId });
      const resp = await a.next((m) => m.id === "slow-1" && !m.method, { from });
      assert.deepEqual(resp.result, { stopReason: "cancelled" });
      const ups = a.updates(sessionId, from);
      const deltas = ups.filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText);
      const full = `Echo: ${words}`;
      assert.ok(deltas.length >= 1 && deltas.join("").length < full.length, `stopped midway: ${deltas.join("")}`);
      assert.ok(full.startsWith(deltas.join("")));
      assert.ok(!ups.some((u) => u.sessionUpdate === "usage_update"), "the turn did not run to its end");
      // Cancelling again (nothing runs) and cancelling an unknown session are harmless.
      await a.notify("session/cancel", { sessionId });
      await a.notify("session/cancel", { sessionId: "ghost" });
      const next = await prompt(a, sessionId, text("fast now"));
      assert.deepEqual(next.response.result, { stopReason: "end_turn" });
      const reply = next.updates.filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText).join("");
      assert.equal(reply, "Echo: fast now");
    }));

  test("a slow prompt paces its reply one character per delta (at most 50) and completes", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const { response, updates } = await prompt(a, sessionId, text("Slow"));
      assert.deepEqual(response.result, { stopReason: "end_turn" });
      const deltas = updates.filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText);
      assert.deepEqual(deltas, [..."Echo: Slow"]);
    }));

  test("stdin EOF during a slow prompt lets it finish, then the agent exits 0", async () => {
    const a = spawnMockAgent();
    try {
      const { sessionId } = await mockSession(a);
      const from = a.messages.length;
      await a.send({ jsonrpc: "2.0", id: 5, method: "session/prompt", params: { sessionId, prompt: text("slow") } });
      await a.end();
      const resp = a.messages.slice(from).find((m) => m.id === 5 && !m.method);
      assert.deepEqual(resp.result, { stopReason: "end_turn" });
    } finally {
      a.kill();
    }
  });
});

describe("mock agent: JSON-RPC errors and framing", () => {
  test("unknown methods are -32601, unknown notifications are ignored, session/load is not offered", () =>
    withAgent(async (a) => {
      assertRpcError(await a.request("frobnicate", {}), -32601, /^Method not found: frobnicate$/);
      assertRpcError(await a.request("session/load", { sessionId: "x", cwd: "/", mcpServers: [] }), -32601, /session\/load/);
      const from = a.messages.length;
      await a.notify("frobnicate", {});
      await a.notify("session/update", {});
      assert.deepEqual(await a.call("authenticate", {}), {});
      assert.equal(a.messages.length, from + 1, "notifications produced no output");
      // String, number and null ids are echoed as sent.
      assert.equal((await a.request("nope", {}, { id: "str-id" })).id, "str-id");
      assert.equal((await a.request("nope", {}, { id: 0 })).id, 0);
      const f2 = a.messages.length;
      await a.send({ jsonrpc: "2.0", id: null, method: "authenticate", params: {} });
      const r = await a.next((m) => !m.method, { from: f2 });
      assert.equal(r.id, null);
      assert.deepEqual(r.result, {});
    }));

  test("bad lines get -32700 / -32600 with the right id, and the agent keeps serving", () =>
    withAgent(async (a) => {
      const cases = [
        ["{not json", -32700, null, /Parse error/],
        ['{"jsonrpc":"2.0","id":1,"method":"authenticate"} trailing', -32700, null, /Parse error/],
        ["[1,2]", -32600, null, /batch/],
        ['"just a string"', -32600, null, /object/],
        ['{"jsonrpc":"2.0","id":{"a":1},"method":"authenticate"}', -32600, null, /id/],
        ['{"id":7,"method":"authenticate"}', -32600, 7, /jsonrpc/],
        ['{"jsonrpc":"1.0","id":8,"method":"authenticate"}', -32600, 8, /jsonrpc/],
        ['{"jsonrpc":"2.0","id":9,"method":5}', -32600, 9, /method/],
        ['{"jsonrpc":"2.0","id":10}', -32600, 10, /request, a notification or a response/],
        ['{"jsonrpc":"2.0","id":11,"method":"authenticate","params":[1]}', -32602, 11, /params/],
      ];
      for (const [line, code, id, re] of cases) {
        const from = a.messages.length;
        await a.write(`${line}\n`);
        const r = await a.next((m) => !m.method, { from, what: `reply to ${line}` });
        assert.equal(r.id, id, line);
        assertRpcError(r, code, re);
      }
      // Invalid UTF-8 is a parse error, never echoed back.
      const from = a.messages.length;
      await a.write(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"x\xff'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
      assertRpcError(await a.next((m) => !m.method, { from }), -32700, /UTF-8/);
      // Blank lines and CRLF line ends are fine.
      await a.write("\n   \r\n");
      const f2 = a.messages.length;
      await a.write('{"jsonrpc":"2.0","id":"crlf","method":"authenticate","params":{}}\r\n');
      assert.deepEqual((await a.next((m) => m.id === "crlf", { from: f2 })).result, {});
      // A line split across writes is reassembled.
      const f3 = a.messages.length;
      await a.write('{"jsonrpc":"2.0","id":"sp');
      await a.write('lit","method":"authenticate"}\n');
      assert.deepEqual((await a.next((m) => m.id === "split", { from: f3 })).result, {});
    }));

  test(`a line of exactly ${LINE_LIMIT} bytes is served; one byte more is a parse error`, () =>
    withAgent(async (a) => {
      const head = '{"jsonrpc":"2.0","id":"big","method":"authenticate","params":{"pad":"';
      const tail = '"}}';
      const pad = "a".repeat(LINE_LIMIT - head.length - tail.length);
      let from = a.messages.length;
      await a.write(`${head}${pad}${tail}\n`);
      assert.deepEqual((await a.next((m) => m.id === "big", { from })).result, {});

      from = a.messages.length;
      await a.write(`${head}${pad}a${tail}\n`);
      const r = await a.next((m) => !m.method, { from });
      assert.equal(r.id, null);
      assertRpcError(r, -32700, /longer than 16777216 bytes/);
      // One error for the whole line, and the next line is served.
      const f2 = a.messages.length;
      assert.deepEqual(await a.call("authenticate", {}), {});
      assert.equal(a.messages.length, f2 + 1);
    }));

  test("a 3 MiB prompt (over the HTTP body limit) is echoed whole", () =>
    withAgent(async (a) => {
      const { sessionId } = await mockSession(a);
      const big = "é".repeat(1536 * 1024);
      const { response, updates } = await prompt(a, sessionId, text(big));
      assert.deepEqual(response.result, { stopReason: "end_turn" });
      const reply = updates.filter((u) => u.sessionUpdate === "agent_message_chunk").map(chunkText).join("");
      assert.equal(reply.length, big.length + 6);
      assert.ok(reply === `Echo: ${big}`);
    }));

  test("stdin EOF with nothing running exits 0 at once, also without any input", async () => {
    const a = spawnMockAgent();
    await a.end();
    assert.equal(a.lines.length, 0);
    const b = spawnMockAgent();
    // An unterminated last line is still handled before the exit.
    await b.write('{"jsonrpc":"2.0","id":"last","method":"authenticate","params":{}}');
    await b.end();
    assert.deepEqual(b.messages.map((m) => [m.id, m.result]), [["last", {}]]);
  });

  test("the agent stops quietly when its stdout goes away", async () => {
    const a = spawnMockAgent();
    a.proc.stdout.destroy();
    await a.send({ jsonrpc: "2.0", id: 1, method: "authenticate", params: {} });
    const r = await a.exited;
    assert.deepEqual(r, { code: 0, signal: null }, a.stderr);
    assert.doesNotMatch(a.stderr, /Sanitizer|runtime error/);
  });
});

describe("mock agent: command line", () => {
  test("`agentd mock-agent` takes no arguments and is listed in --help", () => {
    const r = spawnSync(AGENTD_BIN, ["mock-agent", "--bogus"], { encoding: "utf8", timeout: 10000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'mock-agent' takes no arguments/);
    const h = spawnSync(AGENTD_BIN, ["--help"], { encoding: "utf8", timeout: 10000 });
    assert.match(h.stdout, /agentd mock-agent/);
  });
});
