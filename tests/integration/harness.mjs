// Shared helpers for the agentd black-box integration tests.
//
// Runs on node >= 18 (node:test, node:http, global fetch); no dependencies.
//
//   const d = await startDaemon({ token: "T", fsRoot: dir, origins: ["http://a.example"] });
//   const res = await request(d, { method: "GET", path: "/v1/fs/stat?path=x" });
//   assertProblem(res, 404, "not_found");
//   await d.stop();

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import { SandboxAgentError } from "sandbox-agent";

export const AGENTD_BIN = path.resolve(
  process.env.AGENTD_BIN || new URL("../../build/agentd", import.meta.url).pathname,
);

// ---------------------------------------------------------------------------------------------
// temp dirs

const tempDirs = [];

/** A fresh directory under the OS temp dir, removed when the process exits. */
export async function tempDir(prefix = "agentd-it-") {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Same as tempDir but resolved through symlinks (the daemon reports real paths). */
export async function realTempDir(prefix) {
  return fsp.realpath(await tempDir(prefix));
}

process.on("exit", () => {
  for (const p of liveDaemons) {
    try {
      p.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
  for (const d of tempDirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
});

// ---------------------------------------------------------------------------------------------
// child processes

/**
 * Spawns cmd with args and collects its output: { child, out(), err(), done } where out() and
 * err() are what it wrote so far (strings) and done resolves on its exit with
 * { code, signal, stdout (a Buffer), stderr (a string) }, or rejects when it cannot be
 * started.  stdin is `input` written then closed, a given fd or stream (`stdin`), or ignored.
 */
export function spawnCollect(cmd, args, { env = process.env, input, stdin } = {}) {
  const child = spawn(cmd, args, { env, stdio: [stdin ?? (input === undefined ? "ignore" : "pipe"), "pipe", "pipe"] });
  const out = [];
  const err = [];
  child.stdout.on("data", (c) => out.push(c));
  child.stderr.on("data", (c) => err.push(c));
  if (input !== undefined) child.stdin.end(input);
  const done = new Promise((resolve, reject) => {
    child.on("error", reject); // it could not be started
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }),
    );
  });
  return {
    child,
    done,
    out: () => Buffer.concat(out).toString(),
    err: () => Buffer.concat(err).toString(),
  };
}

// polling

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn() until it returns a truthy value (returned) or the deadline passes (throws). */
export async function waitFor(fn, { timeout = 10000, interval = 20, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await sleep(interval);
  }
}

// ---------------------------------------------------------------------------------------------
// daemon

const liveDaemons = new Set();

/**
 * Start build/agentd on a free loopback port.
 * opts: token, fsRoot, origins[], methods[], headers[], credentials, args[], env{}, home, cwd
 */
/**
 * Sends signal to a server process and waits up to timeout ms for `exited`; on timeout it
 * SIGKILLs the process and resolves null (the caller decides whether that is a failure).
 */
async function signalAndWait(proc, exited, signal, timeout) {
  try {
    proc.kill(signal);
  } catch {
    /* gone */
  }
  let t;
  const timer = new Promise((r) => {
    t = setTimeout(r, timeout, null);
  });
  const r = await Promise.race([exited, timer]);
  clearTimeout(t);
  if (!r) proc.kill("SIGKILL");
  return r;
}

export async function startDaemon(opts = {}) {
  const home = opts.home || (await realTempDir("agentd-home-"));
  const cwd = opts.cwd || (await realTempDir("agentd-cwd-"));
  const runDir = await tempDir("agentd-run-");
  const portFile = path.join(runDir, "port");
  // opts.host: the --host to give (default 127.0.0.1); opts.connect: the address the helpers
  // connect to (default: host when it is a literal address, else 127.0.0.1).
  const host = opts.host || "127.0.0.1";
  const connect = opts.connect || (net.isIP(host) && host !== "0.0.0.0" && host !== "::" ? host : "127.0.0.1");
  const args = ["server", "--host", host, "--port", "0", "--port-file", portFile];
  if (opts.token !== undefined && opts.token !== null) args.push("--token", opts.token);
  else if (!opts.envToken) args.push("--no-token");
  if (opts.fsRoot) args.push("--fs-root", opts.fsRoot);
  for (const o of opts.origins || []) args.push("-O", o);
  for (const m of opts.methods || []) args.push("-M", m);
  for (const h of opts.headers || []) args.push("-A", h);
  if (opts.credentials) args.push("-C");
  args.push(...(opts.args || []));

  const env = { ...process.env };
  delete env.AGENTD_TOKEN;
  // Variables of this machine's environment the daemon must not inherit.
  for (const k of opts.unsetEnv || []) delete env[k];
  Object.assign(env, { HOME: home }, opts.env || {});
  if (opts.envToken) env.AGENTD_TOKEN = opts.envToken;
  if (!env.AGENTD_LOG) env.AGENTD_LOG = "warn";

  const proc = spawn(AGENTD_BIN, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  liveDaemons.add(proc);
  let logs = "";
  const keep = (chunk) => {
    logs += chunk.toString();
    if (logs.length > 65536) logs = logs.slice(-65536);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((resolve) => {
    proc.on("exit", (code, signal) => {
      liveDaemons.delete(proc);
      resolve({ code, signal });
    });
  });
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });
  proc.on("error", (e) => keep(`spawn error: ${e.message}\n`));

  let port;
  try {
    port = await waitFor(
      async () => {
        if (exitInfo) throw new Error(`agentd exited early (${JSON.stringify(exitInfo)}): ${logs}`);
        let text;
        try {
          text = await fsp.readFile(portFile, "utf8");
        } catch {
          return null;
        }
        const n = Number.parseInt(text.trim(), 10);
        return n > 0 && /\n|^\d+$/.test(text) ? n : null;
      },
      { timeout: 10000, what: "agentd port file" },
    );
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${e.message}\nagentd logs:\n${logs}`);
  }

  const daemon = {
    proc,
    pid: proc.pid,
    port,
    home,
    cwd,
    host: connect,
    base: `http://${net.isIPv6(connect) ? `[${connect}]` : connect}:${port}`,
    token: opts.token,
    exited,
    logs: () => logs,
    /** SIGTERM (or the given signal), wait for exit (SIGKILL after the deadline). */
    async stop(signal = "SIGTERM", timeout = 10000) {
      if (exitInfo) return exitInfo;
      const r = await signalAndWait(proc, exited, signal, timeout);
      if (!r) {
        await exited;
        throw new Error(`agentd did not exit within ${timeout} ms of ${signal}\nagentd logs:\n${logs}`);
      }
      // A clean shutdown exits 0; under ASan/UBSan a leak or error makes it non-zero.
      if (signal === "SIGTERM" && (r.code !== 0 || /Sanitizer|runtime error/.test(logs)))
        throw new Error(`agentd exited uncleanly ${JSON.stringify(r)}\nagentd logs:\n${logs}`);
      return r;
    },
  };
  return daemon;
}

// ---------------------------------------------------------------------------------------------
// raw HTTP

/**
 * One request on its own connection, with exactly the headers given (plus Host and, when a
 * body is given, Content-Length unless `chunked` or a content-length header is passed).
 * headers: object; a value that is an array is sent as several header lines.
 * path: sent verbatim (percent-escapes are not touched).
 * Resolves { status, headers, rawHeaders, body: Buffer, text, json() }.
 */
export function request(d, { method = "GET", path: p = "/", headers = {}, body, chunked = false, timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: d.host || "127.0.0.1",
      port: d.port,
      method,
      path: p,
      agent: false,
      headers: {},
    });
    for (const [k, v] of Object.entries(headers)) req.setHeader(k, v);
    const hasLen = Object.keys(headers).some((k) => k.toLowerCase() === "content-length");
    let payload = body;
    if (typeof payload === "string") payload = Buffer.from(payload);
    if (payload !== undefined && !hasLen && !chunked) req.setHeader("Content-Length", payload.length);
    const timer = setTimeout(() => req.destroy(new Error(`request timed out after ${timeout} ms`)), timeout);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on("end", () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        resolve({
          status: res.statusCode,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: buf,
          text: buf.toString("utf8"),
          json: () => JSON.parse(buf.toString("utf8")),
        });
      });
    });
    if (chunked) {
      req.setHeader("Transfer-Encoding", "chunked");
      if (payload !== undefined && payload.length) req.write(payload);
      req.end();
    } else if (payload !== undefined) req.end(payload);
    else req.end();
  });
}

/** Shorthand: request with Authorization: Bearer <d.token> when the daemon has a token. */
export function api(d, method, p, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (d.token && !Object.keys(headers).some((k) => k.toLowerCase() === "authorization")) {
    headers.Authorization = `Bearer ${d.token}`;
  }
  return request(d, { ...opts, method, path: p, headers });
}

/** JSON POST helper. */
export function postJson(d, p, value, opts = {}) {
  const body = typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value);
  return api(d, "POST", p, { ...opts, body, headers: { "Content-Type": "application/json", ...(opts.headers || {}) } });
}

/** Query-string encoder for a single path parameter (encodeURIComponent). */
export const q = (p) => encodeURIComponent(p);

/**
 * Write bytes on a raw TCP connection and collect everything until the server closes (or the
 * timeout, then the socket is closed). Resolves { data: Buffer, text, closedByPeer, error }.
 */
export function rawExchange(d, bytes, { timeout = 5000, oneResponse = false, until = null } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(d.port, d.host || "127.0.0.1");
    const chunks = [];
    let done = false;
    const finish = (extra) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const data = Buffer.concat(chunks);
      resolve({ data, text: data.toString("latin1"), ...extra });
    };
    const timer = setTimeout(() => finish({ closedByPeer: false }), timeout);
    sock.on("connect", () => sock.write(bytes));
    sock.on("data", (c) => {
      chunks.push(c);
      if (until && until(Buffer.concat(chunks).toString("latin1"))) return finish({ closedByPeer: false });
      if (!oneResponse) return;
      // stop after the first complete response (headers + content-length bytes)
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(all.subarray(0, end).toString("latin1"));
      if (all.length >= end + 4 + (m ? Number(m[1]) : 0)) finish({ closedByPeer: false });
    });
    sock.on("end", () => finish({ closedByPeer: true }));
    sock.on("close", () => finish({ closedByPeer: true }));
    sock.on("error", (e) => finish({ closedByPeer: true, error: e }));
  });
}

/**
 * The HTTP/1.1 responses in a raw capture, in order: [{ status, head, body }] (Content-Length
 * framing; interim 1xx responses count; parsing stops at the first bytes that are not one).
 */
export function parseResponses(text) {
  const out = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (!rest.startsWith("HTTP/1.1 ") || end < 0) break;
    const head = rest.slice(0, end);
    const m = /\r\ncontent-length: (\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    if (rest.length < end + 4 + len) break;
    out.push({ status: Number(head.slice(9, 12)), head, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

/** GET /v1/health on a fresh connection must answer 200 within `ms` (the daemon is alive). */
export async function assertHealthWithin(d, ms = 0, what = "") {
  // 100 ms as the hostile-input suite asks; sanitizer builds run several times slower.
  if (!ms) ms = pidIsSanitized(d.pid) ? 400 : 100;
  const t0 = process.hrtime.bigint();
  let res;
  try {
    res = await request(d, { path: "/v1/health", timeout: ms, headers: d.token ? { authorization: `Bearer ${d.token}` } : {} });
  } catch (e) {
    assert.fail(`${what ? `${what}: ` : ""}/v1/health did not answer within ${ms} ms (${e.message})`);
  }
  assert.equal(res.status, 200, what);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// assertions

/** Assert an application/problem+json error; returns the parsed problem. */
export function assertProblem(res, status, kind, msg = "") {
  const ctx = `${msg ? `${msg}: ` : ""}status ${res.status} body ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers["content-type"] || ""), /^application\/problem\+json(;|$)/, ctx);
  let p;
  try {
    p = JSON.parse(res.text);
  } catch (e) {
    assert.fail(`${ctx}: body is not JSON (${e.message})`);
  }
  assert.equal(p.type, `urn:sandbox-agent:error:${kind}`, ctx);
  assert.equal(p.status, status, ctx);
  assert.equal(typeof p.title, "string", ctx);
  assert.ok(p.title.length > 0, ctx);
  assert.equal(typeof p.detail, "string", ctx);
  assert.ok(p.detail.trim().length > 0, `${ctx}: empty detail`);
  return p;
}

/**
 * Assert the answer agentd gives a POSTed JSON-RPC request it fails itself (docs/api/acp.md):
 * 200 with a JSON-RPC error response for `id`, code -33000, the problem's detail as the
 * message and the problem (status, kind) as `error.data`.  Returns the problem.
 */
export function assertRpcFailure(res, id, status, kind, msg = "") {
  const ctx = `${msg ? `${msg}: ` : ""}status ${res.status} body ${res.text.slice(0, 300)}`;
  assert.equal(res.status, 200, ctx);
  assert.match(String(res.headers["content-type"] || ""), /^application\/json(;|$)/, ctx);
  const env = JSON.parse(res.text);
  assert.equal(env.jsonrpc, "2.0", ctx);
  assert.deepEqual(env.id, id, ctx);
  assert.equal(env.result, undefined, ctx);
  assert.equal(env.error.code, -33000, ctx);
  const p = env.error.data;
  assert.equal(p.type, `urn:sandbox-agent:error:${kind}`, ctx);
  assert.equal(p.status, status, ctx);
  assert.equal(env.error.message, p.detail, ctx);
  assert.ok(p.detail.trim().length > 0, `${ctx}: empty detail`);
  return p;
}

/** Assert a 2xx JSON response; returns the parsed body. */
export function assertJson(res, status = 200, msg = "") {
  const ctx = `${msg ? `${msg}: ` : ""}status ${res.status} body ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers["content-type"] || ""), /^application\/json(;|$)/, ctx);
  return JSON.parse(res.text);
}

// ---------------------------------------------------------------------------------------------
// disk snapshots

/**
 * Describe a tree: sorted [relpath, kind, size, mode, sha256 | link target]. Symlinks are not
 * followed. A missing root gives null.
 */
export async function snapshot(root) {
  const out = [];
  let st;
  try {
    st = await fsp.lstat(root);
  } catch (e) {
    if (e.code === "ENOENT") return null;
    throw e;
  }
  async function visit(abs, rel, s) {
    const mode = s.mode & 0o7777;
    if (s.isSymbolicLink()) {
      out.push([rel, "symlink", 0, mode, await fsp.readlink(abs)]);
    } else if (s.isDirectory()) {
      out.push([rel, "dir", 0, mode, ""]);
      const names = (await fsp.readdir(abs)).sort();
      for (const n of names) {
        const a = path.join(abs, n);
        await visit(a, rel === "." ? n : `${rel}/${n}`, await fsp.lstat(a));
      }
    } else if (s.isFile()) {
      const h = createHash("sha256");
      await new Promise((resolve, reject) => {
        fs.createReadStream(abs).on("data", (c) => h.update(c)).on("end", resolve).on("error", reject);
      });
      out.push([rel, "file", s.size, mode, h.digest("hex")]);
    } else {
      out.push([rel, "other", s.size, mode, ""]);
    }
  }
  await visit(root, ".", st);
  return out;
}

/** Assert that `before` (a snapshot) still describes `root`. */
export async function assertUnchanged(root, before, msg = "tree changed on disk") {
  assert.deepStrictEqual(await snapshot(root), before, msg);
}

export function sha256(buf) {
  return createHash("sha256").update(buf).digest("hex");
}

export async function exists(p) {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// tar (ustar) writer

function octal(n, width) {
  // width includes the trailing NUL
  const s = n.toString(8);
  if (s.length > width - 1) throw new Error(`tar field overflow: ${n}`);
  return s.padStart(width - 1, "0") + "\0";
}

/**
 * One ustar header (+ data, padded) for entry { name, type: "file"|"dir"|"symlink"|"hardlink",
 * data, linkname, mode, mtime, size (override) }.
 */
export function tarEntry(e) {
  const type = e.type || "file";
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
  const h = Buffer.alloc(512);
  let name = e.name;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`name too long: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 100, "utf8");
  const mode = e.mode !== undefined ? e.mode : type === "dir" ? 0o755 : 0o644;
  h.write(octal(mode, 8), 100, 8, "latin1");
  h.write(octal(0, 8), 108, 8, "latin1");
  h.write(octal(0, 8), 116, 8, "latin1");
  const size = e.size !== undefined ? e.size : type === "file" ? data.length : 0;
  h.write(octal(size, 12), 124, 12, "latin1");
  h.write(octal(e.mtime !== undefined ? e.mtime : 1700000000, 12), 136, 12, "latin1");
  h.write("        ", 148, 8, "latin1");
  h.write({ file: "0", dir: "5", symlink: "2", hardlink: "1" }[type] || type, 156, 1, "latin1");
  h.write(e.linkname || "", 157, 100, "utf8");
  h.write("ustar\0", 257, 6, "latin1");
  h.write("00", 263, 2, "latin1");
  h.write("root", 265, 32, "latin1");
  h.write("root", 297, 32, "latin1");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148, 8, "latin1");
  const parts = [h];
  if (type === "file" && data.length) {
    parts.push(data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  return Buffer.concat(parts);
}

/** A whole archive: entries then (unless end === false) two zero blocks. */
export function makeTar(entries, { end = true } = {}) {
  const parts = entries.map((e) => (Buffer.isBuffer(e) ? e : tarEntry(e)));
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events client

/**
 * GET an SSE stream. Resolves once the response headers arrived:
 * { status, headers, events: [{event, data, id}], next(pred, timeout), close() }.
 * If the status is not 200 the body is collected and returned as `text` instead.
 */
export function openSse(d, p, { headers = {}, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const hdrs = { Accept: "text/event-stream", ...headers };
    if (d.token && !hdrs.Authorization) hdrs.Authorization = `Bearer ${d.token}`;
    const req = http.request({ host: "127.0.0.1", port: d.port, method: "GET", path: p, agent: false, headers: hdrs });
    const timer = setTimeout(() => req.destroy(new Error("SSE connect timed out")), timeout);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on("response", (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode, headers: res.headers, text, events: [], close() {} });
        });
        return;
      }
      const events = [];
      const waiters = new Set();
      let buf = "";
      let ended = false;
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        buf += chunk.replace(/\r\n?/g, "\n");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { event: "message", data: "", id: undefined };
          const data = [];
          let any = false;
          for (const line of block.split("\n")) {
            if (line === "" || line.startsWith(":")) continue;
            const c = line.indexOf(":");
            const field = c < 0 ? line : line.slice(0, c);
            let value = c < 0 ? "" : line.slice(c + 1);
            if (value.startsWith(" ")) value = value.slice(1);
            if (field === "event") ev.event = value;
            else if (field === "data") data.push(value);
            else if (field === "id") ev.id = value;
            any = true;
          }
          if (!any) continue;
          ev.data = data.join("\n");
          events.push(ev);
        }
        for (const w of waiters) w();
      });
      const onEnd = () => {
        ended = true;
        for (const w of waiters) w();
      };
      res.on("end", onEnd);
      res.on("close", onEnd);
      res.on("error", onEnd);
      const stream = {
        status: res.statusCode,
        headers: res.headers,
        events,
        get ended() {
          return ended;
        },
        /** Resolve with the first event (from index `from`) matching pred; reject at the deadline. */
        next(pred, { timeout: t = 10000, from = 0, what = "SSE event" } = {}) {
          return new Promise((res2, rej2) => {
            let timer2;
            const check = () => {
              for (let k = from; k < events.length; k++) {
                if (pred(events[k])) {
                  clearTimeout(timer2);
                  waiters.delete(check);
                  res2(events[k]);
                  return;
                }
              }
              if (ended) {
                clearTimeout(timer2);
                waiters.delete(check);
                rej2(new Error(`stream ended before ${what}; got ${JSON.stringify(events)}`));
              }
            };
            timer2 = setTimeout(() => {
              waiters.delete(check);
              rej2(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events)}`));
            }, t);
            waiters.add(check);
            check();
          });
        },
        close() {
          req.destroy();
          res.destroy();
        },
      };
      resolve(stream);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// reference server (sandbox-agent 0.4.2), to validate a test file's logic: AGENTD_REF=1
//
//   const start = process.env.AGENTD_REF ? startReference : startDaemon;

export const REF_BIN = path.resolve(
  process.env.AGENTD_REF_BIN || new URL("../../.cache/ref/package/bin/sandbox-agent", import.meta.url).pathname,
);

/** A loopback TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start the reference binary (`sandbox-agent server --host 127.0.0.1 --port P --no-token
 * --no-telemetry`, HOME a temp dir) and wait for GET /v1/health. Same options (token, origins,
 * methods, headers, credentials, args, env, home, cwd; fsRoot is not supported) and the same
 * returned object as startDaemon(); stop() does not judge the exit status.
 */
export async function startReference(opts = {}) {
  if (opts.fsRoot) throw new Error("startReference: the reference has no --fs-root");
  const home = opts.home || (await realTempDir("agentd-refhome-"));
  const cwd = opts.cwd || (await realTempDir("agentd-refcwd-"));
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ["server", "--host", "127.0.0.1", "--port", String(port)];
    if (opts.token !== undefined && opts.token !== null) args.push("--token", opts.token);
    else args.push("--no-token");
    args.push("--no-telemetry");
    for (const o of opts.origins || []) args.push("-O", o);
    for (const m of opts.methods || []) args.push("-M", m);
    for (const h of opts.headers || []) args.push("-A", h);
    if (opts.credentials) args.push("-C");
    args.push(...(opts.args || []));
    const env = { ...process.env };
    delete env.AGENTD_TOKEN;
    Object.assign(env, { HOME: home }, opts.env || {});

    const proc = spawn(REF_BIN, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    liveDaemons.add(proc);
    let logs = "";
    const keep = (chunk) => {
      logs += chunk.toString();
      if (logs.length > 65536) logs = logs.slice(-65536);
    };
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    let exitInfo = null;
    const exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        liveDaemons.delete(proc);
        exitInfo = { code, signal };
        resolve(exitInfo);
      });
    });
    proc.on("error", (e) => keep(`spawn error: ${e.message}\n`));
    const daemon = {
      proc,
      pid: proc.pid,
      port,
      home,
      cwd,
      host: connect,
    base: `http://${net.isIPv6(connect) ? `[${connect}]` : connect}:${port}`,
      token: opts.token,
      exited,
      reference: true,
      logs: () => logs,
      async stop(signal = "SIGTERM", timeout = 10000) {
        if (exitInfo) return exitInfo;
        return (await signalAndWait(proc, exited, signal, timeout)) || exited;
      },
    };
    try {
      await waitFor(
        async () => {
          if (exitInfo) throw new Error(`reference exited early (${JSON.stringify(exitInfo)}): ${logs}`);
          const headers = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
          const res = await request(daemon, { path: "/v1/health", headers, timeout: 1000 });
          return res.status === 200;
        },
        { timeout: 15000, interval: 50, what: "reference /v1/health" },
      );
      return daemon;
    } catch (e) {
      lastError = e;
      try {
        proc.kill("SIGKILL");
      } catch {
        /* gone */
      }
      await exited;
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// process API helpers

/** POST /v1/processes, expecting 200; returns the ProcessInfo. */
export async function procCreate(d, body) {
  return assertJson(await postJson(d, "/v1/processes", body), 200, `create ${JSON.stringify(body)}`);
}

/** GET /v1/processes/{id}/logs?<query>, expecting 200; returns the ProcessLogsResponse. */
export async function procLogs(d, id, query = "") {
  return assertJson(await api(d, "GET", `/v1/processes/${id}/logs${query ? `?${query}` : ""}`), 200, `logs ${id}`);
}

/** Concatenated decoded bytes of log entries (optionally only those of one stream). */
export function procLogBytes(entries, stream) {
  return Buffer.concat(entries.filter((e) => !stream || e.stream === stream).map((e) => Buffer.from(e.data, "base64")));
}

/** Poll the logs of `id` until their decoded text (stream filter `query`) satisfies pred. */
export async function procWaitOutput(d, id, pred, { query = "", timeout = 10000, what } = {}) {
  const test = typeof pred === "string" ? (t) => t.includes(pred) : pred;
  let last = "";
  try {
    return await waitFor(
      async () => {
        last = procLogBytes((await procLogs(d, id, query)).entries).toString("utf8");
        return test(last) ? last : null;
      },
      { timeout, what: what || `output of ${id}` },
    );
  } catch (e) {
    throw new Error(`${e.message}; last output: ${JSON.stringify(last.slice(-500))}`);
  }
}

/** Poll GET /v1/processes/{id} until status is "exited"; returns the record. */
export async function procWaitExit(d, id, { timeout = 10000 } = {}) {
  return waitFor(
    async () => {
      const info = assertJson(await api(d, "GET", `/v1/processes/${id}`));
      return info.status === "exited" ? info : null;
    },
    { timeout, what: `${id} to exit` },
  );
}

/** Best-effort SIGKILL of a managed process (cleanup; never throws). */
export async function procKillQuietly(d, id) {
  try {
    await api(d, "POST", `/v1/processes/${id}/kill?waitMs=2000`, { timeout: 5000 });
  } catch {
    /* best effort */
  }
}

/** /proc/<pid>/stat fields: { pid, state, ppid, pgrp, session } or null when gone. */
export function pidStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { pid: Number(pid), state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]) };
}

/** True when pid no longer exists or is a zombie (dead, waiting to be reaped). */
export function pidGone(pid) {
  const st = pidStat(pid);
  return !st || st.state === "Z" || st.state === "X";
}

/** SIGKILL a pid if it still exists (cleanup; never throws). */
export function killPidQuietly(pid) {
  try {
    if (pid > 1) process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

/** Resident set size of pid in KiB (VmRSS), or null when unavailable. */
export function vmRssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** True when pid runs a sanitizer (ASan) build, whose RSS figures mean little. */
export function pidIsSanitized(pid) {
  try {
    if (/lib(clang_rt\.)?asan/.test(fs.readFileSync(`/proc/${pid}/maps`, "utf8"))) return true;
  } catch {
    /* fall through */
  }
  try {
    return fs.readFileSync(`/proc/${pid}/exe`).includes("__asan_init");
  } catch {
    return false;
  }
}

/** The process runtime configuration a fresh daemon reports (spec 4.1). */
export const PROC_CONFIG_DEFAULTS = Object.freeze({
  maxConcurrentProcesses: 64,
  defaultRunTimeoutMs: 30000,
  maxRunTimeoutMs: 300000,
  maxOutputBytes: 1048576,
  maxLogBytesPerProcess: 10485760,
  maxInputBytesPerRequest: 65536,
});

/** agentd, or the reference server when AGENTD_REF is set (for checking the tests themselves). */
export function startServer(opts) {
  return process.env.AGENTD_REF ? startReference(opts) : startDaemon(opts);
}

// ---------------------------------------------------------------------------------------------
// official SDK errors

/** Run fn, expect a SandboxAgentError; return it. */
export async function sdkError(fn, status, kind) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, "expected the SDK call to throw");
  assert.ok(err instanceof SandboxAgentError, `expected SandboxAgentError, got ${err && err.stack}`);
  assert.equal(err.status, status, JSON.stringify(err.problem));
  assert.ok(err.problem, "problem body parsed by the SDK");
  assert.equal(err.problem.type, `urn:sandbox-agent:error:${kind}`);
  assert.equal(err.problem.status, status);
  assert.equal(typeof err.problem.title, "string");
  assert.ok(err.problem.title.length > 0);
  assert.equal(err.message, err.problem.title, "SDK uses problem.title as the message");
  assert.ok(typeof err.problem.detail === "string" && err.problem.detail.length > 0);
  return err;
}
