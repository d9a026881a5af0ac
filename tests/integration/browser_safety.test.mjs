// A web page the user visits must not be able to drive a --no-token agentd: not by DNS
// rebinding (a Host that is not this server is 403), and not by cross-site requests that need
// no preflight (a state-changing request or WebSocket from another Origin is 403). Nothing
// changes on disk, in the process table or in the ACP servers for a refused request.
//
// The state-changing routes are read from the C route tables, so a route added later is
// covered without editing this file.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AGENTD_BIN,
  startDaemon,
  request,
  rawExchange,
  parseResponses,
  assertProblem,
  assertJson,
  postJson,
  snapshot,
  assertUnchanged,
  realTempDir,
  procCreate,
  procKillQuietly,
  spawnCollect,
  q,
} from "./harness.mjs";

const EVIL = "http://evil.example";
const REPO = new URL("../..", import.meta.url).pathname;

/** The process ids the daemon lists. */
const procIds = async (d) =>
  (await request(d, { path: "/v1/processes", headers: d.token ? { authorization: `Bearer ${d.token}` } : {} }))
    .json()
    .processes.map((p) => p.id)
    .sort();

// ---------------------------------------------------------------------------------------------
// the route tables

// The modules whose .c files hold route tables (any file: tables may move between files).
const ROUTE_DIRS = ["fs", "process", "adapters", "desktop", "agentd"];
const READ_ONLY = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Every entry of the C route tables, `{HTTP_POST, "/v1/...", handler, FLAGS...}`, as
 * { methods: ["POST"], path, flags: ["ROUTE_JSON_BODY"], file }. Fails when something that starts
 * like an entry (`{HTTP_X, "`) does not parse, so a new spelling cannot hide a route.
 */
function cRouteEntries() {
  const entries = [];
  const entry = /\{\s*(HTTP_[A-Z]+(?:\s*\|\s*HTTP_[A-Z]+)*)\s*,\s*"(\/[^"]*)"\s*,\s*\w+\s*,\s*([^,}]*)/g;
  for (const dir of ROUTE_DIRS) {
    for (const rel of fs.readdirSync(path.join(REPO, dir), { recursive: true })) {
      if (!rel.endsWith(".c")) continue;
      const file = path.join(dir, rel);
      const text = fs.readFileSync(path.join(REPO, file), "utf8");
      const found = [...text.matchAll(entry)];
      const starts = (text.match(/\{\s*HTTP_[A-Z]+(?:\s*\|\s*HTTP_[A-Z]+)*\s*,\s*"/g) || []).length;
      assert.equal(found.length, starts, `${file}: ${starts} route entries start with {HTTP_, ${found.length} parse`);
      for (const m of found)
        entries.push({
          methods: m[1].split("|").map((x) => x.trim().slice("HTTP_".length)),
          path: m[2],
          flags: m[3].split("|").map((x) => x.trim()),
          file,
        });
    }
  }
  return entries;
}

/**
 * The routes a page must not reach cross-site: every method but GET, HEAD and OPTIONS, and
 * every ROUTE_WEBSOCKET route (as an upgrade): [{ method, path, ws, key }].
 */
function stateChangingRoutes() {
  const out = [];
  for (const e of cRouteEntries()) {
    for (const method of e.methods)
      if (!READ_ONLY.has(method)) out.push({ method, path: e.path, ws: false, key: `${method} ${e.path}` });
    if (e.flags.includes("ROUTE_WEBSOCKET")) out.push({ method: "GET", path: e.path, ws: true, key: `WS ${e.path}` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// WebSocket upgrades on a raw connection

const WS_KEY = Buffer.from("browser-safety!!").toString("base64");

/** Sends a WebSocket upgrade of route with the given header lines; resolves the first response. */
async function upgrade(d, route, lines) {
  const r = await rawExchange(
    d,
    `GET ${route} HTTP/1.1\r\n${lines.map((l) => `${l}\r\n`).join("")}Connection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n\r\n`,
    { until: (t) => parseResponses(t).length > 0 },
  );
  const rs = parseResponses(r.text);
  assert.ok(rs.length > 0, `${route} ${JSON.stringify(lines)}: no response: ${r.text.slice(0, 300)}`);
  return rs[0];
}

/** Assert an upgrade was accepted: 101 with the Sec-WebSocket-Accept for WS_KEY. */
function assertSwitched(res, what) {
  assert.equal(res.status, 101, `${what}: ${res.head}\n${res.body}`);
  assert.match(res.head, /\r\nsec-websocket-accept: \S+/i, what);
}

/** Assert a raw response is a problem+json of status and kind; returns the problem. */
function assertRawProblem(res, status, kind, what) {
  assert.equal(res.status, status, `${what}: ${res.head}\n${res.body}`);
  assert.match(res.head, /\r\ncontent-type: application\/problem\+json/i, what);
  const p = JSON.parse(res.body);
  assert.equal(p.type, `urn:sandbox-agent:error:${kind}`, what);
  return p;
}

/** This machine's first non-loopback IPv4 address, or undefined. */
function externalIPv4() {
  for (const addrs of Object.values(os.networkInterfaces()))
    for (const a of addrs || []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

describe("Host check (DNS rebinding)", () => {
  let d;
  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    if (d) await d.stop();
  });

  const host = (h) => request(d, { path: "/v1/health", headers: { host: h } });

  test("loopback names and addresses, with or without a port, are this server", async () => {
    for (const h of [`127.0.0.1:${d.port}`, "127.0.0.1", `localhost:${d.port}`, "LocalHost", "localhost.", `[::1]:${d.port}`, "127.1.2.3", "app.localhost"])
      assert.equal((await host(h)).status, 200, h);
  });

  test("a rebinding name is 403 and names the flag that allows it", async () => {
    for (const h of [`evil.example:${d.port}`, "evil.example", "192.0.2.200", `[fe80::1]:${d.port}`, "localhost.evil.example", "127.0.0.1.evil.example"]) {
      const res = await host(h);
      const p = assertProblem(res, 403, "permission_denied", h);
      assert.match(p.detail, /--allow-host/, h);
      assert.match(p.detail, /DNS rebinding/);
    }
  });

  test("a malformed Host is 400", async () => {
    for (const h of ["[::1", "a:b:c", "localhost:", "localhost:http", "[::1]:x", "127.0.0.1:80a"]) assertProblem(await host(h), 400, "invalid_request", h);
  });

  test("no Host: allowed on HTTP/1.0, 400 on HTTP/1.1", async () => {
    const r10 = await rawExchange(d, "GET /v1/health HTTP/1.0\r\n\r\n");
    assert.deepEqual(parseResponses(r10.text).map((x) => x.status), [200]);
    const r11 = await rawExchange(d, "GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n");
    const rs = parseResponses(r11.text);
    assert.deepEqual(rs.map((x) => x.status), [400]);
    assert.match(rs[0].body, /needs a Host header/);
  });

  test("a rebinding page cannot write: PUT and mkdir through a foreign Host change nothing", async () => {
    const dir = await realTempDir("agentd-rebind-");
    const before = await snapshot(dir);
    const procs = await procIds(d);
    for (const [method, p, body] of [
      ["PUT", `/v1/fs/file?path=${q(path.join(dir, "f"))}`, "x"],
      ["POST", `/v1/fs/mkdir?path=${q(path.join(dir, "m"))}`, undefined],
      ["POST", "/v1/processes", JSON.stringify({ command: "sleep", args: ["30"] })],
    ]) {
      const res = await request(d, { method, path: p, body, headers: { host: "evil.example", "content-type": "application/json" } });
      assertProblem(res, 403, "permission_denied", `${method} ${p}`);
    }
    await assertUnchanged(dir, before);
    assert.deepEqual(await procIds(d), procs);
  });

  test("--allow-host and AGENTD_ALLOW_HOSTS add names; others stay refused", async () => {
    const a = await startDaemon({ args: ["--allow-host", "sandbox.internal", "--allow-host", "Box.Example"], env: { AGENTD_ALLOW_HOSTS: "one.example, two.example" } });
    try {
      for (const h of ["sandbox.internal", "box.example:8080", "one.example", "two.example", "localhost"])
        assert.equal((await request(a, { path: "/v1/health", headers: { host: h } })).status, 200, h);
      assertProblem(await request(a, { path: "/v1/health", headers: { host: "three.example" } }), 403, "permission_denied");
    } finally {
      await a.stop();
    }
  });

  test("--host 0.0.0.0 (containers, proxies): any Host, unless --allow-host is given", async () => {
    const open = await startDaemon({ host: "0.0.0.0" });
    const strict = await startDaemon({ host: "0.0.0.0", args: ["--allow-host", "sandbox.example"] });
    try {
      assert.equal((await request(open, { path: "/v1/health", headers: { host: "provider-proxy.example" } })).status, 200);
      assert.equal((await request(strict, { path: "/v1/health", headers: { host: "sandbox.example" } })).status, 200);
      assert.equal((await request(strict, { path: "/v1/health", headers: { host: "127.0.0.1" } })).status, 200);
      assertProblem(await request(strict, { path: "/v1/health", headers: { host: "provider-proxy.example" } }), 403, "permission_denied");
    } finally {
      await open.stop();
      await strict.stop();
    }
  });

  test("with a token the Host check applies as well", async () => {
    const t = await startDaemon({ token: "T" });
    try {
      const res = await request(t, { path: "/v1/health", headers: { host: "evil.example", authorization: "Bearer T" } });
      assertProblem(res, 403, "permission_denied");
    } finally {
      await t.stop();
    }
  });

  test("--allow-host and AGENTD_ALLOW_HOSTS values are normalised as the Host header is", async () => {
    // Written with a port, in brackets, with a trailing dot, in capitals, or as an unbracketed
    // IPv6 address: each still names the host it means.
    const a = await startDaemon({
      args: ["--allow-host", "box.example:8080", "--allow-host", "[fd00::1]", "--allow-host", "dot.example.", "--allow-host", "FD00:0:0::2"],
      env: { AGENTD_ALLOW_HOSTS: "Env.Example:443,[FD00::3]:80,envdot.example." },
    });
    try {
      for (const h of ["box.example", "box.example:8080", "BOX.example:9", "[fd00::1]", `[fd00::1]:${a.port}`, "dot.example", "dot.example.",
        "[fd00::2]", "env.example", `env.example:${a.port}`, "[fd00::3]:1", "envdot.example"])
        assert.equal((await request(a, { path: "/v1/health", headers: { host: h } })).status, 200, h);
      for (const h of ["box.example.evil", "example", "[fd00::4]", "fd00.example"])
        assertProblem(await request(a, { path: "/v1/health", headers: { host: h } }), 403, "permission_denied", h);
    } finally {
      await a.stop();
    }
  });

  test("an --allow-host or AGENTD_ALLOW_HOSTS value that cannot be a host exits 2 naming it", async () => {
    const run = async (args, env = {}) => {
      const c = spawnCollect(AGENTD_BIN, ["server", "--no-token", "--host", "127.0.0.1", "--port", "0", ...args], { env: { ...process.env, ...env } });
      let timer;
      const deadline = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), 10000);
      });
      const r = await Promise.race([c.done, deadline]);
      clearTimeout(timer);
      if (!r) {
        c.child.kill("SIGKILL");
        assert.fail(`agentd ${args.join(" ")} ${JSON.stringify(env)} started instead of refusing the value: ${c.err()}`);
      }
      return r;
    };
    for (const v of ["a:b:c", "[::1", "box.example:", "box.example:http", "http://box.example", "[box.example]", "a b", ".", "fd00::g"]) {
      const r = await run(["--allow-host", v]);
      assert.equal(r.code, 2, `--allow-host ${v}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`--allow-host expects a host name or address`) && r.stderr.includes(`'${v}'`), `--allow-host ${v}: ${r.stderr}`);
    }
    const r = await run([], { AGENTD_ALLOW_HOSTS: "ok.example,box.example:" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /AGENTD_ALLOW_HOSTS expects a host name or address .*'box\.example:'/);
  });

  test("a WebSocket upgrade through a rebinding Host is 403, even when its Origin matches that Host", async () => {
    const p = await procCreate(d, { command: "cat", tty: true });
    try {
      const route = `/v1/processes/${p.id}/terminal/ws`;
      // The rebound page is same-origin with the name it was loaded from: only Host tells.
      for (const lines of [[`Host: evil.example:${d.port}`, `Origin: http://evil.example:${d.port}`], [`Host: evil.example:${d.port}`]]) {
        const res = await upgrade(d, route, lines);
        const prob = assertRawProblem(res, 403, "permission_denied", JSON.stringify(lines));
        assert.match(prob.detail, /DNS rebinding/);
      }
      assertSwitched(await upgrade(d, route, [`Host: 127.0.0.1:${d.port}`]), "the same upgrade with this server's Host");
    } finally {
      await procKillQuietly(d, p.id);
    }
  });

  test("bound to a non-loopback address: that address is this server, a rebinding name is not", async (t) => {
    const ip = externalIPv4();
    if (!ip) {
      t.skip("this machine has no non-loopback IPv4 address to bind");
      return;
    }
    const n = await startDaemon({ host: ip });
    try {
      for (const h of [`${ip}:${n.port}`, ip])
        assert.equal((await request(n, { path: "/v1/health", headers: { host: h } })).status, 200, h);
      for (const h of [`evil.example:${n.port}`, "evil.example"]) {
        const prob = assertProblem(await request(n, { path: "/v1/health", headers: { host: h } }), 403, "permission_denied", h);
        assert.match(prob.detail, /--allow-host evil\.example/);
      }
      // A page served from http://ip:port is same-origin there, and may write.
      const made = path.join(await realTempDir("agentd-bound-"), "made");
      const own = await request(n, { method: "POST", path: `/v1/fs/mkdir?path=${q(made)}`, headers: { host: `${ip}:${n.port}`, origin: `http://${ip}:${n.port}` } });
      assert.equal(own.status, 200, own.text);
      assert.ok(fs.statSync(made).isDirectory());
    } finally {
      await n.stop();
    }
  });

  test("with a token, --host 0.0.0.0 and --allow-host, the Host and Origin checks apply", async () => {
    const t = await startDaemon({ token: "T", host: "0.0.0.0", args: ["--allow-host", "sandbox.example"] });
    try {
      const auth = { authorization: "Bearer T" };
      assert.equal((await request(t, { path: "/v1/health", headers: { ...auth, host: "sandbox.example" } })).status, 200);
      assertProblem(await request(t, { path: "/v1/health", headers: { host: "sandbox.example" } }), 401, "token_invalid");
      const p = assertProblem(await request(t, { path: "/v1/health", headers: { ...auth, host: "rebound.example" } }), 403, "permission_denied");
      assert.match(p.detail, /--allow-host rebound\.example/);
      const procs = await procIds(t);
      const x = await request(t, { method: "POST", path: "/v1/processes", body: JSON.stringify({ command: "sleep", args: ["30"] }), headers: { ...auth, host: "sandbox.example", origin: EVIL, "content-type": "application/json" } });
      assertProblem(x, 403, "permission_denied");
      assert.deepEqual(await procIds(t), procs);
    } finally {
      await t.stop();
    }
  });
});

describe("cross-site requests", () => {
  let d;
  let dir;
  let victim; // a pipe process the refused requests would stop, kill, delete or write to
  let ttyVictim; // a tty process, for the terminal WebSocket
  let ROUTES;

  before(async () => {
    ROUTES = stateChangingRoutes();
    d = await startDaemon({ origins: ["http://ui.example"] });
    dir = await realTempDir("agentd-xsite-");
    victim = await procCreate(d, { command: "cat" });
    ttyVictim = await procCreate(d, { command: "cat", tty: true });
    fs.writeFileSync(path.join(dir, "keep.txt"), "keep");
    // Something for the refused DELETEs to delete: an MCP entry, a skills entry, an ACP server.
    for (const [kind, name, value] of [["mcp", "mcpName", { type: "local", command: "x" }], ["skills", "skillName", { sources: [] }]]) {
      const res = await request(d, { method: "PUT", path: `/v1/config/${kind}?directory=${q(dir)}&${name}=keep`, body: JSON.stringify(value), headers: { "content-type": "application/json" } });
      assert.equal(res.status, 204, `${kind}: ${res.text}`);
    }
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: 1, clientInfo: { name: "browser-safety", version: "1" } } };
    assertJson(await postJson(d, "/v1/acp/keep?agent=mock", init), 200, "ACP initialize");
    assert.deepEqual(assertJson(await request(d, { path: "/v1/acp" })).servers.map((x) => x.serverId), ["keep"]);
  });
  after(async () => {
    if (victim) await procKillQuietly(d, victim.id);
    if (ttyVictim) await procKillQuietly(d, ttyVictim.id);
    if (d) await d.stop();
  });

  // A plausible value for each `{}` capture (named by the segment before it) and the query a
  // client would send, so that each request would change something if it were let through.
  const capture = (route, segment) =>
    ({ processes: route.ws ? ttyVictim.id : victim.id, acp: "keep", agents: "mock", windows: "0x400001", recordings: "rec_1" })[segment] ?? "x";
  const QUERY = {
    "POST /v1/fs/mkdir": () => `path=${q(path.join(dir, "made"))}`,
    "PUT /v1/fs/file": () => `path=${q(path.join(dir, "put.txt"))}`,
    "DELETE /v1/fs/entry": () => `path=${q(path.join(dir, "keep.txt"))}`,
    "POST /v1/fs/upload-batch": () => `path=${q(path.join(dir, "batch"))}`,
    "POST /v1/acp/{}": () => "agent=mock",
    "PUT /v1/config/mcp": () => `directory=${q(dir)}&mcpName=keep`,
    "DELETE /v1/config/mcp": () => `directory=${q(dir)}&mcpName=keep`,
    "PUT /v1/config/skills": () => `directory=${q(dir)}&skillName=keep`,
    "DELETE /v1/config/skills": () => `directory=${q(dir)}&skillName=keep`,
  };
  const target = (route) => {
    const segs = route.path.split("/");
    const p = segs.map((s, i) => (s === "{}" ? capture(route, segs[i - 1]) : s)).join("/");
    const query = QUERY[`${route.method} ${route.path}`];
    return query ? `${p}?${query()}` : p;
  };

  /** What a refused request must not have changed: files, the process table, the ACP servers. */
  const state = async () => ({
    dir: await snapshot(dir),
    cwd: await snapshot(d.cwd),
    home: await snapshot(d.home),
    processes: assertJson(await request(d, { path: "/v1/processes" })).processes,
    acp: assertJson(await request(d, { path: "/v1/acp" })),
  });

  test("the route tables give every state-changing route, WebSockets included", () => {
    const keys = ROUTES.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length, `a route appears twice: ${keys}`);
    // One from each module, and the ones an audit found untested, prove the tables were read.
    for (const k of ["POST /v1/fs/mkdir", "DELETE /v1/processes/{}", "WS /v1/processes/{}/terminal/ws", "DELETE /v1/acp/{}",
      "POST /v1/agents/{}/install", "DELETE /v1/config/skills", "POST /v1/desktop/mouse/scroll", "POST /v1/desktop/keyboard/up",
      "POST /v1/desktop/windows/{}/resize", "POST /v1/desktop/open", "DELETE /v1/desktop/recordings/{}", "POST /v1/desktop/stream/stop"])
      assert.ok(keys.includes(k), `${k} is not among the ${keys.length} routes read from the tables`);
    assert.ok(!keys.includes("GET /v1/fs/stat") && !keys.includes("GET /v1/processes"), "read-only routes are not state-changing");
    assert.ok(keys.length >= 43, `only ${keys.length} state-changing routes: ${keys.join(", ")}`);
    // Every query the test fills in belongs to a route that still exists.
    for (const k of Object.keys(QUERY)) assert.ok(keys.includes(k), `QUERY names ${k}, which no table has`);
  });

  const bodies = [
    ["bodiless", undefined, undefined],
    ["form-encoded", "application/x-www-form-urlencoded", "command=sh&args=-c&args=touch+pwned"],
    ["text/plain JSON", "text/plain", JSON.stringify({ command: "touch", args: ["pwned"], from: "a", to: "b" })],
    ["JSON", "application/json", JSON.stringify({ command: "touch", args: ["pwned"], from: "a", to: "b", text: "x" })],
  ];
  const pages = [{ origin: EVIL }, { origin: "null" }, { "sec-fetch-site": "cross-site" }];

  for (const [kind, ctype, body] of bodies) {
    test(`a page on another origin changes nothing on any state-changing route (${kind}, Origin and Sec-Fetch-Site)`, async () => {
      const before = await state();
      const done = new Set();
      for (const route of ROUTES.filter((r) => !r.ws)) {
        const p = target(route);
        for (const headers of pages) {
          const res = await request(d, { method: route.method, path: p, body, headers: { ...headers, ...(ctype ? { "content-type": ctype } : {}) } });
          const prob = assertProblem(res, 403, "permission_denied", `${route.method} ${p} ${JSON.stringify(headers)}`);
          if (headers.origin) assert.match(prob.detail, new RegExp(`-O ${headers.origin.replace(/\./g, "\\.")}`));
          else assert.match(prob.detail, /Sec-Fetch-Site: cross-site/);
        }
        done.add(route.key);
      }
      assert.equal(done.size, ROUTES.filter((r) => !r.ws).length);
      assert.deepEqual(await state(), before, "nothing changed: files, cwd, HOME, processes, ACP servers");
      assert.equal((await request(d, { path: `/v1/processes/${victim.id}` })).json().status, "running");
    });
  }

  test("cross-site WebSocket upgrades are refused on every WebSocket route", async () => {
    const before = await state();
    const wsRoutes = ROUTES.filter((r) => r.ws).map(target);
    assert.ok(wsRoutes.length > 0);
    // The desktop stream signaling route answers 501 for now; it is refused cross-site all the same.
    for (const route of [...wsRoutes, "/v1/desktop/stream/signaling"]) {
      for (const page of [`Origin: ${EVIL}`, "Origin: null", "Sec-Fetch-Site: cross-site"]) {
        const res = await upgrade(d, route, [`Host: 127.0.0.1:${d.port}`, page]);
        assertRawProblem(res, 403, "permission_denied", `${route} ${page}`);
      }
    }
    assert.deepEqual(await state(), before);
  });

  test("a WebSocket upgrade from this server's own origin, an -O origin, localhost, or no Origin is accepted", async () => {
    const route = `/v1/processes/${ttyVictim.id}/terminal/ws`;
    for (const lines of [
      [`Host: 127.0.0.1:${d.port}`, `Origin: http://127.0.0.1:${d.port}`, "Sec-Fetch-Site: same-origin"],
      [`Host: 127.0.0.1:${d.port}`, "Origin: http://ui.example", "Sec-Fetch-Site: cross-site"],
      [`Host: localhost:${d.port}`, `Origin: http://localhost:${d.port}`],
      [`Host: 127.0.0.1:${d.port}`],
    ])
      assertSwitched(await upgrade(d, route, lines), JSON.stringify(lines));
  });

  test("the server's own origin, an -O origin, and same-origin fetch metadata pass", async () => {
    const f = path.join(dir, "ok.txt");
    const own = await request(d, { method: "PUT", path: `/v1/fs/file?path=${q(f)}`, body: "own", headers: { origin: `http://127.0.0.1:${d.port}`, "sec-fetch-site": "same-origin" } });
    assert.equal(own.status, 200, own.text);
    const ui = await request(d, { method: "PUT", path: `/v1/fs/file?path=${q(f)}`, body: "ui", headers: { origin: "http://ui.example", "sec-fetch-site": "cross-site" } });
    assert.equal(ui.status, 200, ui.text);
    assert.equal(ui.headers["access-control-allow-origin"], "http://ui.example");
    assert.equal(fs.readFileSync(f, "utf8"), "ui");
    // A tool without Origin or fetch metadata (curl, the SDK in node) is not a web page.
    assert.equal((await request(d, { method: "PUT", path: `/v1/fs/file?path=${q(f)}`, body: "cli" })).status, 200);
  });

  test("a page served from localhost:PORT is same-origin there: a POST is accepted", async () => {
    const made = path.join(dir, "via-localhost");
    const res = await request(d, { method: "POST", path: `/v1/fs/mkdir?path=${q(made)}`, headers: { host: `localhost:${d.port}`, origin: `http://localhost:${d.port}`, "sec-fetch-site": "same-origin" } });
    assert.equal(res.status, 200, res.text);
    assert.ok(fs.statSync(made).isDirectory());
    // The same page's Origin sent to the 127.0.0.1 name is another origin.
    const other = await request(d, { method: "POST", path: `/v1/fs/mkdir?path=${q(`${made}2`)}`, headers: { host: `127.0.0.1:${d.port}`, origin: `http://localhost:${d.port}` } });
    assertProblem(other, 403, "permission_denied");
    assert.equal(fs.existsSync(`${made}2`), false);
  });

  test("read-only routes answer cross-site GETs as before (no allow-origin header)", async () => {
    const res = await request(d, { path: `/v1/fs/stat?path=${q(dir)}`, headers: { origin: EVIL, "sec-fetch-site": "cross-site" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], undefined);
  });

  test("the same with --token: a cross-site request is refused even with the right token", async () => {
    const t = await startDaemon({ token: "T", origins: ["http://ui.example"] });
    try {
      const f = path.join(dir, "tok.txt");
      const res = await request(t, { method: "PUT", path: `/v1/fs/file?path=${q(f)}`, body: "x", headers: { origin: EVIL, authorization: "Bearer T" } });
      assertProblem(res, 403, "permission_denied");
      assert.equal(fs.existsSync(f), false);
      const ok = await request(t, { method: "PUT", path: `/v1/fs/file?path=${q(f)}`, body: "x", headers: { origin: "http://ui.example", authorization: "Bearer T" } });
      assert.equal(ok.status, 200);
    } finally {
      await t.stop();
    }
  });
});
