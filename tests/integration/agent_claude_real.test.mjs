// The real Claude Code, as `agentd install-agent claude` installs it from npm, run by agentd as
// this machine's user (root on CI, as in most containers) against a fake Anthropic API on
// loopback: a session starts and a prompt completes (issue 14.1), a model call that cannot
// connect fails the prompt with the agent's reason after agentd's bounded retries (14.3).
// Skipped, saying why, only when the npm registry cannot be reached.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { AGENTD_BIN, openSse, realTempDir, startDaemon } from "./harness.mjs";
import { FAKE_REPLY, startFakeAnthropic } from "./fake_anthropic.mjs";

let home;
let skipReason = null;

before(async () => {
  home = await realTempDir("agentd-claude-");
  const r = spawnSync(AGENTD_BIN, ["install-agent", "claude"], { env: { ...process.env, HOME: home }, encoding: "utf8", timeout: 300000 });
  if (r.status !== 0) {
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network|registry/i.test(r.stdout + r.stderr)) skipReason = `npm registry unreachable: ${(r.stderr || r.stdout).trim().split("\n").pop()}`;
    else assert.fail(`install-agent claude failed (${r.status}): ${r.stdout}${r.stderr}`);
  }
});

/** A port on loopback that refuses connections (bound, then closed). */
async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function rpc(d, server, body, agent) {
  return fetch(`${d.base}/v1/acp/${server}${agent ? `?agent=${agent}` : ""}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", ...body }),
  }).then((r) => r.json());
}

async function newSession(d, server, cwd) {
  const init = await rpc(d, server, { id: 1, method: "initialize", params: { protocolVersion: 1, clientCapabilities: {} } }, "claude");
  assert.equal(init.result?.protocolVersion, 1, JSON.stringify(init));
  const s = await rpc(d, server, { id: 2, method: "session/new", params: { cwd, mcpServers: [] } });
  assert.ok(s.result?.sessionId, `session/new: ${JSON.stringify(s).slice(0, 2000)}`);
  return s.result;
}

describe("claude, installed from npm, run by agentd", () => {
  const daemons = [];
  let api;
  before(async () => {
    api = await startFakeAnthropic();
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    await api?.close();
  });

  test("as this user (root on CI): a session starts and a prompt completes, whatever IS_SANDBOX said", async (t) => {
    if (skipReason) return t.skip(skipReason);
    // "yes" is what breaks claude as root when passed through: its ACP adapter then asks for
    // --dangerously-skip-permissions, which the CLI refuses unless IS_SANDBOX is exactly "1".
    const d = await startDaemon({ home, env: { IS_SANDBOX: "yes", ANTHROPIC_API_KEY: "sk-ant-fake", ANTHROPIC_BASE_URL: api.url } });
    daemons.push(d);
    const cwd = await realTempDir("agentd-claude-cwd-");
    const session = await newSession(d, "claude-root", cwd);
    const modes = (session.modes?.availableModes || []).map((m) => m.id);
    assert.ok(modes.includes("bypassPermissions"), `the bypass mode is offered (IS_SANDBOX=1 reached the adapter): ${modes}`);
    const sse = await openSse(d, "/v1/acp/claude-root", { headers: { "Last-Event-ID": "2" } });
    try {
      const r = await rpc(d, "claude-root", { id: 3, method: "session/prompt", params: { sessionId: session.sessionId, prompt: [{ type: "text", text: "say hi" }] } });
      assert.equal(r.result?.stopReason, "end_turn", JSON.stringify(r).slice(0, 2000));
      await sse.next((e) => e.data.includes('"id":3') && e.data.includes("stopReason"), { what: "the prompt's response on the stream" });
      const text = sse.events
        .map((e) => JSON.parse(e.data))
        .filter((m) => m.params?.update?.sessionUpdate === "agent_message_chunk")
        .map((m) => m.params.update.content.text)
        .join("");
      assert.equal(text, FAKE_REPLY.join(""));
      assert.ok(api.requests.some((q) => q.url.startsWith("/v1/messages")), "Claude Code called the (fake) API");
    } finally {
      sse.close();
    }
  });

  test("a model call that cannot connect fails the prompt with the agent's reason (agentd's retry bound)", { timeout: 120000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const env = { ANTHROPIC_API_KEY: "sk-ant-fake", ANTHROPIC_BASE_URL: `http://127.0.0.1:${await closedPort()}` };
    // agentd's default retry count, not this machine's.
    const d = await startDaemon({ home, env, unsetEnv: ["CLAUDE_CODE_MAX_RETRIES"] });
    daemons.push(d);
    // Without agentd's CLAUDE_CODE_MAX_RETRIES=5 this took 185 s here (Claude Code's 10 retries),
    // more than this test's timeout.
    const cwd = await realTempDir("agentd-claude-cwd-");
    const session = await newSession(d, "claude-offline", cwd);
    const t0 = Date.now();
    const r = await rpc(d, "claude-offline", { id: 3, method: "session/prompt", params: { sessionId: session.sessionId, prompt: [{ type: "text", text: "say hi" }] } });
    t.diagnostic(`the prompt failed after ${Date.now() - t0} ms`);
    assert.equal(r.error?.code, -32603, JSON.stringify(r).slice(0, 2000));
    assert.match(r.error.message, /Unable to connect to API|ECONNREFUSED|Connection refused/i);
    assert.equal(typeof r.error.data?.agentStderr, "string", "the agent's stderr comes with the error");
  });
});
