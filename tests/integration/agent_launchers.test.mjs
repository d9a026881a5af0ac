// Launcher overrides: an executable <id>-acp under $XDG_DATA_HOME/sandbox-agent (the reference's
// place) or $XDG_DATA_HOME/agentd replaces the built-in launch of that agent, in that order.
// Driven with the official SDK, as the reference's own suite does with its mock-acp.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import { startDaemon, realTempDir, AGENTD_BIN } from "./harness.mjs";

/** Writes an executable launcher that records its start in `mark`, then runs the mock. */
async function launcher(file, mark) {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, `#!/bin/sh\necho "$0" >> '${mark}'\nexec '${AGENTD_BIN}' mock-agent\n`, { mode: 0o755 });
}

async function promptOnce(d, cwd) {
  const sdk = await SandboxAgent.connect({ baseUrl: d.base });
  try {
    const session = await sdk.createSession({ agent: "mock", cwd });
    assert.deepEqual(await session.prompt([{ type: "text", text: "hi" }]), { stopReason: "end_turn" });
    await sdk.destroySession(session.id);
  } finally {
    await sdk.dispose();
  }
}

describe("agent launcher overrides", () => {
  const daemons = [];
  after(async () => {
    for (const d of daemons) await d.stop();
  });

  test("$XDG_DATA_HOME/sandbox-agent/bin/agent_processes/mock-acp runs instead of the built-in mock", async () => {
    const xdg = await realTempDir("agentd-xdg-");
    const mark = path.join(xdg, "started");
    const ref = path.join(xdg, "sandbox-agent/bin/agent_processes/mock-acp");
    const own = path.join(xdg, "agentd/bin/agent_processes/mock-acp");
    await launcher(ref, mark);
    await launcher(own, mark);
    const d = await startDaemon({ env: { XDG_DATA_HOME: xdg, AGENTD_LOG: "info" } });
    daemons.push(d);
    await promptOnce(d, xdg);
    assert.deepEqual(fs.readFileSync(mark, "utf8").trim().split("\n"), [ref], "the reference's place wins");
    assert.match(d.logs(), /mock: starting the launcher .*sandbox-agent\/bin\/agent_processes\/mock-acp/);

    // Without it, agentd's own place is next.
    await fsp.rm(ref);
    await promptOnce(d, xdg);
    assert.deepEqual(fs.readFileSync(mark, "utf8").trim().split("\n"), [ref, own]);
  });

  test("a launcher that is not executable is ignored; without XDG_DATA_HOME, ~/.local/share is used", async () => {
    const home = await realTempDir("agentd-home-");
    const mark = path.join(home, "started");
    const file = path.join(home, ".local/share/sandbox-agent/bin/agent_processes/mock-acp");
    await launcher(file, mark);
    await fsp.chmod(file, 0o644);
    // An empty XDG_DATA_HOME counts as unset (the XDG spec): ~/.local/share.
    const d = await startDaemon({ home, env: { AGENTD_LOG: "info", XDG_DATA_HOME: "" } });
    daemons.push(d);
    await promptOnce(d, home);
    assert.equal(fs.existsSync(mark), false, "the non-executable launcher did not run");
    await fsp.chmod(file, 0o755);
    await promptOnce(d, home);
    assert.deepEqual(fs.readFileSync(mark, "utf8").trim().split("\n"), [file]);
  });

  test("the mock launcher agentd installs itself (under $XDG_DATA_HOME/agentd, else ~/.local/share/agentd) is not an override", async () => {
    for (const withXdg of [false, true]) {
      const home = await realTempDir("agentd-home-");
      const xdg = withXdg ? await realTempDir("agentd-xdg-") : "";
      const d = await startDaemon({ home, env: { AGENTD_LOG: "info", XDG_DATA_HOME: xdg } });
      daemons.push(d);
      const res = await fetch(`${d.base}/v1/agents/mock/install`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(res.status, 200, await res.text());
      const base = withXdg ? path.join(xdg, "agentd") : path.join(home, ".local/share/agentd");
      assert.ok(fs.existsSync(path.join(base, "bin/agent_processes/mock-acp")), `installed under ${base}`);
      if (withXdg) assert.equal(fs.existsSync(path.join(home, ".local/share/agentd")), false, "HOME untouched");
      await promptOnce(d, home);
      assert.doesNotMatch(d.logs(), /starting the launcher/);
    }
  });

  test("claude starts with IS_SANDBOX=1 whatever the daemon's was, and CLAUDE_CODE_MAX_RETRIES=5 unless set", async () => {
    // IS_SANDBOX: claude as root only runs with exactly "1" ("yes" or "0" break session/new, an
    // empty one hides the bypass mode). The retry count is a default: the user's value wins.
    for (const [env, want] of [
      [{}, "IS_SANDBOX=1 CLAUDE_CODE_MAX_RETRIES=5"],
      [{ IS_SANDBOX: "yes" }, "IS_SANDBOX=1 CLAUDE_CODE_MAX_RETRIES=5"],
      [{ IS_SANDBOX: "0", CLAUDE_CODE_MAX_RETRIES: "10" }, "IS_SANDBOX=1 CLAUDE_CODE_MAX_RETRIES=10"],
    ]) {
      const xdg = await realTempDir("agentd-xdg-");
      const mark = path.join(xdg, "env");
      const file = path.join(xdg, "sandbox-agent/bin/agent_processes/claude-acp");
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(
        file,
        `#!/bin/sh\necho "IS_SANDBOX=\${IS_SANDBOX-unset} CLAUDE_CODE_MAX_RETRIES=\${CLAUDE_CODE_MAX_RETRIES-unset}" > '${mark}'\nexec '${AGENTD_BIN}' mock-agent\n`,
        { mode: 0o755 },
      );
      // The daemon's environment: without these (this machine may set them), or the user's.
      const d = await startDaemon({ env: { XDG_DATA_HOME: xdg, ...env }, unsetEnv: ["IS_SANDBOX", "CLAUDE_CODE_MAX_RETRIES"] });
      daemons.push(d);
      const res = await fetch(`${d.base}/v1/acp/claude-env?agent=claude`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: 1 } }),
      });
      assert.equal(res.status, 200, await res.text());
      assert.equal(fs.readFileSync(mark, "utf8").trim(), want, JSON.stringify(env));
      await fetch(`${d.base}/v1/acp/claude-env`, { method: "DELETE" });
    }
  });

  test("an agent's failure carries its stderr: error.data.agentStderr, the exit's 502, one warn line each", async () => {
    const xdg = await realTempDir("agentd-xdg-");
    const file = path.join(xdg, "sandbox-agent/bin/agent_processes/mock-acp");
    await fsp.mkdir(path.dirname(file), { recursive: true });
    // Answers initialize, then refuses the next request after explaining on stderr, then dies.
    await fsp.writeFile(
      file,
      `#!/bin/sh
read line; echo '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":1}}'
read line; echo 'fatal: --dangerously-skip-permissions cannot be used with root' >&2
echo '{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"Internal error"}}'
read line; echo 'giving up' >&2; exit 3
`,
      { mode: 0o755 },
    );
    const d = await startDaemon({ env: { XDG_DATA_HOME: xdg } });
    daemons.push(d);
    const post = (id, method, agent) =>
      fetch(`${d.base}/v1/acp/failing${agent ? "?agent=mock" : ""}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params: {} }),
      });
    assert.equal((await post(1, "initialize", true)).status, 200);
    const r = await (await post(2, "session/new")).json();
    assert.equal(r.error.code, -32603);
    assert.match(r.error.data.agentStderr, /cannot be used with root/);
    const gone = await post(3, "session/prompt");
    assert.equal(gone.status, 200, "a request agentd fails gets a JSON-RPC error");
    const err = (await gone.json()).error;
    assert.equal(err.data.status, 502);
    assert.match(err.message, /exited \(exit code 3\).*giving up/s);
    const warns = d.logs().split("\n").filter((l) => / warn /.test(l) && /server 'failing': agent 'mock'/.test(l));
    assert.equal(warns.length, 2, warns.join("\n"));
    assert.match(warns[0], /answered request 2 with error -32603.*cannot be used with root/);
    assert.match(warns[1], /exited \(exit code 3\).*giving up/);
  });
});
