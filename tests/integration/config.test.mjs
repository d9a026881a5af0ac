// /v1/config/mcp and /v1/config/skills (spec section 8): round trips with the official SDK, the
// stored files byte for byte, and raw bad input (missing or empty query parameters, 422
// validation naming the field, corrupt files, directories that cannot hold a config) with the
// guarantee that a rejected request writes nothing.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import {
  api, assertProblem, assertUnchanged, exists, q, realTempDir, snapshot, startServer,
  sdkError,
} from "./harness.mjs";

const TOKEN = "config-token";

let d;
let sdk;

before(async () => {
  d = await startServer({ token: TOKEN });
  sdk = await SandboxAgent.connect({ baseUrl: d.base, token: TOKEN });
});

after(async () => {
  if (sdk) await sdk.dispose();
  if (d) await d.stop();
});

const mcpFile = (dir) => path.join(dir, ".sandbox-agent", "config", "mcp.json");
const skillsFile = (dir) => path.join(dir, ".sandbox-agent", "config", "skills.json");

function put(kind, query, body, headers = { "Content-Type": "application/json" }) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return api(d, "PUT", `/v1/config/${kind}?${query}`, { body: text, headers });
}

const mcpQuery = (dir, name) => `directory=${q(dir)}&mcpName=${q(name)}`;
const skillsQuery = (dir, name) => `directory=${q(dir)}&skillName=${q(name)}`;

describe("MCP config through the SDK", () => {
  test("a local server (alias stdio) round trips in canonical form and is stored pretty-printed", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const query = { directory: dir, mcpName: "files" };
    await sdk.setMcpConfig(query, {
      type: "stdio", command: "npx", args: ["-y", "@mcp/fs"], env: { Z: "1", A: "2" }, cwd: null,
      enabled: true, timeoutMs: 5000, url: "ignored for local", extra: { x: 1 },
    });
    assert.deepEqual(await sdk.getMcpConfig(query), {
      type: "local", command: "npx", args: ["-y", "@mcp/fs"], env: { A: "2", Z: "1" }, enabled: true, timeoutMs: 5000,
    });
    assert.equal(await fs.readFile(mcpFile(dir), "utf8"), [
      "{",
      '  "files": {',
      '    "type": "local",',
      '    "command": "npx",',
      '    "args": [',
      '      "-y",',
      '      "@mcp/fs"',
      "    ],",
      '    "env": {',
      '      "A": "2",',
      '      "Z": "1"',
      "    },",
      '    "enabled": true,',
      '    "timeoutMs": 5000',
      "  }",
      "}",
    ].join("\n"));
    const st = await fs.stat(mcpFile(dir));
    assert.equal(st.mode & 0o777 & ~0o022, 0o644 & ~0o022);
    // args default to [], a command may be an array, cwd is kept.
    // The largest timeout comes back exactly (JSON numbers are doubles).
    await sdk.setMcpConfig(query, { type: "local", command: "x", timeoutMs: 999999999999999 });
    assert.equal((await sdk.getMcpConfig(query)).timeoutMs, 999999999999999);
    assert.match(await fs.readFile(mcpFile(dir), "utf8"), /"timeoutMs": 999999999999999\n/);
    await sdk.setMcpConfig(query, { type: "local", command: ["uvx", "mcp-server"], cwd: "/w" });
    assert.deepEqual(await sdk.getMcpConfig(query), { type: "local", command: ["uvx", "mcp-server"], args: [], cwd: "/w" });

    await sdk.deleteMcpConfig(query);
    const err = await sdkError(() => sdk.getMcpConfig(query), 404, "session_not_found");
    assert.equal(err.problem.sessionId, "mcp:files");
    assert.equal(err.problem.detail, "session not found: mcp:files");
    // Deleting the last entry leaves an empty map; deleting again is fine.
    assert.equal(await fs.readFile(mcpFile(dir), "utf8"), "{}");
    await sdk.deleteMcpConfig(query);
  });

  test("a remote server (alias http) keeps every field, in the reference's order", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const query = { directory: dir, mcpName: "remote one" };
    await sdk.setMcpConfig(query, {
      transport: "sse", timeoutMs: 7, enabled: false, oauth: { scope: "s", clientId: null, clientSecret: "x", other: 1 },
      envHeaders: { E: "TOKEN_VAR" }, bearerTokenEnvVar: "B", headers: { b: "1", B: "2" }, url: "https://x.example/mcp",
      type: "http", command: "ignored",
    });
    const got = await sdk.getMcpConfig(query);
    assert.deepEqual(Object.keys(got), ["type", "url", "headers", "bearerTokenEnvVar", "envHeaders", "oauth", "enabled", "timeoutMs", "transport"]);
    assert.deepEqual(got, {
      type: "remote", url: "https://x.example/mcp", headers: { B: "2", b: "1" }, bearerTokenEnvVar: "B",
      envHeaders: { E: "TOKEN_VAR" }, oauth: { clientSecret: "x", scope: "s" }, enabled: false, timeoutMs: 7, transport: "sse",
    });
    for (const oauth of [true, false]) {
      await sdk.setMcpConfig(query, { type: "remote", url: "u", oauth, headers: null });
      assert.deepEqual(await sdk.getMcpConfig(query), { type: "remote", url: "u", oauth });
    }
  });

  test("several entries share one file, sorted by name; an upsert replaces only its entry", async () => {
    const dir = await realTempDir("agentd-cfg-");
    for (const name of ["zeta", "Alpha", "beta"])
      await sdk.setMcpConfig({ directory: dir, mcpName: name }, { type: "local", command: name });
    await sdk.setMcpConfig({ directory: dir, mcpName: "beta" }, { type: "remote", url: "http://b" });
    const file = JSON.parse(await fs.readFile(mcpFile(dir), "utf8"));
    assert.deepEqual(Object.keys(file), ["Alpha", "beta", "zeta"]);
    assert.deepEqual(file.beta, { type: "remote", url: "http://b" });
    assert.deepEqual(file.zeta, { type: "local", command: "zeta", args: [] });
    await sdk.deleteMcpConfig({ directory: dir, mcpName: "Alpha" });
    assert.deepEqual(Object.keys(JSON.parse(await fs.readFile(mcpFile(dir), "utf8"))), ["beta", "zeta"]);
  });

  test("concurrent updates of one file keep every entry and leave no temporary files", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const names = Array.from({ length: 24 }, (_, i) => `srv-${String(i).padStart(2, "0")}`);
    await Promise.all(names.map((n) => sdk.setMcpConfig({ directory: dir, mcpName: n }, { type: "local", command: n })));
    const file = JSON.parse(await fs.readFile(mcpFile(dir), "utf8"));
    assert.deepEqual(Object.keys(file), names);
    assert.deepEqual(await fs.readdir(path.dirname(mcpFile(dir))), ["mcp.json"]);
    await Promise.all(names.slice(0, 12).map((n) => sdk.deleteMcpConfig({ directory: dir, mcpName: n })));
    assert.deepEqual(Object.keys(JSON.parse(await fs.readFile(mcpFile(dir), "utf8"))), names.slice(12));
  });

  test("a hand-written file in the reference's loose form is read in canonical form", async () => {
    const dir = await realTempDir("agentd-cfg-");
    await fs.mkdir(path.dirname(mcpFile(dir)), { recursive: true });
    await fs.writeFile(mcpFile(dir), '{"b":{"type":"stdio","command":"q","env":{"z":"1","a":"2"},"x":1},"a":{"type":"http","url":"q"}}');
    assert.deepEqual(await sdk.getMcpConfig({ directory: dir, mcpName: "b" }), { type: "local", command: "q", args: [], env: { a: "2", z: "1" } });
    // The next write stores every entry canonically.
    await sdk.setMcpConfig({ directory: dir, mcpName: "c" }, { type: "local", command: "c" });
    assert.deepEqual(JSON.parse(await fs.readFile(mcpFile(dir), "utf8")), {
      a: { type: "remote", url: "q" },
      b: { type: "local", command: "q", args: [], env: { a: "2", z: "1" } },
      c: { type: "local", command: "c", args: [] },
    });
    // An empty file holds no entries.
    await fs.writeFile(mcpFile(dir), "");
    await sdkError(() => sdk.getMcpConfig({ directory: dir, mcpName: "a" }), 404, "session_not_found");
  });
});

describe("skills config through the SDK", () => {
  test("round trip, canonical order, unknown and null fields dropped", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const query = { directory: dir, skillName: "mine" };
    await sdk.setSkillsConfig(query, {
      sources: [
        { subpath: "skills", ref: "main", skills: ["a", "b"], source: "owner/repo", type: "github", x: 1 },
        { type: "local", source: "/path", ref: null, skills: null },
      ],
    });
    const got = await sdk.getSkillsConfig(query);
    assert.deepEqual(got, {
      sources: [
        { type: "github", source: "owner/repo", skills: ["a", "b"], ref: "main", subpath: "skills" },
        { type: "local", source: "/path" },
      ],
    });
    assert.deepEqual(Object.keys(got.sources[0]), ["type", "source", "skills", "ref", "subpath"]);
    assert.deepEqual(JSON.parse(await fs.readFile(skillsFile(dir), "utf8")), { mine: got });
    await sdk.setSkillsConfig(query, { sources: [] });
    assert.deepEqual(await sdk.getSkillsConfig(query), { sources: [] });
    await sdk.deleteSkillsConfig(query);
    const err = await sdkError(() => sdk.getSkillsConfig(query), 404, "session_not_found");
    assert.equal(err.problem.sessionId, "skills:mine");
    // mcp.json and skills.json are separate files.
    assert.equal(await exists(mcpFile(dir)), false);
  });
});

describe("config: bad requests", () => {
  const ROUTES = [
    ["mcp", "mcpName"],
    ["skills", "skillName"],
  ];

  test("missing or empty query parameters are 400 problems naming the parameter", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const before = await snapshot(dir);
    for (const [kind, nameKey] of ROUTES) {
      const body = kind === "mcp" ? { type: "local", command: "x" } : { sources: [] };
      for (const [query, re] of [
        [`${nameKey}=a`, /`directory`/],
        [`directory=${q(dir)}`, new RegExp(`\`${nameKey}\``)],
        [`directory=&${nameKey}=a`, /`directory` must not be empty/],
        [`directory=${q(dir)}&${nameKey}=`, new RegExp(`\`${nameKey}\` must not be empty`)],
        [`directory=${q(dir)}&${nameKey}=a&${nameKey}=b`, new RegExp(nameKey)],
      ]) {
        for (const method of ["GET", "PUT", "DELETE"]) {
          const res = method === "PUT" ? await put(kind, query, body) : await api(d, method, `/v1/config/${kind}?${query}`);
          const p = assertProblem(res, 400, "invalid_request", `${method} ${kind}?${query}`);
          assert.match(p.detail, re);
        }
      }
    }
    await assertUnchanged(dir, before);
  });

  const MCP_422 = [
    [{ type: "bogus", command: "x" }, /`type` must be one of local, stdio, http, remote/],
    [{ command: "x" }, /missing field `type`/],
    [{ type: null, command: "x" }, /missing field `type`/],
    [{ type: 5, command: "x" }, /`type`/],
    [{ type: "local" }, /missing field `command`/],
    [{ type: "stdio", command: null }, /missing field `command`/],
    [{ type: "local", command: 5 }, /`command` must be a string or an array of strings/],
    [{ type: "local", command: ["a", 1] }, /`command\[1\]`/],
    [{ type: "remote" }, /missing field `url`/],
    [{ type: "http", url: 5 }, /`url` must be a string/],
    [{ type: "local", command: "x", args: "a b" }, /`args` must be an array/],
    [{ type: "local", command: "x", args: [1] }, /`args\[0\]` must be a string/],
    [{ type: "local", command: "x", env: { A: 1 } }, /`env`.*`A`/],
    [{ type: "local", command: "x", env: ["A=1"] }, /`env`/],
    [{ type: "local", command: "x", enabled: "yes" }, /`enabled` must be true or false/],
    [{ type: "local", command: "x", timeoutMs: -1 }, /`timeoutMs`/],
    [{ type: "local", command: "x", timeoutMs: 1.5 }, /`timeoutMs`/],
    [{ type: "local", command: "x", timeoutMs: 2 ** 60 }, /`timeoutMs`/],
    [{ type: "local", command: "x", timeoutMs: 1e15 }, /between 0 and 999999999999999/],
    [{ type: "local", command: "x", cwd: 1 }, /`cwd` must be a string/],
    [{ type: "remote", url: "u", transport: "ws" }, /`transport` must be "http" or "sse"/],
    [{ type: "remote", url: "u", oauth: 5 }, /`oauth`/],
    [{ type: "remote", url: "u", oauth: { clientId: 5 } }, /`oauth.clientId`/],
    [{ type: "remote", url: "u", headers: { a: null } }, /`headers`/],
    ['{"type":"local","command":"x","type":"remote"}', /duplicate field `type`/],
    ["[]", /JSON object/],
    ['"local"', /JSON object/],
  ];
  const SKILLS_422 = [
    [{}, /missing field `sources`/],
    [{ sources: null }, /missing field `sources`/],
    [{ sources: {} }, /`sources` must be an array/],
    [{ sources: [5] }, /`sources\[0\]` must be an object/],
    [{ sources: [{ type: "x" }] }, /missing field `sources\[0\].source`/],
    [{ sources: [{ source: "x" }] }, /missing field `sources\[0\].type`/],
    [{ sources: [{ type: "a", source: "b" }, { type: 5, source: "x" }] }, /`sources\[1\].type` must be a string/],
    [{ sources: [{ type: "a", source: "b", skills: [1] }] }, /`sources\[0\].skills\[0\]`/],
    [{ sources: [{ type: "a", source: "b", ref: false }] }, /`sources\[0\].ref`/],
  ];

  for (const [kind, cases] of [["mcp", MCP_422], ["skills", SKILLS_422]]) {
    test(`${kind}: invalid bodies are 422 naming the field, and nothing is written`, async () => {
      const dir = await realTempDir("agentd-cfg-");
      const query = kind === "mcp" ? mcpQuery(dir, "a") : skillsQuery(dir, "a");
      // First with no config directory at all, then over an existing file.
      for (const round of [0, 1]) {
        if (round === 1) {
          const ok = kind === "mcp" ? { type: "local", command: "keep" } : { sources: [] };
          assert.equal((await put(kind, query, ok)).status, 204);
        }
        const before = await snapshot(dir);
        for (const [body, re] of cases) {
          const p = assertProblem(await put(kind, query, body), 422, "invalid_request", JSON.stringify(body));
          assert.match(p.detail, re, JSON.stringify(body));
        }
        await assertUnchanged(dir, before);
      }
    });
  }

  test("syntax errors, a missing JSON content type and oversized bodies are refused before any write", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const query = mcpQuery(dir, "a");
    const before = await snapshot(dir);
    assertProblem(await put("mcp", query, '{"type":'), 400, "invalid_request");
    assertProblem(await put("mcp", query, ""), 400, "invalid_request");
    assertProblem(await put("mcp", query, '{"type":"local","command":"x"}', { "Content-Type": "text/plain" }), 415, "invalid_request");
    const big = JSON.stringify({ type: "local", command: "x", args: ["a".repeat(2 * 1024 * 1024)] });
    assertProblem(await put("mcp", query, big), 413, "invalid_request");
    await assertUnchanged(dir, before);
    assert.equal(await exists(path.join(dir, ".sandbox-agent")), false);
  });

  test("a corrupt config file is a 400 naming the file for every method, and stays as it was", async () => {
    const dir = await realTempDir("agentd-cfg-");
    await fs.mkdir(path.dirname(mcpFile(dir)), { recursive: true });
    for (const [content, re] of [
      ['{"a": [', /not valid JSON/],
      ["[1,2]", /top level must be a JSON object/],
      ['{"a":{"type":"zzz"}}', /entry `a`: field `type` must be one of/],
      ['{"a":{"type":"local","command":"q"},"b":5}', /entry `b`: expected a JSON object/],
      [Buffer.from([0x7b, 0xff, 0x7d]), /not valid UTF-8/],
    ]) {
      await fs.writeFile(mcpFile(dir), content);
      const before = await snapshot(dir);
      for (const res of [
        await api(d, "GET", `/v1/config/mcp?${mcpQuery(dir, "a")}`),
        await put("mcp", mcpQuery(dir, "a"), { type: "local", command: "x" }),
        await api(d, "DELETE", `/v1/config/mcp?${mcpQuery(dir, "a")}`),
      ]) {
        const p = assertProblem(res, 400, "invalid_request", String(content));
        assert.ok(p.detail.startsWith(`invalid request: invalid config file ${mcpFile(dir)}: `), p.detail);
        assert.match(p.detail, re);
      }
      await assertUnchanged(dir, before);
    }
  });

  test("DELETE of an absent entry is 204 and creates nothing", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const missing = path.join(dir, "not", "there");
    assert.equal((await api(d, "DELETE", `/v1/config/mcp?${mcpQuery(missing, "x")}`)).status, 204);
    assert.equal((await api(d, "DELETE", `/v1/config/skills?${skillsQuery(dir, "x")}`)).status, 204);
    assert.deepEqual(await fs.readdir(dir), []);
    assertProblem(await api(d, "GET", `/v1/config/mcp?${mcpQuery(missing, "x")}`), 404, "session_not_found");
  });

  test("directories that cannot hold a config give a conflict, not a crash or a partial write", async () => {
    const dir = await realTempDir("agentd-cfg-");
    const file = path.join(dir, "plain-file");
    await fs.writeFile(file, "data");
    const p = assertProblem(await put("mcp", mcpQuery(file, "a"), { type: "local", command: "x" }), 409, "conflict");
    assert.match(p.detail, /not a directory/);
    // Reading through a file finds nothing rather than failing.
    assertProblem(await api(d, "GET", `/v1/config/mcp?${mcpQuery(file, "a")}`), 404, "session_not_found");
    // mcp.json itself a directory.
    const dir2 = await realTempDir("agentd-cfg-");
    await fs.mkdir(mcpFile(dir2), { recursive: true });
    const before = await snapshot(dir2);
    assertProblem(await api(d, "GET", `/v1/config/mcp?${mcpQuery(dir2, "a")}`), 409, "conflict");
    assertProblem(await put("mcp", mcpQuery(dir2, "a"), { type: "local", command: "x" }), 409, "conflict");
    await assertUnchanged(dir2, before);
    assert.equal(await fs.readFile(file, "utf8"), "data");
  });

  test("relative directories resolve against the daemon's working directory, ~ against HOME", async () => {
    await sdk.setMcpConfig({ directory: "rel/dir", mcpName: "r" }, { type: "local", command: "r" });
    assert.deepEqual(Object.keys(JSON.parse(await fs.readFile(mcpFile(path.join(d.cwd, "rel/dir")), "utf8"))), ["r"]);
    await sdk.setSkillsConfig({ directory: "~/proj", skillName: "s" }, { sources: [] });
    assert.deepEqual(JSON.parse(await fs.readFile(skillsFile(path.join(d.home, "proj")), "utf8")), { s: { sources: [] } });
    await sdk.setSkillsConfig({ directory: ".", skillName: "here" }, { sources: [] });
    assert.ok(await exists(skillsFile(d.cwd)));
    assert.deepEqual(await sdk.getSkillsConfig({ directory: `${d.cwd}/`, skillName: "here" }), { sources: [] });
  });

  test("the config routes require the token", async () => {
    const res = await api(d, "GET", `/v1/config/mcp?${mcpQuery("/tmp", "a")}`, { headers: { Authorization: "Bearer wrong" } });
    assertProblem(res, 401, "token_invalid");
  });
});
