// The official TypeScript SDK (sandbox-agent@0.4.2), unmodified, against the process API:
// every process method, and SDK error surfacing for process errors.
//
// Tests whose name ends in "(agentd)" check an agentd improvement over the reference (the log
// follow stream ends after the process exited, so the subscription's `closed` resolves) and
// are expected to fail when the file is run against the reference server (AGENTD_REF=1).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SandboxAgent } from "sandbox-agent";
import { realTempDir, sleep, waitFor, startServer, PROC_CONFIG_DEFAULTS, sdkError } from "./harness.mjs";

const start = startServer;

const TOKEN = "sdk-proc-token";
const DEFAULTS = PROC_CONFIG_DEFAULTS;

let d;
let sdk;
let work;
const live = new Set();

before(async () => {
  d = await start({ token: TOKEN });
  sdk = await SandboxAgent.connect({ baseUrl: d.base, token: TOKEN });
  work = await realTempDir("agentd-sdk-proc-");
});

after(async () => {
  for (const id of live) {
    try {
      await sdk.killProcess(id, { waitMs: 2000 });
    } catch {
      /* gone */
    }
  }
  if (sdk) await sdk.dispose();
  if (d) await d.stop();
});

const text = (entries, stream) =>
  Buffer.concat(entries.filter((e) => !stream || e.stream === stream).map((e) => Buffer.from(e.data, "base64"))).toString();

async function waitSdkExit(id, timeout = 10000) {
  return waitFor(
    async () => {
      const p = await sdk.getProcess(id);
      return p.status === "exited" ? p : null;
    },
    { timeout, what: `${id} to exit` },
  );
}

async function waitSdkOutput(id, needle, query = {}) {
  return waitFor(
    async () => {
      const t = text((await sdk.getProcessLogs(id, query)).entries);
      return t.includes(needle) ? t : null;
    },
    { what: `${needle} in the logs of ${id}` },
  );
}

describe("SDK process methods", () => {
  test("getProcessConfig / setProcessConfig", async () => {
    assert.deepEqual(await sdk.getProcessConfig(), DEFAULTS);
    const cfg = { ...DEFAULTS, maxConcurrentProcesses: 9, defaultRunTimeoutMs: 9000, maxRunTimeoutMs: 4000 };
    assert.deepEqual(await sdk.setProcessConfig(cfg), { ...cfg, defaultRunTimeoutMs: 4000 });
    assert.deepEqual(await sdk.getProcessConfig(), { ...cfg, defaultRunTimeoutMs: 4000 });
    assert.deepEqual(await sdk.setProcessConfig(DEFAULTS), DEFAULTS);
    const err = await sdkError(() => sdk.setProcessConfig({ ...DEFAULTS, maxOutputBytes: 0 }), 400, "invalid_request");
    assert.match(err.problem.detail, /byte limits must be greater than 0/);
  });

  test("runProcess", async () => {
    const r = await sdk.runProcess({
      command: "sh",
      args: ["-c", 'echo "$GREETING"; echo oops >&2; exit 2'],
      env: { GREETING: "hi sdk" },
      cwd: work,
    });
    assert.equal(r.exitCode, 2);
    assert.equal(r.stdout, "hi sdk\n");
    assert.equal(r.stderr, "oops\n");
    assert.equal(r.timedOut, false);
    assert.equal(r.stdoutTruncated, false);
    assert.equal(typeof r.durationMs, "number");

    const t = await sdk.runProcess({ command: "sleep", args: ["10"], timeoutMs: 300, maxOutputBytes: 10 });
    assert.equal(t.timedOut, true);
    assert.equal(t.exitCode, null);

    await sdkError(() => sdk.runProcess({ command: "" }), 400, "invalid_request");
    await sdkError(() => sdk.runProcess({ command: "agentd-no-such-binary-xyz" }), 502, "stream_error");
  });

  test("createProcess / getProcess / listProcesses", async () => {
    const p = await sdk.createProcess({ command: "cat", interactive: true });
    live.add(p.id);
    assert.equal(p.status, "running");
    assert.equal(p.owner, "user");
    assert.equal(p.interactive, true);
    assert.equal(p.tty, false);
    assert.deepEqual(p.args, []);
    assert.deepEqual(await sdk.getProcess(p.id), p);

    const all = await sdk.listProcesses();
    assert.ok(all.processes.some((x) => x.id === p.id));
    const users = await sdk.listProcesses({ owner: "user" });
    assert.ok(users.processes.some((x) => x.id === p.id));
    assert.deepEqual(await sdk.listProcesses({ owner: "desktop" }), { processes: [] });

    const err = await sdkError(() => sdk.getProcess("proc_5555555"), 404, "not_found");
    assert.deepEqual(err.problem.details, { id: "proc_5555555", resource: "process" });
    await sdkError(() => sdk.createProcess({ command: "agentd-no-such-binary-xyz" }), 502, "stream_error");
    await sdkError(() => sdk.createProcess({ command: "  " }), 400, "invalid_request");
    await sdk.killProcess(p.id);
  });

  test("sendProcessInput / getProcessLogs", async () => {
    const p = await sdk.createProcess({ command: "cat" });
    live.add(p.id);
    assert.deepEqual(await sdk.sendProcessInput(p.id, { data: Buffer.from("via base64\n").toString("base64") }), { bytesWritten: 11 });
    assert.deepEqual(await sdk.sendProcessInput(p.id, { data: "via utf8\n", encoding: "utf8" }), { bytesWritten: 9 });
    await waitSdkOutput(p.id, "via base64\nvia utf8\n");

    const logs = await sdk.getProcessLogs(p.id);
    assert.equal(logs.processId, p.id);
    assert.equal(logs.stream, "combined");
    const stdout = await sdk.getProcessLogs(p.id, { stream: "stdout", tail: 1 });
    assert.equal(stdout.stream, "stdout");
    assert.deepEqual(stdout.entries, logs.entries.filter((e) => e.stream === "stdout").slice(-1));
    const since = await sdk.getProcessLogs(p.id, { since: logs.entries.at(-1).sequence });
    assert.deepEqual(since.entries, []);

    await sdkError(() => sdk.sendProcessInput(p.id, { data: "not base64!" }), 400, "invalid_request");
    await sdkError(() => sdk.sendProcessInput(p.id, { data: "x", encoding: "hex" }), 400, "invalid_request");
    await sdkError(() => sdk.getProcessLogs("proc_5555555"), 404, "not_found");
    await sdk.killProcess(p.id);
    await sdkError(() => sdk.sendProcessInput(p.id, { data: "eA==" }), 409, "conflict");
  });

  test("stopProcess / killProcess / deleteProcess", async () => {
    const p = await sdk.createProcess({ command: "sh", args: ["-c", 'trap "" TERM; echo ready; sleep 30'] });
    live.add(p.id);
    await waitSdkOutput(p.id, "ready");
    const s = await sdk.stopProcess(p.id, { waitMs: 200 });
    assert.equal(s.status, "running", "TERM is ignored");
    await sdkError(() => sdk.deleteProcess(p.id), 409, "conflict");
    const k = await sdk.killProcess(p.id, { waitMs: 3000 });
    assert.equal(k.status, "exited");
    assert.ok(!("exitCode" in k), "signal death: exitCode omitted");

    const q = await sdk.createProcess({ command: "sleep", args: ["30"] });
    live.add(q.id);
    const stopped = await sdk.stopProcess(q.id);
    assert.equal(stopped.status, "exited");

    assert.equal(await sdk.deleteProcess(p.id), undefined);
    assert.equal(await sdk.deleteProcess(q.id), undefined);
    live.delete(p.id);
    live.delete(q.id);
    await sdkError(() => sdk.getProcess(p.id), 404, "not_found");
    await sdkError(() => sdk.deleteProcess(p.id), 404, "not_found");
    await sdkError(() => sdk.stopProcess("proc_5555555"), 404, "not_found");
    await sdkError(() => sdk.killProcess("proc_5555555", { waitMs: 0 }), 404, "not_found");
  });

  test("resizeProcessTerminal", async () => {
    const p = await sdk.createProcess({ command: "sh", tty: true });
    live.add(p.id);
    assert.deepEqual(await sdk.resizeProcessTerminal(p.id, { cols: 120, rows: 40 }), { cols: 120, rows: 40 });
    await sdk.sendProcessInput(p.id, { data: "stty size\n", encoding: "utf8" });
    await waitSdkOutput(p.id, "40 120");
    const logs = await sdk.getProcessLogs(p.id);
    assert.equal(logs.stream, "pty", "tty default view");

    const pipe = await sdk.createProcess({ command: "sleep", args: ["30"] });
    live.add(pipe.id);
    await sdkError(() => sdk.resizeProcessTerminal(pipe.id, { cols: 1, rows: 1 }), 409, "conflict");
    await sdkError(() => sdk.resizeProcessTerminal("proc_5555555", { cols: 1, rows: 1 }), 404, "not_found");
    await sdk.killProcess(pipe.id);
    await sdk.sendProcessInput(p.id, { data: "exit\n", encoding: "utf8" });
    assert.equal((await waitSdkExit(p.id)).exitCode, 0);
  });

  test("followProcessLogs: replay plus live entries, close()", async () => {
    const p = await sdk.createProcess({ command: "cat" });
    live.add(p.id);
    await sdk.sendProcessInput(p.id, { data: "before\n", encoding: "utf8" });
    await waitSdkOutput(p.id, "before\n");
    const got = [];
    const sub = await sdk.followProcessLogs(p.id, (entry) => got.push(entry));
    try {
      await waitFor(() => text(got).includes("before\n"), { what: "replayed entry" });
      await sdk.sendProcessInput(p.id, { data: "after\n", encoding: "utf8" });
      await waitFor(() => text(got) === "before\nafter\n", { what: "live entry" });
      for (let i = 1; i < got.length; i++) assert.ok(got[i].sequence > got[i - 1].sequence);
      assert.ok(got.every((e) => e.encoding === "base64" && e.stream === "stdout"));
    } finally {
      sub.close();
    }
    await sub.closed;

    // query parameters are passed through
    const since = [];
    const sub2 = await sdk.followProcessLogs(p.id, (e) => since.push(e), { since: got[0].sequence, stream: "stdout" });
    try {
      await waitFor(() => text(since).includes("after\n"), { what: "entries after since" });
      assert.ok(since.every((e) => e.sequence > got[0].sequence));
    } finally {
      sub2.close();
    }
    await sub2.closed;
    await sdk.killProcess(p.id);
    await sdkError(() => sdk.followProcessLogs("proc_5555555", () => {}), 404, "not_found");
  });

  test("followProcessLogs: `closed` resolves once the process exited and all output is delivered (agentd)", async () => {
    const p = await sdk.createProcess({ command: "sh", args: ["-c", "read x; echo one; echo two >&2; exit 3"] });
    live.add(p.id);
    const got = [];
    const sub = await sdk.followProcessLogs(p.id, (entry) => got.push(entry));
    try {
      await sdk.sendProcessInput(p.id, { data: "\n", encoding: "utf8" });
      const ended = await Promise.race([sub.closed.then(() => true), sleep(5000).then(() => false)]);
      assert.ok(ended, "the subscription ended by itself");
      assert.equal(text(got, "stdout"), "one\n");
      assert.equal(text(got, "stderr"), "two\n");
      assert.equal((await sdk.getProcess(p.id)).exitCode, 3);
    } finally {
      sub.close();
    }
  });
});
