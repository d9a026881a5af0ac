// Process API: bad input and edge cases, one test each, every one answered with a
// problem+json of the right status and type, and none changing the process table.
//
// Cases whose name ends in "(agentd)" are framework-level errors (JSON shape/syntax, content
// type, query parsing, wrong method) that the reference answers as text/plain or with an empty
// body; agentd answers problem+json invalid_request with the same status. They are expected to
// fail when the file is run against the reference server (AGENTD_REF=1); every other case
// matches the reference.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  api,
  assertJson,
  assertProblem,
  procCreate,
  procKillQuietly,
  procWaitExit,
  procWaitOutput,
  realTempDir,
  startServer,
} from "./harness.mjs";

const start = startServer;

const J = { "Content-Type": "application/json" };
const CONFIG = {
  maxConcurrentProcesses: 64,
  defaultRunTimeoutMs: 30000,
  maxRunTimeoutMs: 300000,
  maxOutputBytes: 1048576,
  maxLogBytesPerProcess: 10485760,
  maxInputBytesPerRequest: 65536,
};
const UNKNOWN = "proc_987654";

let d;
let work;
const ids = {}; // run: running pipe `cat`; tty: running tty `cat`; exited: an exited process

before(async () => {
  d = await start();
  work = await realTempDir("agentd-proc-err-");
  ids.run = (await procCreate(d, { command: "cat" })).id;
  ids.tty = (await procCreate(d, { command: "cat", tty: true })).id;
  ids.exited = (await procCreate(d, { command: "sh", args: ["-c", "echo bye"] })).id;
  await procWaitExit(d, ids.exited);
  await procWaitOutput(d, ids.exited, "bye");
});

after(async () => {
  if (d) {
    await procKillQuietly(d, ids.run);
    await procKillQuietly(d, ids.tty);
    await d.stop();
  }
});

const json = (v) => ({ body: JSON.stringify(v), headers: J });
const b64 = (s) => Buffer.from(s).toString("base64");

// [name, method, path (fn of ids), opts, status, kind]
function cases() {
  const P = (k, suffix = "") => () => `/v1/processes/${ids[k] || k}${suffix}`;
  const run = () => "/v1/processes/run";
  const create = () => "/v1/processes";
  const config = () => "/v1/processes/config";
  return [
    // run
    ["run: empty command", "POST", run, json({ command: "" }), 400, "invalid_request"],
    ["run: whitespace command", "POST", run, json({ command: "  \t " }), 400, "invalid_request"],
    ["run: unknown binary", "POST", run, json({ command: "agentd-no-such-binary-xyz" }), 502, "stream_error"],
    ["run: missing cwd", "POST", run, json({ command: "true", cwd: "/nonexistent-agentd-dir/x" }), 502, "stream_error"],
    ["run: cwd is a file", "POST", run, json({ command: "true", cwd: "/etc/hostname" }), 502, "stream_error"],
    ["run: a directory as the command", "POST", run, json({ command: "/tmp" }), 502, "stream_error"],
    ["run: missing command (agentd)", "POST", run, json({ args: ["x"] }), 422, "invalid_request"],
    ["run: command is a number (agentd)", "POST", run, json({ command: 42 }), 422, "invalid_request"],
    ["run: args is a string (agentd)", "POST", run, json({ command: "echo", args: "hi" }), 422, "invalid_request"],
    ["run: args holds a number (agentd)", "POST", run, json({ command: "echo", args: ["a", 1] }), 422, "invalid_request"],
    ["run: negative timeoutMs (agentd)", "POST", run, json({ command: "true", timeoutMs: -1 }), 422, "invalid_request"],
    ["run: maxOutputBytes is a string (agentd)", "POST", run, json({ command: "true", maxOutputBytes: "10" }), 422, "invalid_request"],
    ["run: env value is a number (agentd)", "POST", run, json({ command: "true", env: { A: 1 } }), 422, "invalid_request"],
    ["run: env is an array (agentd)", "POST", run, json({ command: "true", env: ["A=1"] }), 422, "invalid_request"],
    // the reference (serde) even accepts ["true"] as a positional struct and runs it
    ["run: JSON array body (agentd)", "POST", run, json(["true"]), 422, "invalid_request"],
    ["run: truncated JSON (agentd)", "POST", run, { body: '{"command": "true"', headers: J }, 400, "invalid_request"],
    ["run: trailing comma in JSON (agentd)", "POST", run, { body: '{"command": "true",}', headers: J }, 400, "invalid_request"],
    ["run: empty body with JSON type (agentd)", "POST", run, { body: "", headers: J }, 400, "invalid_request"],
    ["run: text/plain content type (agentd)", "POST", run, { body: '{"command":"true"}', headers: { "Content-Type": "text/plain" } }, 415, "invalid_request"],
    ["run: no content type (agentd)", "POST", run, { body: '{"command":"true"}' }, 415, "invalid_request"],
    // create
    ["create: empty command", "POST", create, json({ command: "" }), 400, "invalid_request"],
    ["create: whitespace command, tty", "POST", create, json({ command: " ", tty: true }), 400, "invalid_request"],
    ["create: unknown binary", "POST", create, json({ command: "agentd-no-such-binary-xyz" }), 502, "stream_error"],
    ["create: unknown binary, tty", "POST", create, json({ command: "agentd-no-such-binary-xyz", tty: true }), 502, "stream_error"],
    ["create: missing cwd", "POST", create, json({ command: "true", cwd: "/nonexistent-agentd-dir" }), 502, "stream_error"],
    ["create: missing cwd, tty", "POST", create, json({ command: "true", cwd: "/nonexistent-agentd-dir", tty: true }), 502, "stream_error"],
    ["create: tty is a string (agentd)", "POST", create, json({ command: "true", tty: "yes" }), 422, "invalid_request"],
    ["create: interactive is a number (agentd)", "POST", create, json({ command: "true", interactive: 1 }), 422, "invalid_request"],
    ["create: missing command (agentd)", "POST", create, json({ tty: true }), 422, "invalid_request"],
    // the reference answers 502 (it tries to chdir to ""); agentd says what to fix
    ["create: empty cwd (agentd)", "POST", create, json({ command: "true", cwd: "" }), 400, "invalid_request"],
    ["run: empty cwd (agentd)", "POST", run, json({ command: "true", cwd: "" }), 400, "invalid_request"],
    ["create: invalid JSON (agentd)", "POST", create, { body: "{command:'x'}", headers: J }, 400, "invalid_request"],
    ["create: no body (agentd)", "POST", create, {}, 415, "invalid_request"],
    // config
    ["config: maxConcurrentProcesses 0", "POST", config, json({ ...CONFIG, maxConcurrentProcesses: 0 }), 400, "invalid_request"],
    ["config: maxRunTimeoutMs 0", "POST", config, json({ ...CONFIG, maxRunTimeoutMs: 0 }), 400, "invalid_request"],
    ["config: maxLogBytesPerProcess 0", "POST", config, json({ ...CONFIG, maxLogBytesPerProcess: 0 }), 400, "invalid_request"],
    ["config: missing maxOutputBytes (agentd)", "POST", config, json({ ...CONFIG, maxOutputBytes: undefined }), 422, "invalid_request"],
    ["config: negative maxConcurrentProcesses (agentd)", "POST", config, json({ ...CONFIG, maxConcurrentProcesses: -1 }), 422, "invalid_request"],
    ["config: string value (agentd)", "POST", config, json({ ...CONFIG, defaultRunTimeoutMs: "1000" }), 422, "invalid_request"],
    // list
    ["list: owner=bogus (agentd)", "GET", create, { query: "?owner=bogus" }, 400, "invalid_request"],
    ["list: owner= (agentd)", "GET", create, { query: "?owner=" }, 400, "invalid_request"],
    // logs
    ["logs: tail=-1 (agentd)", "GET", P("run", "/logs"), { query: "?tail=-1" }, 400, "invalid_request"],
    ["logs: tail=abc (agentd)", "GET", P("run", "/logs"), { query: "?tail=abc" }, 400, "invalid_request"],
    ["logs: since=abc (agentd)", "GET", P("run", "/logs"), { query: "?since=abc" }, 400, "invalid_request"],
    ["logs: since=-5 (agentd)", "GET", P("run", "/logs"), { query: "?since=-5" }, 400, "invalid_request"],
    ["logs: stream=bogus (agentd)", "GET", P("run", "/logs"), { query: "?stream=bogus" }, 400, "invalid_request"],
    ["logs: follow=yes (agentd)", "GET", P("run", "/logs"), { query: "?follow=yes" }, 400, "invalid_request"],
    // stop / kill / delete
    ["stop: waitMs=abc (agentd)", "POST", P("run", "/stop"), { query: "?waitMs=abc" }, 400, "invalid_request"],
    ["kill: waitMs=-1 (agentd)", "POST", P("run", "/kill"), { query: "?waitMs=-1" }, 400, "invalid_request"],
    ["delete: running pipe process", "DELETE", P("run"), {}, 409, "conflict"],
    ["delete: running tty process", "DELETE", P("tty"), {}, 409, "conflict"],
    // input
    ["input: invalid base64", "POST", P("run", "/input"), json({ data: "!!!!" }), 400, "invalid_request"],
    ["input: plain text with the default (base64) encoding", "POST", P("run", "/input"), json({ data: "hello\n" }), 400, "invalid_request"],
    ["input: unknown encoding hex", "POST", P("run", "/input"), json({ data: "6869", encoding: "hex" }), 400, "invalid_request"],
    ["input: encoding UTF-8 (only utf8/text)", "POST", P("run", "/input"), json({ data: "hi", encoding: "UTF-8" }), 400, "invalid_request"],
    ["input: over maxInputBytesPerRequest", "POST", P("run", "/input"), json({ data: "x".repeat(65537), encoding: "utf8" }), 413, "invalid_request"],
    ["input: exited process", "POST", P("exited", "/input"), json({ data: b64("x") }), 409, "conflict"],
    ["input: missing data (agentd)", "POST", P("run", "/input"), json({ encoding: "utf8" }), 422, "invalid_request"],
    // resize
    ["resize: pipe process", "POST", P("run", "/terminal/resize"), json({ cols: 80, rows: 24 }), 409, "conflict"],
    ["resize: exited process", "POST", P("exited", "/terminal/resize"), json({ cols: 80, rows: 24 }), 409, "conflict"],
    ["resize: cols > 65535 (agentd)", "POST", P("tty", "/terminal/resize"), json({ cols: 65536, rows: 24 }), 422, "invalid_request"],
    ["resize: missing rows (agentd)", "POST", P("tty", "/terminal/resize"), json({ cols: 80 }), 422, "invalid_request"],
    ["resize: negative rows (agentd)", "POST", P("tty", "/terminal/resize"), json({ cols: 80, rows: -24 }), 422, "invalid_request"],
    // unknown process everywhere
    ["unknown: GET", "GET", P(UNKNOWN), {}, 404, "not_found"],
    ["unknown: stop", "POST", P(UNKNOWN, "/stop"), {}, 404, "not_found"],
    ["unknown: kill", "POST", P(UNKNOWN, "/kill?waitMs=0"), {}, 404, "not_found"],
    ["unknown: DELETE", "DELETE", P(UNKNOWN), {}, 404, "not_found"],
    ["unknown: logs", "GET", P(UNKNOWN, "/logs"), {}, 404, "not_found"],
    ["unknown: follow logs", "GET", P(UNKNOWN, "/logs"), { query: "?follow=true" }, 404, "not_found"],
    ["unknown: input", "POST", P(UNKNOWN, "/input"), json({ data: b64("x") }), 404, "not_found"],
    ["unknown: resize", "POST", P(UNKNOWN, "/terminal/resize"), json({ cols: 80, rows: 24 }), 404, "not_found"],
    ["unknown: non-numeric id", "GET", P("not-a-proc"), {}, 404, "not_found"],
    // routing
    ["unknown sub-route", "GET", P("run", "/bogus"), {}, 404, "invalid_request"],
    ["wrong method on /v1/processes/config (agentd)", "DELETE", config, {}, 405, "invalid_request"],
    ["wrong method on /v1/processes/{id}/stop (agentd)", "GET", P("run", "/stop"), {}, 405, "invalid_request"],
  ];
}

/** The observable process table: ids and statuses. */
async function table() {
  const { processes } = assertJson(await api(d, "GET", "/v1/processes"));
  return processes.map((p) => `${p.id}:${p.status}`).sort();
}

describe("process API bad input", () => {
  for (const [name, method, p, opts, status, kind] of cases()) {
    test(`${name} → ${status} ${kind}`, async () => {
      const before = await table();
      const res = await api(d, method, `${p()}${opts.query || ""}`, { body: opts.body, headers: opts.headers || {} });
      const prob = assertProblem(res, status, kind, `${method} ${p()}`);
      if (kind === "not_found") {
        assert.equal(prob.details?.resource, "process", JSON.stringify(prob));
        assert.equal(typeof prob.details?.id, "string");
      }
      assert.deepEqual(await table(), before, "the process table is unchanged");
    });
  }

  test("the fixtures survived every bad request", async () => {
    for (const k of ["run", "tty"]) {
      assert.equal(assertJson(await api(d, "GET", `/v1/processes/${ids[k]}`)).status, "running", k);
    }
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/processes/config")), CONFIG);
  });
});
