// The real Pi, as `agentd install-agent pi` installs it from npm (pi-acp and the
// pi-coding-agent it runs as `pi`), started by agentd: session/new gets as far as Pi's own
// sign-in check instead of "Could not start pi: executable not found" (issue 18.1: the launch
// environment puts the install's node_modules/.bin first on PATH). Skipped, saying why, only
// when the npm registry cannot be reached.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AGENTD_BIN, realTempDir, startDaemon } from "./harness.mjs";

let home;
let skipReason = null;
let d;

before(async () => {
  home = await realTempDir("agentd-pi-");
  const r = spawnSync(AGENTD_BIN, ["install-agent", "pi"], { env: { ...process.env, HOME: home, XDG_DATA_HOME: "" }, encoding: "utf8", timeout: 300000 });
  if (r.status !== 0) {
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network|registry/i.test(r.stdout + r.stderr)) skipReason = `npm registry unreachable: ${(r.stderr || r.stdout).trim().split("\n").pop()}`;
    else assert.fail(`install-agent pi failed (${r.status}): ${r.stdout}${r.stderr}`);
  }
});
after(async () => {
  await d?.stop();
});

const rpc = (server, body, agent) =>
  fetch(`${d.base}/v1/acp/${server}${agent ? `?agent=${agent}` : ""}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", ...body }),
  }).then((r) => r.json());

test("session/new reaches Pi itself: its sign-in check, not a missing `pi` executable", async (t) => {
  if (skipReason) return t.skip(skipReason);
  // No credentials: Pi answers that it needs a sign-in, which it can only say once `pi` runs.
  d = await startDaemon({ home, env: { XDG_DATA_HOME: "" }, unsetEnv: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"] });
  const init = await rpc("pi-real", { id: 1, method: "initialize", params: { protocolVersion: 1, clientCapabilities: {} } }, "pi");
  assert.equal(init.result?.agentInfo?.name, "pi-acp", JSON.stringify(init));
  const s = await rpc("pi-real", { id: 2, method: "session/new", params: { cwd: home, mcpServers: [] } });
  const text = JSON.stringify(s);
  assert.doesNotMatch(text, /executable not found|Could not start pi|ENOENT/i, text.slice(0, 2000));
  assert.ok(s.result?.sessionId || /Authentication required/.test(s.error?.message || ""), text.slice(0, 2000));
  await fetch(`${d.base}/v1/acp/pi-real`, { method: "DELETE" });
});
