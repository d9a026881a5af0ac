// A raw JSON-RPC client for an ACP agent on stdio, used to drive `agentd mock-agent` directly.
//
//   const a = spawnMockAgent();
//   const init = await a.request("initialize", { protocolVersion: 1 });
//   const upd = await a.next((m) => m.method === "session/update");
//   assert.deepEqual(await a.end(), { code: 0, signal: null });
//
// Every message the agent sends must be one line of JSON; each is checked against the ACP JSON
// schema (the zod validators of @agentclientprotocol/sdk, the package the official SDK uses):
// session/update and session/request_permission params, and the result of every request whose
// method has a response schema.

import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import * as acpSchema from "@agentclientprotocol/sdk/dist/schema/zod.gen.js";
import { AGENTD_BIN } from "./harness.mjs";

const RESULT_SCHEMAS = {
  initialize: acpSchema.zInitializeResponse,
  authenticate: acpSchema.zAuthenticateResponse,
  "session/new": acpSchema.zNewSessionResponse,
  "session/set_mode": acpSchema.zSetSessionModeResponse,
  "session/set_model": acpSchema.zSetSessionModelResponse,
  "session/set_config_option": acpSchema.zSetSessionConfigOptionResponse,
  "session/prompt": acpSchema.zPromptResponse,
};

const live = new Set();
process.on("exit", () => {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }
});

/** Validate one agent→client message against the ACP schema; throws with context. */
function checkSchema(msg, sentMethods) {
  const ctx = JSON.stringify(msg).slice(0, 400);
  assert.equal(msg.jsonrpc, "2.0", `jsonrpc 2.0: ${ctx}`);
  try {
    if (msg.method === "session/update") acpSchema.zSessionNotification.parse(msg.params);
    else if (msg.method === "session/request_permission") acpSchema.zRequestPermissionRequest.parse(msg.params);
    else if (!msg.method && "result" in msg && sentMethods.has(msg.id)) {
      const schema = RESULT_SCHEMAS[sentMethods.get(msg.id)];
      if (schema) schema.parse(msg.result);
    } else if (!msg.method && "error" in msg) acpSchema.zError.parse(msg.error);
  } catch (e) {
    throw new Error(`ACP schema violation: ${e.message}\nmessage: ${ctx}`);
  }
}

export class StdioAgent {
  constructor(args = ["mock-agent"], { env = {} } = {}) {
    this.proc = spawn(AGENTD_BIN, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    live.add(this.proc);
    this.messages = [];
    this.lines = [];
    this.errors = [];
    this.stderr = "";
    this.nextId = 1;
    this.sentMethods = new Map();
    this.waiters = new Set();
    this.closed = false;
    let buf = "";
    this.proc.stdout.setEncoding("utf8");
    this.proc.stdout.on("data", (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        try {
          const msg = JSON.parse(line);
          checkSchema(msg, this.sentMethods);
          this.messages.push(msg);
        } catch (e) {
          this.errors.push(e);
        }
      }
      this.wake();
    });
    this.proc.stdout.on("end", () => {
      if (buf.length) this.errors.push(new Error(`unterminated last line: ${buf.slice(0, 200)}`));
      this.closed = true;
      this.wake();
    });
    this.proc.stderr.on("data", (c) => {
      this.stderr += c.toString();
      if (this.stderr.length > 65536) this.stderr = this.stderr.slice(-65536);
    });
    this.proc.stdin.on("error", () => {
      /* the agent may be gone */
    });
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        live.delete(this.proc);
        resolve({ code, signal });
      });
    });
  }

  wake() {
    for (const w of this.waiters) w();
  }

  /** Write a raw string (a newline is NOT added). */
  write(text) {
    return new Promise((resolve, reject) => this.proc.stdin.write(text, (e) => (e ? reject(e) : resolve())));
  }

  /** Send one message as a line. */
  send(obj) {
    if (obj && obj.method && "id" in obj) this.sentMethods.set(obj.id, obj.method);
    return this.write(`${JSON.stringify(obj)}\n`);
  }

  /** Send a request and resolve with its response (result or error envelope). */
  async request(method, params, { id } = {}) {
    const rid = id !== undefined ? id : this.nextId++;
    const from = this.messages.length;
    await this.send({ jsonrpc: "2.0", id: rid, method, params });
    return this.next((m) => !m.method && m.id === rid, { from, what: `response to ${method} #${rid}` });
  }

  /** Send a request and return the result, failing on an error response. */
  async call(method, params) {
    const res = await this.request(method, params);
    assert.ok(!res.error, `${method} failed: ${JSON.stringify(res.error)}`);
    return res.result;
  }

  notify(method, params) {
    return this.send({ jsonrpc: "2.0", method, params });
  }

  /** The first message from index `from` that satisfies pred (waits for it; rejects at the deadline). */
  next(pred, { from = 0, timeout = 10000, what = "message" } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        if (this.errors.length) {
          done();
          reject(this.errors[0]);
          return;
        }
        for (let k = from; k < this.messages.length; k++) {
          if (pred(this.messages[k])) {
            done();
            resolve(this.messages[k]);
            return;
          }
        }
        if (this.closed) {
          done();
          reject(new Error(`agent stdout closed before ${what}; stderr: ${this.stderr}`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-5)).slice(0, 2000)}`));
      }, timeout);
      this.waiters.add(check);
      check();
    });
  }

  /** session/update messages (optionally of one session) from index `from`. */
  updates(sessionId, from = 0) {
    return this.messages
      .slice(from)
      .filter((m) => m.method === "session/update" && (!sessionId || m.params.sessionId === sessionId))
      .map((m) => m.params.update);
  }

  /** Close stdin and wait for the exit; asserts a clean exit (status 0, no sanitizer report). */
  async end({ timeout = 15000 } = {}) {
    this.proc.stdin.end();
    let t;
    const r = await Promise.race([this.exited, new Promise((res) => (t = setTimeout(res, timeout, null)))]);
    clearTimeout(t);
    if (!r) {
      this.proc.kill("SIGKILL");
      throw new Error(`mock agent did not exit within ${timeout} ms of stdin EOF; stderr: ${this.stderr}`);
    }
    await new Promise((res) => (this.closed ? res() : this.proc.stdout.once("end", res)));
    if (this.errors.length) throw this.errors[0];
    assert.deepEqual(r, { code: 0, signal: null }, `exit status; stderr: ${this.stderr}`);
    assert.doesNotMatch(this.stderr, /Sanitizer|runtime error/, "sanitizer report on stderr");
    return r;
  }

  kill() {
    try {
      this.proc.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }
}

export function spawnMockAgent(opts) {
  return new StdioAgent(["mock-agent"], opts);
}

/** initialize + session/new; returns { agent, sessionId, session (the session/new result) }. */
export async function mockSession(agent, cwd = "/tmp") {
  await agent.call("initialize", { protocolVersion: 1, clientInfo: { name: "it", version: "1" } });
  const session = await agent.call("session/new", { cwd, mcpServers: [] });
  return { sessionId: session.sessionId, session };
}

/** The text of a ContentChunk update. */
export const chunkText = (u) => (u.content && u.content.type === "text" ? u.content.text : "");
