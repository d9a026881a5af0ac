// A web page the user visits must not be able to drive a --no-token agentd: not by DNS
// rebinding (a Host that is not this server is 403), and not by cross-site requests that need
// no preflight (a state-changing request or WebSocket from another Origin is 403). Nothing
// changes on disk or in the process table for a refused request.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  startDaemon,
  request,
  rawExchange,
  parseResponses,
  assertProblem,
  snapshot,
  assertUnchanged,
  realTempDir,
  procCreate,
  procKillQuietly,
  q,
} from "./harness.mjs";

const EVIL = "http://evil.example";

/** The process ids the daemon lists. */
const procIds = async (d) =>
  (await request(d, { path: "/v1/processes", headers: d.token ? { authorization: `Bearer ${d.token}` } : {} }))
    .json()
    .processes.map((p) => p.id)
    .sort();

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
    for (const h of ["[::1", "a:b:c", "localhost:"]) assertProblem(await host(h), 400, "invalid_request", h);
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
});

describe("cross-site requests", () => {
  let d;
  let dir;
  let victim;
  before(async () => {
    d = await startDaemon({ origins: ["http://ui.example"] });
    dir = await realTempDir("agentd-xsite-");
    victim = await procCreate(d, { command: "cat" });
    fs.writeFileSync(path.join(dir, "keep.txt"), "keep");
  });
  after(async () => {
    if (victim) await procKillQuietly(d, victim.id);
    if (d) await d.stop();
  });

  // Every state-changing route, as a page could send it without a preflight (no body, or a
  // form-encoded one) and with the JSON a preflight would otherwise have guarded.
  const routes = () => [
    ["POST", `/v1/fs/mkdir?path=${q(path.join(dir, "made"))}`],
    ["PUT", `/v1/fs/file?path=${q(path.join(dir, "put.txt"))}`],
    ["DELETE", `/v1/fs/entry?path=${q(path.join(dir, "keep.txt"))}`],
    ["POST", "/v1/fs/move"],
    ["POST", `/v1/fs/upload-batch?path=${q(path.join(dir, "batch"))}`],
    ["POST", "/v1/processes"],
    ["POST", "/v1/processes/run"],
    ["POST", "/v1/processes/config"],
    ["POST", `/v1/processes/${victim.id}/input`],
    ["POST", `/v1/processes/${victim.id}/stop`],
    ["POST", `/v1/processes/${victim.id}/kill`],
    ["DELETE", `/v1/processes/${victim.id}`],
    ["POST", `/v1/processes/${victim.id}/terminal/resize`],
    ["POST", "/v1/acp/evil?agent=mock"],
    ["DELETE", "/v1/acp/evil"],
    ["POST", "/v1/agents/mock/install"],
    ["PUT", `/v1/config/mcp?directory=${q(dir)}&mcpName=x`],
    ["DELETE", `/v1/config/mcp?directory=${q(dir)}&mcpName=x`],
    ["PUT", `/v1/config/skills?directory=${q(dir)}&skillName=x`],
    ["POST", "/v1/desktop/start"],
    ["POST", "/v1/desktop/stop"],
    ["POST", "/v1/desktop/launch"],
    ["POST", "/v1/desktop/keyboard/type"],
    ["POST", "/v1/desktop/mouse/click"],
    ["POST", "/v1/desktop/clipboard"],
    ["POST", "/v1/desktop/recording/start"],
    ["POST", "/v1/desktop/stream/start"],
  ];
  const bodies = [
    ["bodiless", undefined, undefined],
    ["form-encoded", "application/x-www-form-urlencoded", "command=sh&args=-c&args=touch+pwned"],
    ["text/plain JSON", "text/plain", JSON.stringify({ command: "touch", args: ["pwned"], from: "a", to: "b" })],
    ["JSON", "application/json", JSON.stringify({ command: "touch", args: ["pwned"], from: "a", to: "b", text: "x" })],
  ];

  for (const [kind, ctype, body] of bodies) {
    test(`a page on another origin changes nothing (${kind}, Origin and Sec-Fetch-Site)`, async () => {
      const before = await snapshot(dir);
      const procs = await procIds(d);
      for (const [method, p] of routes()) {
        for (const headers of [{ origin: EVIL }, { origin: "null" }, { "sec-fetch-site": "cross-site" }]) {
          const res = await request(d, { method, path: p, body, headers: { ...headers, ...(ctype ? { "content-type": ctype } : {}) } });
          const prob = assertProblem(res, 403, "permission_denied", `${method} ${p} ${JSON.stringify(headers)}`);
          if (headers.origin) assert.match(prob.detail, new RegExp(`-O ${headers.origin.replace(/\./g, "\\.")}`));
        }
      }
      await assertUnchanged(dir, before);
      assert.deepEqual(await procIds(d), procs, "the process table did not change");
      assert.equal((await request(d, { path: `/v1/processes/${victim.id}` })).json().status, "running");
    });
  }

  test("cross-site WebSocket upgrades are refused on both WebSocket routes", async () => {
    const p = await procCreate(d, { command: "cat", tty: true });
    try {
      for (const route of [`/v1/processes/${p.id}/terminal/ws`, "/v1/desktop/stream/signaling"]) {
        const r = await rawExchange(
          d,
          `GET ${route} HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\nOrigin: ${EVIL}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from("cross-site-key!!").toString("base64")}\r\n\r\n`,
        );
        const rs = parseResponses(r.text);
        assert.equal(rs[0].status, 403, `${route}: ${r.text.slice(0, 300)}`);
        assert.match(rs[0].body, /permission_denied/);
      }
    } finally {
      await procKillQuietly(d, p.id);
    }
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
