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

  test("the mock launcher agentd installs itself is not an override", async () => {
    const home = await realTempDir("agentd-home-");
    const d = await startDaemon({ home, env: { AGENTD_LOG: "info", XDG_DATA_HOME: "" } });
    daemons.push(d);
    const res = await fetch(`${d.base}/v1/agents/mock/install`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 200, await res.text());
    assert.ok(fs.existsSync(path.join(home, ".local/share/agentd/bin/agent_processes/mock-acp")));
    await promptOnce(d, home);
    assert.doesNotMatch(d.logs(), /starting the launcher/);
  });

  test("claude starts with IS_SANDBOX=1 (as root it refuses to run otherwise); the user's value wins", async () => {
    for (const [env, want] of [
      [{}, "1"],
      [{ IS_SANDBOX: "0" }, "0"],
    ]) {
      const xdg = await realTempDir("agentd-xdg-");
      const mark = path.join(xdg, "env");
      const file = path.join(xdg, "sandbox-agent/bin/agent_processes/claude-acp");
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, `#!/bin/sh\necho "IS_SANDBOX=\${IS_SANDBOX-unset}" > '${mark}'\nexec '${AGENTD_BIN}' mock-agent\n`, { mode: 0o755 });
      // The daemon's environment: without IS_SANDBOX (this machine may set it), or the user's.
      const saved = process.env.IS_SANDBOX;
      delete process.env.IS_SANDBOX;
      let d;
      try {
        d = await startDaemon({ env: { XDG_DATA_HOME: xdg, ...env } });
      } finally {
        if (saved !== undefined) process.env.IS_SANDBOX = saved;
      }
      daemons.push(d);
      const res = await fetch(`${d.base}/v1/acp/claude-env?agent=claude`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: 1 } }),
      });
      assert.equal(res.status, 200, await res.text());
      assert.equal(fs.readFileSync(mark, "utf8").trim(), `IS_SANDBOX=${want}`);
      await fetch(`${d.base}/v1/acp/claude-env`, { method: "DELETE" });
    }
  });
});
