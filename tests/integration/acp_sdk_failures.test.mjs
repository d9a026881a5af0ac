// Issue 18.4: when agentd cannot start an agent, or the agent fails a request, the official SDK's
// call must reject (with agentd's explanation) instead of waiting forever, and dispose() must not
// wait either. acp-http-client 0.4.2 errors its stream on any non-2xx POST reply and the ACP
// connection then never settles the pending call, so agentd answers a POSTed request it fails
// with 200 and a JSON-RPC error (docs/api/acp.md). The reference answers a problem status and
// the SDK hangs there: this file is expected to fail against it (AGENTD_REF=1).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SandboxAgent } from "sandbox-agent";
import { api, assertJson, startServer } from "./harness.mjs";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

/**
 * Runs fn and returns what it rejected with; fails the test when it resolves or is still
 * pending after `bound` ms (the hang this file is about, reported instead of timing out the
 * whole suite).
 */
async function rejection(fn, bound, what) {
  let timer;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => resolve("hung"), bound);
  });
  const settled = fn().then(
    () => "resolved",
    (e) => ({ e }),
  );
  const out = await Promise.race([settled, hung]);
  clearTimeout(timer);
  assert.notEqual(out, "hung", `${what} was still pending after ${bound} ms`);
  assert.notEqual(out, "resolved", `${what} resolved; expected a rejection`);
  return out.e;
}

/** dispose() must settle: nothing is left pending for it to wait on. */
async function disposeQuickly(sdk) {
  const t0 = Date.now();
  let timer;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => resolve("hung"), 5000);
  });
  const out = await Promise.race([sdk.dispose().then(() => "done"), hung]);
  clearTimeout(timer);
  assert.equal(out, "done", "dispose() was still pending after 5 s");
  return Date.now() - t0;
}

/** The JSON-RPC error the SDK rejects with, carrying agentd's problem as data. */
function assertAgentdError(e, status, kind) {
  assert.ok(e && typeof e === "object", `rejected with ${e}`);
  assert.equal(e.code, -33000, JSON.stringify(e));
  assert.equal(e.data?.status, status, JSON.stringify(e));
  assert.equal(e.data?.type, `urn:sandbox-agent:error:${kind}`, JSON.stringify(e));
  assert.equal(e.message, e.data.detail);
  return e;
}

async function servers(d) {
  return assertJson(await api(d, "GET", "/v1/acp")).servers;
}

describe("createSession when the agent cannot start", () => {
  let d;
  before(async () => {
    // No npm on PATH: an agent that is not installed cannot be; amp runs a command that exits.
    d = await startServer({ env: { PATH: "/nonexistent", AGENTD_AMP_ACP_BIN: "/bin/false" } });
  });
  after(async () => {
    if (d) await d.stop();
  });

  test("an unknown agent rejects with agentd's 400, and dispose returns", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const e = await rejection(() => sdk.createSession({ agent: "no-such-agent" }), 10000, "createSession");
    assertAgentdError(e, 400, "unsupported_agent");
    assert.match(e.message, /unsupported agent: no-such-agent \(known agents: claude/);
    assert.equal(e.data.agent, "no-such-agent");
    await disposeQuickly(sdk);
    assert.deepEqual(await servers(d), []);
  });

  test("an install that fails rejects with install_failed and npm's story, no server left", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const e = await rejection(() => sdk.createSession({ agent: "codex" }), 20000, "createSession");
    assertAgentdError(e, 500, "install_failed");
    assert.equal(e.data.agent, "codex");
    assert.match(e.data.details.stderr, /npm/);
    await disposeQuickly(sdk);
    assert.deepEqual(await servers(d), []);
    // A second attempt fails the same way (nothing was left half-made).
    const sdk2 = await SandboxAgent.connect({ baseUrl: d.base });
    assertAgentdError(await rejection(() => sdk2.createSession({ agent: "codex" }), 20000, "createSession"), 500, "install_failed");
    await disposeQuickly(sdk2);
  });

  test("an agent that exits before answering initialize rejects with its exit status", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const e = await rejection(() => sdk.createSession({ agent: "amp" }), 10000, "createSession");
    assertAgentdError(e, 502, "stream_error");
    assert.match(e.message, /agent 'amp' exited \(exit code 1\) before answering/);
    await disposeQuickly(sdk);
  });
});

describe("a session whose agent fails later", () => {
  let d;
  before(async () => {
    // The crash double answers initialize, then exits with status 3 on session/new.
    d = await startServer({ env: { AGENTD_AMP_ACP_BIN: `${FIXTURES}acp_crash_agent.mjs` } });
  });
  after(async () => {
    if (d) await d.stop();
  });

  test("session/new failing rejects createSession with the agent's stderr; dispose deletes the server", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const e = await rejection(() => sdk.createSession({ agent: "amp" }), 10000, "createSession");
    // agentd publishes `_adapter/agent_exited` before it answers the POST; when the SSE stream
    // delivers it first (the usual order, not a promise: two connections), the SDK rejects with
    // its own message for that notification, else with agentd's error.
    if (e.code === undefined) {
      assert.equal(e.message, "Agent process exited while creating session (code 3)");
    } else {
      assertAgentdError(e, 502, "stream_error");
      assert.match(e.message, /exit code 3/);
      assert.match(e.message, /FATAL simulated crash while handling the request/);
    }
    assert.equal((await servers(d)).length, 1, "initialize succeeded: the SDK holds the server");
    await disposeQuickly(sdk);
    assert.deepEqual(await servers(d), [], "dispose deleted it");
  });
});

describe("a request the agent never answers", () => {
  let d;
  before(async () => {
    d = await startServer({ env: { AGENTD_AMP_ACP_BIN: `${FIXTURES}acp_silent_agent.sh`, AGENTD_ACP_REQUEST_TIMEOUT_MS: "500" } });
  });
  after(async () => {
    if (d) await d.stop();
  });

  test("createSession rejects with agentd's timeout", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const e = await rejection(() => sdk.createSession({ agent: "amp" }), 10000, "createSession");
    assertAgentdError(e, 504, "timeout");
    assert.match(e.message, /did not answer request 0 .* within 500 ms/);
    await disposeQuickly(sdk);
  });
});
