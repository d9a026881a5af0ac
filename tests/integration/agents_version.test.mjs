// GET /v1/agents?config=true reports each agent's own CLI as `path` and `version`, the way the
// reference does (issue 18.3): the CLI found in agentd's prefix, the reference's install
// directory or PATH, and the first line it prints for `--version` (then `version`, then `-V`),
// cut before " (". The ACP entry point agentd starts is agentProcessPath/agentProcessVersion.
// The lookups are child processes on the loop (never blocking it), bounded in time, one per
// agent at a time, cached until the agent is installed again or no_cache=true; at shutdown they
// and any npm install are killed, so the daemon exits at once. Fake CLIs on the daemon's PATH
// record their calls.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { api, assertJson, pidGone, postJson, realTempDir, startDaemon, waitFor } from "./harness.mjs";

const FAKE_NPM = new URL("../fixtures/fake_npm.sh", import.meta.url).pathname;
const NO_CREDENTIALS = { ANTHROPIC_API_KEY: undefined, CLAUDE_API_KEY: undefined, CLAUDE_CODE_OAUTH_TOKEN: undefined };

/** Writes an executable shell script. */
function script(file, body) {
  fs.writeFileSync(file, `#!/bin/sh\nd=$(dirname "$0")\n${body}\n`, { mode: 0o755 });
}

/** The lines a fake CLI appended to its calls file. */
const calls = (bin, name) => {
  try {
    return fs.readFileSync(path.join(bin, `${name}.calls`), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
};

const list = async (d, query) => assertJson(await api(d, "GET", `/v1/agents${query}`, { timeout: 30000 })).agents;
const one = async (d, id, query) => assertJson(await api(d, "GET", `/v1/agents/${id}${query}`, { timeout: 30000 }));

describe("the agents' own CLIs: path and version", () => {
  let d;
  let bin;

  before(async () => {
    bin = await realTempDir("agentd-cli-bin-");
    // claude: answers `--version` like Claude Code, after a blank line and a line of spaces,
    // a little slowly (as node CLIs are), and notes any call that overlaps another.
    fs.writeFileSync(path.join(bin, "claude.ver"), "2.1.83");
    script(
      path.join(bin, "claude"),
      `echo "$*" >>"$d/claude.calls"
if mkdir "$d/claude.lock" 2>/dev/null; then sleep 0.3; rmdir "$d/claude.lock"; else echo overlap >>"$d/claude.overlap"; fi
[ "$1" = --version ] || exit 2
printf '\\n   \\n  %s (Claude Code)\\n' "$(cat "$d/claude.ver")"`,
    );
    // codex: --version fails, `version` answers.
    script(path.join(bin, "codex"), `echo "$*" >>"$d/codex.calls"\n[ "$1" = version ] || { echo "unknown option $1" >&2; exit 1; }\necho "codex-cli 0.5.0"`);
    // pi: only -V answers, on stderr.
    script(path.join(bin, "pi"), `echo "$*" >>"$d/pi.calls"\n[ "$1" = -V ] || exit 2\necho "pi 1.2.3" >&2`);
    // amp: exists, succeeds, prints nothing: a path, no version.
    script(path.join(bin, "amp"), `echo "$*" >>"$d/amp.calls"\nexit 0`);
    // An ACP entry point for claude, so that it counts as installed (install is then a no-op).
    script(path.join(bin, "claude-acp-entry"), "exec cat >/dev/null");
    d = await startDaemon({
      env: { ...NO_CREDENTIALS, PATH: `${bin}:/usr/bin:/bin`, AGENTD_CLAUDE_ACP_BIN: path.join(bin, "claude-acp-entry") },
    });
  });

  after(async () => {
    if (d) await d.stop();
  });

  test("without config nothing is looked up and neither field is there", async () => {
    for (const a of await list(d, "")) assert.ok(!("path" in a) && !("version" in a) && !("agentProcessPath" in a), JSON.stringify(a));
    assert.deepEqual(calls(bin, "claude"), []);
  });

  test("config=true: each CLI's path and its version line, the reference's way", async () => {
    const agents = Object.fromEntries((await list(d, "?config=true")).map((a) => [a.id, a]));
    assert.equal(agents.claude.path, path.join(bin, "claude"));
    assert.equal(agents.claude.version, "2.1.83", "the first non-blank line, cut before ' ('");
    assert.equal(agents.claude.agentProcessPath, path.join(bin, "claude-acp-entry"), "the ACP entry point agentd starts");
    assert.equal(agents.codex.version, "codex-cli 0.5.0", "`version` after --version failed");
    assert.deepEqual(calls(bin, "codex"), ["--version", "version"]);
    assert.equal(agents.pi.version, "pi 1.2.3", "-V, on stderr");
    assert.deepEqual(calls(bin, "pi"), ["--version", "version", "-V"]);
    assert.equal(agents.amp.path, path.join(bin, "amp"));
    assert.ok(!("version" in agents.amp), "a CLI that says nothing has a path and no version");
    assert.ok(!("path" in agents.cursor) && !("version" in agents.cursor), "no cursor-agent anywhere");
    assert.ok(!("path" in agents.opencode), "no opencode anywhere");
    assert.equal(agents.mock.version, "builtin");
    assert.equal(agents.mock.agentProcessVersion, "builtin");
  });

  test("answers come from the cache until no_cache=true or an install", async () => {
    const before = calls(bin, "claude").length;
    assert.equal((await one(d, "claude", "?config=true")).version, "2.1.83");
    await list(d, "?config=true");
    assert.equal(calls(bin, "claude").length, before, "cached: the CLI is not run again");

    fs.writeFileSync(path.join(bin, "claude.ver"), "2.2.0");
    assert.equal((await one(d, "claude", "?config=true")).version, "2.1.83", "still the cached one");
    assert.equal((await one(d, "claude", "?config=true&no_cache=true")).version, "2.2.0");
    assert.equal(calls(bin, "claude").length, before + 1);

    fs.writeFileSync(path.join(bin, "claude.ver"), "2.3.0");
    const r = assertJson(await postJson(d, "/v1/agents/claude/install", {}), 200);
    assert.equal(r.already_installed, true);
    assert.equal((await one(d, "claude", "?config=true")).version, "2.3.0", "an install drops the cached answer");
  });

  test("requests at once share one lookup per agent: the CLI never runs twice at the same time", async () => {
    const before = calls(bin, "claude").length;
    const answers = await Promise.all(Array.from({ length: 6 }, () => one(d, "claude", "?config=true&no_cache=true")));
    for (const a of answers) assert.equal(a.version, "2.3.0");
    assert.ok(!fs.existsSync(path.join(bin, "claude.overlap")), "two `claude --version` ran at once");
    const ran = calls(bin, "claude").length - before;
    assert.ok(ran >= 1 && ran < 6, `${ran} lookups for 6 requests that overlapped`);
  });

  test("a bad query value is 400 before anything runs", async () => {
    const before = calls(bin, "claude").length;
    const r = await api(d, "GET", "/v1/agents?config=true&no_cache=maybe");
    assert.equal(r.status, 400, r.text);
    assert.equal(calls(bin, "claude").length, before);
  });
});

describe("a CLI that never answers", () => {
  let d;
  let bin;

  before(async () => {
    bin = await realTempDir("agentd-cli-hang-");
    script(path.join(bin, "opencode"), `echo $$ >"$d/opencode.pid"\nexec sleep 600`);
    d = await startDaemon({ env: { ...NO_CREDENTIALS, PATH: `${bin}:/usr/bin:/bin` } });
  });

  after(async () => {
    if (d) await d.stop();
  });

  test("is killed after its time; the loop serves others meanwhile; the answer has no version", async () => {
    const order = [];
    const slow = one(d, "opencode", "?config=true").then((a) => {
      order.push("agents");
      return a;
    });
    await waitFor(() => fs.existsSync(path.join(bin, "opencode.pid")), { what: "opencode --version started" });
    const h = await api(d, "GET", "/v1/health");
    assert.equal(h.status, 200);
    order.push("health");
    const a = await slow;
    assert.deepEqual(order, ["health", "agents"], "health answered while the lookup ran");
    assert.equal(a.path, path.join(bin, "opencode"));
    assert.ok(!("version" in a), JSON.stringify(a));
    const pid = Number(fs.readFileSync(path.join(bin, "opencode.pid"), "utf8"));
    await waitFor(() => pidGone(pid), { what: "the hung CLI killed" });
    assert.match(d.logs(), /opencode: `.*opencode --version` did not answer within 5000 ms/);
  });
});

describe("shutdown does not wait for lookups or installs", () => {
  test("SIGTERM while a version lookup and an npm install hang: agentd exits 0 at once, both children killed", async () => {
    const bin = await realTempDir("agentd-cli-stop-");
    script(path.join(bin, "opencode"), `echo $$ >"$d/opencode.pid"\nexec sleep 600`);
    fs.symlinkSync(FAKE_NPM, path.join(bin, "npm"));
    const log = path.join(bin, "npm.log");
    const d = await startDaemon({ env: { ...NO_CREDENTIALS, PATH: `${bin}:/usr/bin:/bin`, FAKE_NPM_LOG: log } });
    const lookup = api(d, "GET", "/v1/agents/opencode?config=true", { timeout: 30000 }).catch((e) => e);
    const install = postJson(d, "/v1/agents/claude/install", { agentVersion: "0.0.0-hang" }, { timeout: 30000 }).catch((e) => e);
    await waitFor(() => fs.existsSync(path.join(bin, "opencode.pid")) && fs.existsSync(`${log}.pid`), { what: "both children started" });
    // Before, the install held the exit for its 10 minutes and the lookup for its 5 s.
    const r = await d.stop("SIGTERM", 4000);
    assert.equal(r.code, 0);
    assert.doesNotMatch(d.logs(), /did not answer within/, "the lookup was stopped, not timed out");
    for (const f of [path.join(bin, "opencode.pid"), `${log}.pid`]) {
      const pid = Number(fs.readFileSync(f, "utf8"));
      await waitFor(() => pidGone(pid), { what: `${path.basename(f)} killed` });
    }
    await Promise.all([lookup, install]);
  });
});
