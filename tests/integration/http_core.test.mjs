// Routing, authentication, CORS, HEAD and request limits.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { api, assertJson, assertProblem, assertUnchanged, postJson, q, rawExchange, request, snapshot, startDaemon } from "./harness.mjs";

const VARY = "origin, access-control-request-method, access-control-request-headers";
const TOKEN = "s3cret-T";

function allowList(res) {
  return String(res.headers.allow || "")
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean)
    .sort();
}

describe("no token", () => {
  let d;
  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    await d.stop();
  });

  test("GET / describes the server", async () => {
    const body = assertJson(await request(d, { path: "/" }));
    assert.equal(body.name, "Sandbox Agent");
    assert.equal(typeof body.docs, "string");
  });

  test("GET /v1/health", async () => {
    const res = await request(d, { path: "/v1/health" });
    assert.deepEqual(assertJson(res), { status: "ok" });
    assert.equal(res.headers.vary, VARY);
    assert.ok(res.headers.date, "date header");
  });

  test("unknown routes are 404 invalid_request problems", async () => {
    for (const p of ["/v1/nope", "/v1/health/", "/v2/health", "/nope", "/v1/fs", "/v1/fs/entries/extra"]) {
      const res = await request(d, { path: p });
      assertProblem(res, 404, "invalid_request", p);
      assert.equal(res.headers.vary, VARY, p);
    }
    assertProblem(await request(d, { method: "POST", path: "/v1/nope", body: "{}" }), 404, "invalid_request");
  });

  test("wrong method on a known path is a 405 problem with an allow header", async () => {
    const cases = [
      ["POST", "/v1/health", ["GET", "HEAD"]],
      ["DELETE", "/v1/health", ["GET", "HEAD"]],
      ["PUT", "/v1/fs/stat?path=x", ["GET", "HEAD"]],
      ["POST", "/v1/fs/entries", ["GET", "HEAD"]],
      ["GET", "/v1/fs/move", ["POST"]],
      ["GET", "/v1/fs/mkdir?path=x", ["POST"]],
      ["PATCH", "/v1/fs/file?path=x", ["GET", "HEAD", "PUT"]],
      ["GET", "/v1/fs/entry?path=x", ["DELETE"]],
    ];
    for (const [method, p, allow] of cases) {
      const res = await request(d, { method, path: p });
      assertProblem(res, 405, "invalid_request", `${method} ${p}`);
      assert.deepEqual(allowList(res), [...allow].sort(), `${method} ${p} allow: ${res.headers.allow}`);
      assert.equal(res.headers.vary, VARY);
    }
    // the 405 must not have run the handler
    assert.equal(await fsp.readdir(d.home).then((l) => l.length), 0, "nothing created in HOME");
  });

  test("HEAD is accepted wherever GET is and carries no body", async () => {
    const get = await request(d, { path: "/v1/health" });
    const head = await request(d, { method: "HEAD", path: "/v1/health" });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers["content-length"], get.headers["content-length"]);
    assert.match(String(head.headers["content-type"]), /^application\/json/);

    await fsp.writeFile(path.join(d.home, "h.txt"), "0123456789");
    const hf = await request(d, { method: "HEAD", path: "/v1/fs/file?path=h.txt" });
    assert.equal(hf.status, 200);
    assert.equal(hf.headers["content-length"], "10");
    assert.equal(hf.body.length, 0);
    const hs = await request(d, { method: "HEAD", path: "/v1/fs/stat?path=h.txt" });
    assert.equal(hs.status, 200);
    assert.equal(hs.body.length, 0);
    assert.ok(Number(hs.headers["content-length"]) > 0);
    // errors on HEAD: status and headers, still no body
    const hm = await request(d, { method: "HEAD", path: "/v1/fs/file?path=missing" });
    assert.equal(hm.status, 404);
    assert.equal(hm.body.length, 0);
    assert.match(String(hm.headers["content-type"]), /^application\/problem\+json/);
  });

  test("OPTIONS preflight: 200, wildcard methods/headers, no allow-origin without -O", async () => {
    for (const p of ["/v1/health", "/v1/fs/file", "/v1/fs/entries?path=x", "/v1/nope"]) {
      const res = await request(d, {
        method: "OPTIONS",
        path: p,
        headers: { Origin: "http://a.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-custom" },
      });
      assert.equal(res.status, 200, `${p}: ${res.text}`);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers["access-control-allow-methods"], "*");
      assert.equal(res.headers["access-control-allow-headers"], "*");
      assert.equal(res.headers["access-control-allow-origin"], undefined);
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
      assert.equal(res.headers.vary, VARY);
    }
    const res = await request(d, { method: "OPTIONS", path: "/v1/fs/file" });
    assert.equal(res.status, 200);
    assert.deepEqual(allowList(res), ["GET", "HEAD", "PUT"]);
  });

  test("request body limit: JSON over 2 MiB is 413, exactly 2 MiB is parsed", async () => {
    const LIMIT = 2 * 1024 * 1024;
    const before = await snapshot(d.home);
    const prefix = '{"from":"a","to":"b","pad":"';
    const exact = prefix + "x".repeat(LIMIT - prefix.length - 2) + '"}';
    assert.equal(exact.length, LIMIT);
    // exactly at the limit: parsed; `a` does not exist → 404, not 413
    assertProblem(await postJson(d, "/v1/fs/move", exact), 404, "not_found");
    const over = prefix + "x".repeat(LIMIT - prefix.length - 1) + '"}';
    assertProblem(await postJson(d, "/v1/fs/move", over), 413, "invalid_request");
    await assertUnchanged(d.home, before);
  });

  test("a huge declared Content-Length on a JSON route is refused up front (413)", async () => {
    const r = await rawExchange(
      d,
      "POST /v1/fs/move HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{",
      { timeout: 5000, oneResponse: true },
    );
    assert.match(r.text, /^HTTP\/1\.[01] 413 /, r.text);
    assert.match(r.text, /application\/problem\+json/i);
    assert.match(r.text, /urn:sandbox-agent:error:invalid_request/);
  });

  test("chunked request bodies are decoded: a streamed PUT and a JSON route", async () => {
    const target = path.join(d.home, "chunked.txt");
    const put = await request(d, { method: "PUT", path: `/v1/fs/file?path=${encodeURIComponent(target)}`, chunked: true, body: "abc" });
    assert.equal(put.status, 200, put.text);
    assert.equal(fs.readFileSync(target, "utf8"), "abc");
    await fsp.mkdir(path.join(d.home, "mv"), { recursive: true });
    const mv = await request(d, {
      method: "POST",
      path: "/v1/fs/move",
      chunked: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from: target, to: path.join(d.home, "mv", "moved.txt") }),
    });
    assert.equal(mv.status, 200, mv.text);
    assert.equal(fs.readFileSync(path.join(d.home, "mv", "moved.txt"), "utf8"), "abc");
  });

  test("the connection survives an error response (keep-alive)", async () => {
    const r = await rawExchange(
      d,
      "GET /v1/nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [404, 200], r.text);
  });
});

describe("with --token", () => {
  let d;
  before(async () => {
    d = await startDaemon({ token: TOKEN });
  });
  after(async () => {
    await d.stop();
  });

  test("the right bearer token is accepted", async () => {
    assert.deepEqual(assertJson(await request(d, { path: "/v1/health", headers: { Authorization: `Bearer ${TOKEN}` } })), {
      status: "ok",
    });
  });

  test("every other Authorization form is 401 token_invalid", async () => {
    const variants = [
      undefined,
      `bearer ${TOKEN}`,
      `BEARER ${TOKEN}`,
      `Bearer  ${TOKEN}`,
      `Token ${TOKEN}`,
      `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
      TOKEN,
      "Bearer wrong",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      "Bearer ",
      "Bearer",
      "",
    ];
    for (const auth of variants) {
      const headers = auth === undefined ? {} : { Authorization: auth };
      const res = await request(d, { path: "/v1/health", headers });
      const p = assertProblem(res, 401, "token_invalid", `Authorization: ${JSON.stringify(auth)}`);
      assert.equal(p.title, "Token Invalid");
      assert.equal(res.headers["www-authenticate"], undefined);
      assert.equal(res.headers.vary, VARY);
    }
  });

  test("fs routes need the token and nothing is touched without it", async () => {
    const before = await snapshot(d.home);
    assertProblem(await request(d, { method: "PUT", path: "/v1/fs/file?path=x.txt", body: "x" }), 401, "token_invalid");
    assertProblem(await request(d, { method: "POST", path: "/v1/fs/mkdir?path=newdir" }), 401, "token_invalid");
    assertProblem(await request(d, { method: "DELETE", path: `/v1/fs/entry?path=${q(d.home)}&recursive=true` }), 401, "token_invalid");
    // auth before body validation: no content type → still 401, not 415
    assertProblem(await request(d, { method: "POST", path: "/v1/fs/move", body: "not json" }), 401, "token_invalid");
    // auth before query validation
    assertProblem(await request(d, { path: "/v1/fs/stat" }), 401, "token_invalid");
    await assertUnchanged(d.home, before);
  });

  test("access_token query parameter is not accepted on HTTP routes", async () => {
    assertProblem(await request(d, { path: `/v1/health?access_token=${TOKEN}` }), 401, "token_invalid");
    assertProblem(await request(d, { path: `/v1/fs/entries?path=.&access_token=${TOKEN}` }), 401, "token_invalid");
  });

  test("GET / is public", async () => {
    const res = await request(d, { path: "/" });
    assert.equal(res.status, 200);
  });

  test("unknown routes are 404 even without a token", async () => {
    assertProblem(await request(d, { path: "/v1/nope" }), 404, "invalid_request");
  });

  test("auth is checked before 405; the 401 still carries allow", async () => {
    const res = await request(d, { method: "POST", path: "/v1/health" });
    assertProblem(res, 401, "token_invalid");
    assert.deepEqual(allowList(res), ["GET", "HEAD"]);
    const ok = await api(d, "POST", "/v1/health");
    assertProblem(ok, 405, "invalid_request");
    assert.deepEqual(allowList(ok), ["GET", "HEAD"]);
  });

  test("OPTIONS is answered without auth", async () => {
    for (const p of ["/v1/health", "/v1/fs/file?path=x", "/v1/nope"]) {
      const res = await request(d, { method: "OPTIONS", path: p, headers: { "Access-Control-Request-Method": "GET" } });
      assert.equal(res.status, 200, `${p}: ${res.text}`);
      assert.equal(res.body.length, 0);
    }
  });
});

describe("CORS with -O", () => {
  let d;
  let dc;
  let dm;
  before(async () => {
    d = await startDaemon({ token: TOKEN, origins: ["http://a.example"] });
    dc = await startDaemon({ origins: ["http://a.example", "http://b.example"], credentials: true });
    dm = await startDaemon({ origins: ["http://a.example"], methods: ["GET", "POST"], headers: ["x-one", "x-two"] });
  });
  after(async () => {
    await d.stop();
    await dc.stop();
    await dm.stop();
  });

  test("matching Origin is echoed; others are served without allow-origin", async () => {
    const ok = await api(d, "GET", "/v1/health", { headers: { Origin: "http://a.example" } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers["access-control-allow-origin"], "http://a.example");
    assert.equal(ok.headers["access-control-allow-credentials"], undefined);
    assert.equal(ok.headers.vary, VARY);

    for (const origin of ["http://b.example", "http://a.example.evil", "https://a.example", "null"]) {
      const other = await api(d, "GET", "/v1/health", { headers: { Origin: origin } });
      assert.equal(other.status, 200, "request still served");
      assert.equal(other.headers["access-control-allow-origin"], undefined, origin);
    }
    const none = await api(d, "GET", "/v1/health");
    assert.equal(none.headers["access-control-allow-origin"], undefined);
  });

  test("errors (401, 404, 405) carry the CORS headers too", async () => {
    const h = { Origin: "http://a.example" };
    const r401 = await request(d, { path: "/v1/health", headers: h });
    assertProblem(r401, 401, "token_invalid");
    assert.equal(r401.headers["access-control-allow-origin"], "http://a.example");
    const r404 = await request(d, { path: "/v1/nope", headers: h });
    assertProblem(r404, 404, "invalid_request");
    assert.equal(r404.headers["access-control-allow-origin"], "http://a.example");
    const r405 = await api(d, "DELETE", "/v1/health", { headers: h });
    assertProblem(r405, 405, "invalid_request");
    assert.equal(r405.headers["access-control-allow-origin"], "http://a.example");
  });

  test("preflight for the allowed origin", async () => {
    const res = await request(d, {
      method: "OPTIONS",
      path: "/v1/fs/file?path=x",
      headers: { Origin: "http://a.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], "http://a.example");
    assert.equal(res.headers["access-control-allow-methods"], "*");
    assert.equal(res.headers["access-control-allow-headers"], "*");
    assert.equal(res.headers.vary, VARY);
    const other = await request(d, {
      method: "OPTIONS",
      path: "/v1/fs/file?path=x",
      headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "PUT" },
    });
    assert.equal(other.status, 200);
    assert.equal(other.headers["access-control-allow-origin"], undefined);
  });

  test("-C adds allow-credentials to responses for an allowed origin, several -O origins", async () => {
    for (const origin of ["http://a.example", "http://b.example"]) {
      const res = await request(dc, { path: "/v1/health", headers: { Origin: origin } });
      assert.equal(res.headers["access-control-allow-origin"], origin);
      assert.equal(res.headers["access-control-allow-credentials"], "true");
    }
    // Credentials go only with an allowed origin (issue 17: never to a page that is not).
    const other = await request(dc, { path: "/v1/health", headers: { Origin: "http://c.example" } });
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    assert.equal(other.headers["access-control-allow-credentials"], undefined);
    const none = await request(dc, { path: "/v1/health" });
    assert.equal(none.headers["access-control-allow-credentials"], undefined);
    const pre = await request(dc, {
      method: "OPTIONS",
      path: "/v1/health",
      headers: { Origin: "http://b.example", "Access-Control-Request-Method": "GET" },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers["access-control-allow-origin"], "http://b.example");
    assert.equal(pre.headers["access-control-allow-credentials"], "true");
  });

  test("-M and -A replace the wildcard preflight lists", async () => {
    const res = await request(dm, {
      method: "OPTIONS",
      path: "/v1/health",
      headers: { Origin: "http://a.example", "Access-Control-Request-Method": "POST" },
    });
    assert.equal(res.status, 200);
    const split = (v) =>
      String(v || "")
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
    assert.deepEqual(split(res.headers["access-control-allow-methods"]), ["get", "post"]);
    assert.deepEqual(split(res.headers["access-control-allow-headers"]), ["x-one", "x-two"]);
  });
});
