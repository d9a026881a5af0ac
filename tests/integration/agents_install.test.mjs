// Installing npm agents (spec 6.4) without the network: a fake `npm` (tests/fixtures/fake_npm.sh)
// first on the daemon's PATH records its arguments and lays out the prefix the way npm would.
// Checks the npm command line (agentd's own prefix under HOME, pinned versions, agentVersion),
// the install response and what GET /v1/agents reports afterwards, install failures (npm errors
// with the end of npm's stderr, agents that are not on npm, no npm at all), credentials detection,
// and that the ACP bridge launches the installed entry point.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { api, assertJson, assertProblem, assertRpcFailure, openSse, postJson, realTempDir, startDaemon } from "./harness.mjs";

const FAKE_NPM = new URL("../fixtures/fake_npm.sh", import.meta.url).pathname;
const CLAUDE_PKG = "@zed-industries/claude-agent-acp";
// Every variable or file the claude adapter takes as a credential is removed from the daemon's view.
const NO_CREDENTIALS = { ANTHROPIC_API_KEY: undefined, CLAUDE_API_KEY: undefined, CLAUDE_CODE_OAUTH_TOKEN: undefined };

/** The npm invocations recorded so far: arrays of arguments. */
function npmCalls(log) {
  let text;
  try {
    text = fs.readFileSync(log, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => b.replace(/^\n+/, "").split("\n"));
}

const install = (d, agent, body = {}) => postJson(d, `/v1/agents/${agent}/install`, body, { timeout: 30000 });
const getAgent = async (d, agent, query = "") => assertJson(await api(d, "GET", `/v1/agents/${agent}${query}`));

describe("npm agents through a fake npm", () => {
  let d;
  let home;
  let log;
  let env;
  let prefix;
  let pinned;
  let entry;

  before(async () => {
    home = await realTempDir("agentd-agents-home-");
    const bin = await realTempDir("agentd-fake-npm-");
    fs.symlinkSync(FAKE_NPM, path.join(bin, "npm"));
    log = path.join(bin, "npm.log");
    // Nothing from /usr/local or the user's PATH: agents found there would count as installed.
    env = { ...NO_CREDENTIALS, PATH: `${bin}:/usr/bin:/bin`, FAKE_NPM_LOG: log };
    d = await startDaemon({ home, env });
    prefix = path.join(home, ".local/share/agentd/agents/claude");
    entry = path.join(prefix, "node_modules/.bin/claude-agent-acp");
  });

  after(async () => {
    if (d) await d.stop();
  });

  test("before the install claude is neither installed nor credentialed", async () => {
    const a = await getAgent(d, "claude", "?config=true");
    assert.equal(a.installed, false);
    assert.equal(a.credentialsAvailable, false);
    assert.ok(!("path" in a), `no path: ${JSON.stringify(a.path)}`);
    assert.ok(Array.isArray(a.configOptions) && a.configOptions.length > 0);
    assert.deepEqual(npmCalls(log), []);
  });

  test("install runs `npm install <package>@<pinned>` in agentd's prefix (no --prefix) and reports the artifact", async () => {
    const r = assertJson(await install(d, "claude"), 200);
    const calls = npmCalls(log);
    assert.equal(calls.length, 1, JSON.stringify(calls));
    const argv = calls[0];
    assert.equal(argv[0], "install");
    // Run in the prefix, whose package.json agentd wrote: with --prefix, npm would read the
    // global npmrc from <prefix>/etc/npmrc and lose the machine's (issue 18.2).
    assert.equal(argv[argv.length - 1], `cwd:${prefix}`, `argv ${JSON.stringify(argv)}`);
    assert.ok(!argv.includes("--prefix"), `argv ${JSON.stringify(argv)}`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(prefix, "package.json"), "utf8")).private, true);
    // Short retries: a registry or TLS error comes back in seconds.
    assert.ok(argv.includes("--fetch-retries=1"), `argv ${JSON.stringify(argv)}`);
    const specs = argv.filter((a) => a.startsWith(`${CLAUDE_PKG}@`));
    assert.equal(specs.length, 1, `one ${CLAUDE_PKG} spec in ${JSON.stringify(argv)}`);
    pinned = specs[0].slice(CLAUDE_PKG.length + 1);
    // What npm records in the prefix's package.json is exact too, not its default `^` range.
    assert.ok(argv.includes("--save-exact"), `--save-exact in ${JSON.stringify(argv)}`);
    assert.match(pinned, /^\d+\.\d+\.\d+$/, "an exact pinned version, not a range or a tag");

    assert.equal(r.already_installed, false);
    assert.deepEqual(r.artifacts, [{ kind: "agent_process", path: entry, source: "npm", version: pinned }]);
    assert.ok(r.artifacts[0].path.startsWith(`${home}/.local/share/agentd/agents/claude/`));
    fs.accessSync(entry, fs.constants.X_OK);

    const a = await getAgent(d, "claude", "?config=true");
    assert.equal(a.installed, true);
    // The ACP entry point agentd starts is agentProcessPath/Version; path and version are the
    // agent's own CLI's, as the reference reports them (the fake install brings none).
    assert.equal(a.agentProcessPath, entry);
    assert.equal(a.agentProcessVersion, pinned);
    assert.ok(!("path" in a) && !("version" in a), JSON.stringify(a));
    const listed = assertJson(await api(d, "GET", "/v1/agents")).agents.find((x) => x.id === "claude");
    assert.equal(listed.installed, true);
  });

  test("a second install is already_installed and does not run npm", async () => {
    const r = assertJson(await install(d, "claude"), 200);
    assert.deepEqual(r, { already_installed: true, artifacts: [] });
    assert.equal(npmCalls(log).length, 1);
  });

  test("agentVersion overrides the pinned version; reinstall goes back to it", async () => {
    const r = assertJson(await install(d, "claude", { agentVersion: "0.22.0" }), 200);
    let calls = npmCalls(log);
    assert.equal(calls.length, 2);
    assert.ok(calls[1].includes(`${CLAUDE_PKG}@0.22.0`), JSON.stringify(calls[1]));
    assert.ok(!calls[1].includes(`${CLAUDE_PKG}@${pinned}`));
    assert.equal(r.already_installed, false);
    assert.equal(r.artifacts[0].version, "0.22.0");
    assert.equal((await getAgent(d, "claude", "?config=true")).agentProcessVersion, "0.22.0");

    const back = assertJson(await install(d, "claude", { reinstall: true }), 200);
    calls = npmCalls(log);
    assert.equal(calls.length, 3);
    assert.ok(calls[2].includes(`${CLAUDE_PKG}@${pinned}`), JSON.stringify(calls[2]));
    assert.equal(back.already_installed, false);
    assert.equal(back.artifacts[0].version, pinned);
  });

  test("an npm failure is 500 install_failed with the end of npm's stderr", async () => {
    const p = assertProblem(await install(d, "claude", { agentVersion: "0.0.0-missing" }), 500, "install_failed");
    assert.equal(p.agent, "claude");
    assert.equal(typeof p.details?.stderr, "string", JSON.stringify(p));
    // npm puts the reason last, after pages of warnings.
    assert.match(p.details.stderr, /npm error notarget No matching version found for @zed-industries\/claude-agent-acp@0\.0\.0-missing\./);
    assert.match(p.details.stderr, /npm error code ETARGET/);
    assert.match(p.detail, /\(npm error code ETARGET\)/, "npm's error code in the detail");
    assert.equal(npmCalls(log).length, 4);
  });

  test("agents that are not on npm say how to provide them", async () => {
    for (const [agent, variable] of [
      ["amp", "AGENTD_AMP_ACP_BIN"],
      ["cursor", "AGENTD_CURSOR_BIN"],
    ]) {
      const p = assertProblem(await install(d, agent), 500, "install_failed", agent);
      assert.equal(p.agent, agent);
      assert.ok(p.detail.includes(variable), `${agent}: ${p.detail}`);
      assert.equal((await getAgent(d, agent)).installed, false);
    }
    assert.equal(npmCalls(log).length, 4, "npm was not run for them");
  });

  test("an unknown agent is 400 unsupported_agent", async () => {
    const p = assertProblem(await install(d, "bogus"), 400, "unsupported_agent");
    assert.equal(p.agent, "bogus");
    assertProblem(await api(d, "GET", "/v1/agents/bogus"), 400, "unsupported_agent");
  });

  test("the ACP bridge launches the installed entry point", async () => {
    const r = await postJson(d, "/v1/acp/claude-fake?agent=claude", { jsonrpc: "2.0", method: "hello" });
    assert.equal(r.status, 202, r.text);
    const sub = await openSse(d, "/v1/acp/claude-fake");
    const ev = await sub.next((e) => JSON.parse(e.data).method === "_fake/started", { what: "the fake agent's hello" });
    sub.close();
    assert.equal(JSON.parse(ev.data).params.argv0, entry);
    assert.equal((await api(d, "DELETE", "/v1/acp/claude-fake")).status, 204);
  });

  test("each npm agent runs with its install's node_modules/.bin first on PATH (pi-acp finds `pi`)", async () => {
    // Before, the inherited PATH only: pi-acp could not find the pi its own install brought
    // (session/new: "Could not start pi: executable not found").
    for (const id of ["claude", "pi"]) {
      const r = await install(d, id);
      assert.equal(r.status, 200, r.text);
      const bin = path.join(home, `.local/share/agentd/agents/${id}/node_modules/.bin`);
      const p = await postJson(d, `/v1/acp/path-${id}?agent=${id}`, { jsonrpc: "2.0", method: "hello" });
      assert.equal(p.status, 202, p.text);
      const sub = await openSse(d, `/v1/acp/path-${id}`);
      const ev = await sub.next((e) => JSON.parse(e.data).method === "_fake/started", { what: `${id}'s hello` });
      sub.close();
      const params = JSON.parse(ev.data).params;
      assert.equal(params.path.split(":")[0], bin, `${id}: PATH starts with its own .bin`);
      assert.deepEqual(params.path.split(":").slice(1), env.PATH.split(":"), `${id}: then the daemon's PATH`);
      if (id === "pi") assert.equal(params.found.trim(), path.join(bin, "pi-coding-agent"), "pi-acp finds the second package's binary");
      assert.equal((await api(d, "DELETE", `/v1/acp/path-${id}`)).status, 204);
    }
  });

  test("the first ACP POST for an agent that is not installed installs it, then delivers in order", async () => {
    const codexEntry = path.join(home, ".local/share/agentd/agents/codex/node_modules/.bin/codex-acp");
    assert.equal((await getAgent(d, "codex")).installed, false);
    // Two POSTs while npm runs: both wait for the install, then reach the agent in order.
    const [a, b] = await Promise.all([
      postJson(d, "/v1/acp/codex-auto?agent=codex", { jsonrpc: "2.0", method: "first" }),
      postJson(d, "/v1/acp/codex-auto", { jsonrpc: "2.0", method: "second" }),
    ]);
    assert.equal(a.status, 202, a.text);
    assert.equal(b.status, 202, b.text);
    assert.equal((await getAgent(d, "codex")).installed, true);
    assert.match(fs.readFileSync(log, "utf8"), /@zed-industries\/codex-acp@/);
    const sub = await openSse(d, "/v1/acp/codex-auto");
    const ev = await sub.next((e) => JSON.parse(e.data).method === "_fake/started", { what: "the installed agent's hello" });
    sub.close();
    assert.equal(JSON.parse(ev.data).params.argv0, codexEntry);
    const list = assertJson(await api(d, "GET", "/v1/acp"));
    assert.deepEqual(list.servers.map((x) => [x.serverId, x.agent]), [["codex-auto", "codex"]]);
    assert.equal((await api(d, "DELETE", "/v1/acp/codex-auto")).status, 204);
  });

  test("an agent npm cannot provide: the first ACP POST says how to provide it, no server is left", async () => {
    const amp = assertProblem(await postJson(d, "/v1/acp/amp-bad?agent=amp", { jsonrpc: "2.0", method: "x" }), 502, "stream_error");
    assert.match(amp.detail, /AGENTD_AMP_ACP_BIN/);
    // A request (the SDK's initialize) gets the same as a JSON-RPC error, which settles its call.
    const init = assertRpcFailure(await postJson(d, "/v1/acp/amp-bad?agent=amp", { jsonrpc: "2.0", id: 0, method: "initialize" }), 0, 502, "stream_error");
    assert.equal(init.detail, amp.detail);
    const list = assertJson(await api(d, "GET", "/v1/acp"));
    assert.ok(!list.servers.some((x) => x.serverId === "amp-bad"));
  });

  test("credentialsAvailable follows ANTHROPIC_API_KEY and ~/.claude/.credentials.json", async () => {
    assert.equal((await getAgent(d, "claude")).credentialsAvailable, false);
    // Same HOME, so the install is still there; only the key differs.
    const keyed = await startDaemon({ home, env: { ...env, ANTHROPIC_API_KEY: "sk-ant-test" } });
    try {
      const a = await getAgent(keyed, "claude");
      assert.equal(a.credentialsAvailable, true);
      assert.equal(a.installed, true);
      const empty = await startDaemon({ home, env: { ...env, ANTHROPIC_API_KEY: "" } });
      try {
        assert.equal((await getAgent(empty, "claude")).credentialsAvailable, false, "an empty key is no key");
      } finally {
        await empty.stop();
      }
    } finally {
      await keyed.stop();
    }
    fs.mkdirSync(path.join(home, ".claude"), { recursive: true });
    fs.writeFileSync(path.join(home, ".claude/.credentials.json"), "{}\n", { mode: 0o600 });
    assert.equal((await getAgent(d, "claude")).credentialsAvailable, true, "the credentials file counts");
  });
});

describe("no npm on PATH", () => {
  let d;
  before(async () => {
    d = await startDaemon({ env: { ...NO_CREDENTIALS, PATH: "/nonexistent" } });
  });
  after(async () => {
    if (d) await d.stop();
  });

  test("installing an npm agent is 500 install_failed saying npm is missing, at once", async () => {
    const p = assertProblem(await install(d, "codex"), 500, "install_failed");
    assert.equal(p.agent, "codex");
    const text = `${p.detail} ${p.details?.stderr || ""}`;
    assert.match(text, /npm/);
    assert.match(text, /AGENTD_CODEX_ACP_BIN/, "says how to provide the agent instead");
    assert.equal((await getAgent(d, "codex")).installed, false);
  });

  test("the first ACP POST for an npm agent gets the install's 500 when npm is missing (a request as a JSON-RPC error)", async () => {
    const p = assertRpcFailure(await postJson(d, "/v1/acp/c1?agent=codex", { jsonrpc: "2.0", id: 1, method: "initialize" }), 1, 500, "install_failed");
    assert.equal(p.agent, "codex");
    assert.match(p.details.stderr, /npm/, "the installer's output is in data too");
    const note = assertProblem(await postJson(d, "/v1/acp/c1?agent=codex", { jsonrpc: "2.0", method: "hello" }), 500, "install_failed");
    assert.equal(note.agent, "codex");
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/acp")).servers, []);
  });
});

describe("credentialsAvailable follows the reference's rules per agent (issue 18.3)", () => {
  // Observed on sandbox-agent 0.4.2's GET /v1/agents with each credential alone (an empty HOME,
  // no other variable): Anthropic credentials count for claude, amp and opencode, OpenAI ones for
  // codex and opencode, Codex's auth.json only with a key or tokens in it; pi, cursor and mock
  // always. (Before: amp counted only AMP_API_KEY, opencode not CLAUDE_* nor CODEX_API_KEY, and
  // any ~/.codex/auth.json counted.)
  const ALL = ["ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "OPENAI_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY", "AMP_API_KEY", "OPENCODE_API_KEY", "OPENROUTER_API_KEY"];
  const ORDER = ["claude", "codex", "opencode", "amp", "pi", "cursor", "mock"];
  const cases = [
    ["nothing", {}, null, "FFFFTTT"],
    ["ANTHROPIC_API_KEY", { ANTHROPIC_API_KEY: "x" }, null, "TFTTTTT"],
    ["CLAUDE_API_KEY", { CLAUDE_API_KEY: "x" }, null, "TFTTTTT"],
    ["CLAUDE_CODE_OAUTH_TOKEN", { CLAUDE_CODE_OAUTH_TOKEN: "x" }, null, "TFTTTTT"],
    ["OPENAI_API_KEY", { OPENAI_API_KEY: "x" }, null, "FTTFTTT"],
    ["CODEX_API_KEY", { CODEX_API_KEY: "x" }, null, "FTTFTTT"],
    ["GEMINI_API_KEY", { GEMINI_API_KEY: "x" }, null, "FFFFTTT"],
    ["~/.claude/.credentials.json", {}, [".claude/.credentials.json", '{"claudeAiOauth":{"accessToken":"x"}}'], "TFTTTTT"],
    ["~/.codex/auth.json with a key", {}, [".codex/auth.json", '{"OPENAI_API_KEY":"x"}'], "FTTFTTT"],
    ["~/.codex/auth.json with tokens", {}, [".codex/auth.json", '{"tokens":{"access_token":"x"}}'], "FTTFTTT"],
    ["~/.codex/auth.json without either", {}, [".codex/auth.json", '{"claudeAiOauth":{}}'], "FFFFTTT"],
  ];
  for (const [name, env, file, want] of cases) {
    test(name, async () => {
      const home = await realTempDir("agentd-cred-");
      if (file) {
        fs.mkdirSync(path.join(home, path.dirname(file[0])), { recursive: true });
        fs.writeFileSync(path.join(home, file[0]), file[1]);
      }
      const d = await startDaemon({ home, env: { ...env, PATH: "/usr/bin:/bin" }, unsetEnv: ALL.filter((k) => !(k in env)) });
      try {
        const { agents } = assertJson(await api(d, "GET", "/v1/agents"));
        const got = ORDER.map((id) => (agents.find((a) => a.id === id).credentialsAvailable ? "T" : "F")).join("");
        assert.equal(got, want, `${ORDER.join(" ")}`);
      } finally {
        await d.stop();
      }
    });
  }

  test("beyond the reference: an agent's own key counts for it (AMP_API_KEY for amp, OPENCODE_API_KEY for opencode)", async () => {
    for (const [key, id] of [["AMP_API_KEY", "amp"], ["OPENCODE_API_KEY", "opencode"]]) {
      const d = await startDaemon({ home: await realTempDir("agentd-cred-"), env: { [key]: "x", PATH: "/usr/bin:/bin" }, unsetEnv: ALL.filter((k) => k !== key) });
      try {
        const { agents } = assertJson(await api(d, "GET", "/v1/agents"));
        assert.equal(agents.find((a) => a.id === id).credentialsAvailable, true, key);
        assert.equal(agents.find((a) => a.id === "claude").credentialsAvailable, false, key);
      } finally {
        await d.stop();
      }
    }
  });
});
