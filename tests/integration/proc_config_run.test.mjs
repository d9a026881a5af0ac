// Process API part 1: runtime configuration (GET/POST /v1/processes/config) and one-shot runs
// (POST /v1/processes/run). API.md sections 4.1 and 4.3.
//
// Tests whose name ends in "(agentd)" check an agentd improvement over the reference (whole
// process-group timeouts, problem+json for framework errors, ...) and are expected to fail when
// the file is run against the reference server (AGENTD_REF=1).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import path from "node:path";
import {
  api,
  assertJson,
  assertProblem,
  killPidQuietly,
  pidGone,
  postJson,
  realTempDir,
  waitFor,
  startServer,
  PROC_CONFIG_DEFAULTS,
} from "./harness.mjs";

const start = startServer;

const DEFAULTS = PROC_CONFIG_DEFAULTS;
const RUN_KEYS = ["durationMs", "exitCode", "stderr", "stderrTruncated", "stdout", "stdoutTruncated", "timedOut"];

let d;
let work;

before(async () => {
  // A TERM the daemon itself has, to tell "inherited" from "forced" apart.
  d = await start({ env: { TERM: "dumb", AGENTD_IT_MARK: "from-daemon" } });
  work = await realTempDir("agentd-proc-run-");
});

after(async () => {
  if (d) await d.stop();
});

const getConfig = async () => assertJson(await api(d, "GET", "/v1/processes/config"));
const setConfig = (cfg) => postJson(d, "/v1/processes/config", cfg);
async function restoreDefaults() {
  assert.deepEqual(assertJson(await setConfig(DEFAULTS)), DEFAULTS);
}
const run = (body, opts) => postJson(d, "/v1/processes/run", body, opts);
async function runOk(body, opts) {
  const res = assertJson(await run(body, opts), 200, JSON.stringify(body));
  assert.deepEqual(Object.keys(res).sort(), RUN_KEYS, "exact run response keys");
  return res;
}

describe("GET/POST /v1/processes/config", () => {
  test("GET returns the defaults", async () => {
    assert.deepEqual(await getConfig(), DEFAULTS);
  });

  test("POST stores the full object, returns it, and GET reflects it", async () => {
    const cfg = {
      maxConcurrentProcesses: 7,
      defaultRunTimeoutMs: 1234,
      maxRunTimeoutMs: 5678,
      maxOutputBytes: 999,
      maxLogBytesPerProcess: 4096,
      maxInputBytesPerRequest: 100,
    };
    assert.deepEqual(assertJson(await setConfig(cfg)), cfg);
    assert.deepEqual(await getConfig(), cfg);
    // unknown fields are ignored
    assert.deepEqual(assertJson(await setConfig({ ...DEFAULTS, bogus: 1 })), DEFAULTS);
    assert.deepEqual(await getConfig(), DEFAULTS);
  });

  test("defaultRunTimeoutMs is clamped down to maxRunTimeoutMs", async () => {
    const stored = assertJson(await setConfig({ ...DEFAULTS, defaultRunTimeoutMs: 5000, maxRunTimeoutMs: 800 }));
    assert.deepEqual(stored, { ...DEFAULTS, defaultRunTimeoutMs: 800, maxRunTimeoutMs: 800 });
    assert.deepEqual(await getConfig(), stored);
    // equal values are kept as is
    const eq = assertJson(await setConfig({ ...DEFAULTS, defaultRunTimeoutMs: 800, maxRunTimeoutMs: 800 }));
    assert.equal(eq.defaultRunTimeoutMs, 800);
    await restoreDefaults();
  });

  test("zero values → 400 invalid_request with the documented message; config unchanged", async () => {
    const cases = [
      ["maxConcurrentProcesses", /maxConcurrentProcesses must be greater than 0/],
      ["defaultRunTimeoutMs", /timeouts must be greater than 0/],
      ["maxRunTimeoutMs", /timeouts must be greater than 0/],
      ["maxOutputBytes", /byte limits must be greater than 0/],
      ["maxLogBytesPerProcess", /byte limits must be greater than 0/],
      ["maxInputBytesPerRequest", /byte limits must be greater than 0/],
    ];
    for (const [field, re] of cases) {
      const p = assertProblem(await setConfig({ ...DEFAULTS, maxConcurrentProcesses: 3, [field]: 0 }), 400, "invalid_request", field);
      assert.match(p.detail, re, field);
      assert.deepEqual(await getConfig(), DEFAULTS, `${field}: rejected config must not be applied`);
    }
  });

  test("a config missing any field → 422 problem, config unchanged (agentd)", async () => {
    for (const field of Object.keys(DEFAULTS)) {
      const body = { ...DEFAULTS, maxConcurrentProcesses: 3 };
      delete body[field];
      assertProblem(await setConfig(body), 422, "invalid_request", `without ${field}`);
    }
    assertProblem(await setConfig({}), 422, "invalid_request", "empty object");
    assert.deepEqual(await getConfig(), DEFAULTS);
  });
});

describe("POST /v1/processes/run", () => {
  test("exit code, stdout and stderr are captured separately", async () => {
    const r = await runOk({ command: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] });
    assert.equal(r.exitCode, 3);
    assert.equal(r.timedOut, false);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.stdoutTruncated, false);
    assert.equal(r.stderrTruncated, false);
    assert.ok(Number.isInteger(r.durationMs) && r.durationMs >= 0, `durationMs ${r.durationMs}`);
    const ok = await runOk({ command: "true" });
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.stdout, "");
  });

  test("args are passed verbatim, without a shell", async () => {
    const r = await runOk({ command: "printf", args: ["%s|", "a b", "$HOME", "*", "", "'q'"] });
    assert.equal(r.stdout, "a b|$HOME|*||'q'|");
  });

  test("a signal death gives exitCode null (present), timedOut false", async () => {
    const r = await runOk({ command: "sh", args: ["-c", "kill -9 $$"] });
    assert.ok("exitCode" in r, "exitCode present");
    assert.equal(r.exitCode, null);
    assert.equal(r.timedOut, false);
  });

  test("stdin is /dev/null (cat ends at once)", async () => {
    const r = await runOk({ command: "cat" }, { timeout: 5000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "");
  });

  test("env is merged over the daemon environment and can override it", async () => {
    const r = await runOk({
      command: "sh",
      args: ["-c", 'printf "%s|%s|%s" "$FOO" "$AGENTD_IT_MARK" "$HOME"'],
      env: { FOO: "bar baz", HOME: "/override" },
    });
    assert.equal(r.stdout, "bar baz|from-daemon|/override");
  });

  test("TERM is xterm-256color unless env sets it", async () => {
    const r = await runOk({ command: "sh", args: ["-c", 'printf %s "$TERM"'] });
    assert.equal(r.stdout, "xterm-256color", "forced even though the daemon has TERM=dumb");
    const r2 = await runOk({ command: "sh", args: ["-c", 'printf %s "$TERM"'], env: { TERM: "vt100" } });
    assert.equal(r2.stdout, "vt100");
  });

  test("cwd: absolute, default (daemon cwd) and relative (against the daemon cwd)", async () => {
    assert.equal((await runOk({ command: "pwd", cwd: work })).stdout, `${work}\n`);
    assert.equal((await runOk({ command: "pwd" })).stdout, `${d.cwd}\n`);
    await fsp.mkdir(path.join(d.cwd, "rel-sub"), { recursive: true });
    assert.equal((await runOk({ command: "pwd", cwd: "rel-sub" })).stdout, `${path.join(d.cwd, "rel-sub")}\n`);
    assert.equal((await runOk({ command: "pwd", cwd: null })).stdout, `${d.cwd}\n`, "null means absent");
  });

  test("an absolute command path works", async () => {
    const script = path.join(work, "script.sh");
    await fsp.writeFile(script, "#!/bin/sh\necho \"script $1\"\n", { mode: 0o755 });
    assert.equal((await runOk({ command: script, args: ["x"] })).stdout, "script x\n");
  });

  test("output is converted to UTF-8 lossily", async () => {
    const r = await runOk({ command: "sh", args: ["-c", "printf 'a\\377b\\303\\251'; printf '\\200' >&2"] });
    assert.equal(r.stdout, "a\uFFFDb\u00e9");
    assert.equal(r.stderr, "\uFFFD");
  });

  test("maxOutputBytes caps each stream and sets the truncation flags", async () => {
    const cmd = { command: "sh", args: ["-c", "printf 0123456789; printf abcdefghij >&2"] };
    const r = await runOk({ ...cmd, maxOutputBytes: 4 });
    assert.equal(r.stdout, "0123");
    assert.equal(r.stderr, "abcd");
    assert.equal(r.stdoutTruncated, true);
    assert.equal(r.stderrTruncated, true);
    assert.equal(r.exitCode, 0);

    const exact = await runOk({ ...cmd, maxOutputBytes: 10 });
    assert.equal(exact.stdout, "0123456789");
    assert.equal(exact.stdoutTruncated, false, "exactly the cap is not truncated");
    assert.equal(exact.stderrTruncated, false);

    const zero = await runOk({ command: "sh", args: ["-c", "printf x"], maxOutputBytes: 0 });
    assert.equal(zero.stdout, "");
    assert.equal(zero.stdoutTruncated, true);
    assert.equal(zero.stderrTruncated, false, "nothing written to stderr");

    const cut = await runOk({ command: "sh", args: ["-c", "printf 'ab\\303\\251'"], maxOutputBytes: 3 });
    assert.equal(cut.stdout, "ab\uFFFD", "a cut UTF-8 sequence becomes U+FFFD");
    assert.equal(cut.stdoutTruncated, true);
  });

  test("output past the cap is drained: the child is not blocked or killed", async () => {
    const r = await runOk(
      { command: "sh", args: ["-c", "head -c 3000000 /dev/zero; echo done >&2"], maxOutputBytes: 10 },
      { timeout: 10000 },
    );
    assert.equal(r.exitCode, 0);
    assert.equal(r.timedOut, false);
    assert.equal(r.stdout, "\0".repeat(10));
    assert.equal(r.stdoutTruncated, true);
    assert.equal(r.stderr, "done\n");
  });

  test("output under the cap larger than a pipe buffer is captured whole", async () => {
    const r = await runOk({ command: "sh", args: ["-c", "head -c 300000 /dev/zero | tr '\\0' a"] }, { timeout: 10000 });
    assert.equal(r.stdout.length, 300000);
    assert.match(r.stdout, /^a+$/);
    assert.equal(r.stdoutTruncated, false);
  });

  test("maxOutputBytes is clamped to the config value", async () => {
    assertJson(await setConfig({ ...DEFAULTS, maxOutputBytes: 8 }));
    try {
      const r = await runOk({ command: "printf", args: ["0123456789abcdef"], maxOutputBytes: 1000 });
      assert.equal(r.stdout, "01234567");
      assert.equal(r.stdoutTruncated, true);
      const r2 = await runOk({ command: "printf", args: ["0123456789abcdef"] });
      assert.equal(r2.stdout, "01234567", "the config value is the default cap");
    } finally {
      await restoreDefaults();
    }
  });

  test("timeout kills a direct child: timedOut, exitCode null, partial output kept", async () => {
    const t0 = Date.now();
    const r = await runOk({ command: "sh", args: ["-c", "echo before; exec sleep 30"], timeoutMs: 500 });
    const elapsed = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.equal(r.stdout, "before\n");
    assert.ok(r.durationMs >= 450, `durationMs ${r.durationMs}`);
    assert.ok(elapsed < 500 + 1500, `answered after ${elapsed} ms`);
  });

  test("timeoutMs is clamped to maxRunTimeoutMs; 0 and absent mean the default", async () => {
    assertJson(await setConfig({ ...DEFAULTS, defaultRunTimeoutMs: 300, maxRunTimeoutMs: 300 }));
    try {
      for (const timeoutMs of [60000, 0, undefined]) {
        const t0 = Date.now();
        const r = await runOk({ command: "sleep", args: ["5"], timeoutMs }, { timeout: 4000 });
        const elapsed = Date.now() - t0;
        assert.equal(r.timedOut, true, `timeoutMs ${timeoutMs}`);
        assert.equal(r.exitCode, null);
        assert.ok(elapsed < 300 + 1500, `timeoutMs ${timeoutMs}: answered after ${elapsed} ms`);
      }
    } finally {
      await restoreDefaults();
    }
  });

  test("timeout kills the whole process group even when a grandchild holds the pipes (agentd)", async () => {
    const pidFile = path.join(work, "grandchild.pid");
    let gpid = 0;
    try {
      const t0 = Date.now();
      const r = await runOk(
        { command: "sh", args: ["-c", `echo before; sleep 30 & echo $! > ${pidFile}; wait`], timeoutMs: 500 },
        { timeout: 5000 },
      );
      const elapsed = Date.now() - t0;
      gpid = Number((await fsp.readFile(pidFile, "utf8")).trim());
      assert.equal(r.timedOut, true);
      assert.equal(r.exitCode, null);
      assert.equal(r.stdout, "before\n");
      assert.ok(elapsed < 500 + 1500, `answered after ${elapsed} ms`);
      await waitFor(() => pidGone(gpid), { timeout: 3000, what: `grandchild ${gpid} to die` });
    } finally {
      if (!gpid) gpid = Number((await fsp.readFile(pidFile, "utf8").catch(() => "0")).trim());
      killPidQuietly(gpid);
    }
  });

  test("timeout with a forked (non-exec) sleep returns within the timeout (agentd)", async () => {
    const t0 = Date.now();
    const r = await runOk({ command: "sh", args: ["-c", "echo before; sleep 30; echo after"], timeoutMs: 500 }, { timeout: 5000 });
    const elapsed = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.equal(r.stdout, "before\n");
    assert.ok(elapsed < 500 + 1500, `answered after ${elapsed} ms`);
  });

  test("a background grandchild that closed its output does not delay a normal exit", async () => {
    const pidFile = path.join(work, "bg.pid");
    try {
      const t0 = Date.now();
      const r = await runOk({ command: "sh", args: ["-c", `sleep 30 >/dev/null 2>&1 & echo $! > ${pidFile}; echo done`] });
      assert.equal(r.exitCode, 0);
      assert.equal(r.timedOut, false);
      assert.equal(r.stdout, "done\n");
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      killPidQuietly(Number((await fsp.readFile(pidFile, "utf8").catch(() => "0")).trim()));
    }
  });

  test("one-shot runs are not listed as processes", async () => {
    await runOk({ command: "true" });
    const list = assertJson(await api(d, "GET", "/v1/processes"));
    assert.deepEqual(list, { processes: [] });
  });

  test("empty or whitespace command → 400 invalid_request", async () => {
    for (const command of ["", "   ", "\t\n"]) {
      const p = assertProblem(await run({ command }), 400, "invalid_request", JSON.stringify(command));
      assert.match(p.detail, /command must not be empty/);
    }
  });

  test("unknown binary → 502 stream_error", async () => {
    const p = assertProblem(await run({ command: "agentd-no-such-binary-xyz" }), 502, "stream_error");
    assert.match(p.detail, /spawn/);
    assert.equal(typeof p.details?.message, "string");
  });

  test("spawn error detail names the command (agentd)", async () => {
    const p = assertProblem(await run({ command: "agentd-no-such-binary-xyz" }), 502, "stream_error");
    assert.match(p.detail, /agentd-no-such-binary-xyz/);
  });

  test("bad cwd (missing, or a file) → 502 stream_error", async () => {
    assertProblem(await run({ command: "true", cwd: path.join(work, "missing-dir") }), 502, "stream_error");
    const file = path.join(work, "a-file");
    await fsp.writeFile(file, "x");
    assertProblem(await run({ command: "true", cwd: file }), 502, "stream_error");
  });

  test("a non-executable file → 502 stream_error", async () => {
    const file = path.join(work, "not-exec.sh");
    await fsp.writeFile(file, "#!/bin/sh\necho hi\n", { mode: 0o644 });
    assertProblem(await run({ command: file }), 502, "stream_error");
  });
});
