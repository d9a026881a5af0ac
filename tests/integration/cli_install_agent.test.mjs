// `agentd install-agent`: the installs of POST /v1/agents/{agent}/install from the command line.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { AGENTD_BIN, realTempDir } from "./harness.mjs";

function run(args, home) {
  return spawnSync(AGENTD_BIN, ["install-agent", ...args], {
    env: { ...process.env, HOME: home },
    encoding: "utf8",
    timeout: 20000,
  });
}

describe("agentd install-agent", () => {
  test("mock: writes its launcher once, then reports it as installed", async () => {
    const home = await realTempDir("agentd-ia-");
    const launcher = path.join(home, ".local/share/agentd/bin/agent_processes/mock-acp");
    const first = run(["mock"], home);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^mock: installed .*mock-acp version builtin$/m);
    assert.ok(fs.statSync(launcher).mode & 0o100, "the launcher is executable");
    // The launcher starts agentd's own mock agent: an initialize gets an answer.
    const r = spawnSync(launcher, [], {
      input: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}\n',
      encoding: "utf8",
      timeout: 10000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.split("\n")[0]).result.protocolVersion, 1);
    const again = run(["mock"], home);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /already installed/);
    assert.equal(run(["mock", "--reinstall"], home).status, 0);
  });

  test("an agent npm cannot provide: exit 1 and how to provide it", async () => {
    const home = await realTempDir("agentd-ia-");
    const r = run(["amp"], home);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /AGENTD_AMP_ACP_BIN/);
    assert.match(r.stderr, /^agentd: amp: Amp's ACP adapter/m, "the agent is named once (issue 14: `amp: amp:`)");
    const c = run(["cursor"], home);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /AGENTD_CURSOR_BIN/);
  });

  for (const [args, msg] of [
    [[], /one agent or --all/],
    [["mock", "codex"], /one agent or --all/],
    [["--all", "mock"], /one agent or --all/],
    [["bogus"], /unknown agent 'bogus'/],
    [["--all", "--agent-version", "1"], /applies to one agent/],
    [["mock", "--agent-version"], /needs a value/],
    [["mock", "--frob"], /unknown option '--frob'/],
  ]) {
    test(`bad usage: install-agent ${args.join(" ")} exits 2`, async () => {
      const r = run(args, await realTempDir("agentd-ia-"));
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
    });
  }
});
