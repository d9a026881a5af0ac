// Process API part 2: long-lived processes — create, list, get, stop/kill, delete, process
// groups, descriptor hygiene, the concurrency limit. API.md sections 4.2 and 4.4-4.8.
//
// Tests whose name ends in "(agentd)" check an agentd improvement over the reference (own
// process group per child, no descriptor leaks, group-wide signals, numeric list order,
// TERM for tty children, problem+json for framework errors) and are expected to fail when the
// file is run against the reference server (AGENTD_REF=1).

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
  pidStat,
  postJson,
  procCreate,
  procKillQuietly,
  procLogBytes,
  procLogs,
  procWaitExit,
  procWaitOutput,
  realTempDir,
  waitFor,
  startServer,
  PROC_CONFIG_DEFAULTS,
} from "./harness.mjs";

const start = startServer;

const RUNNING_KEYS = ["args", "command", "createdAtMs", "id", "interactive", "owner", "pid", "status", "tty"];
const DEFAULTS = PROC_CONFIG_DEFAULTS;

const idNum = (id) => Number(/^proc_(\d+)$/.exec(id)?.[1]);

/** Read a pid written by a child into `file` (poll until it is there). */
async function readPidFile(file, { timeout = 5000 } = {}) {
  return waitFor(
    async () => {
      const text = await fsp.readFile(file, "utf8").catch(() => "");
      return /^\d+\n/.test(text) ? Number(text.trim()) : null;
    },
    { timeout, what: `pid in ${file}` },
  );
}

describe("long-lived processes", () => {
  let d;
  let work;
  const cleanup = new Set();

  before(async () => {
    d = await start({ env: { TERM: "dumb" } });
    work = await realTempDir("agentd-proc-life-");
  });

  after(async () => {
    for (const id of cleanup) await procKillQuietly(d, id);
    if (d) await d.stop();
  });

  async function create(body) {
    const info = await procCreate(d, body);
    cleanup.add(info.id);
    return info;
  }
  const get = async (id) => assertJson(await api(d, "GET", `/v1/processes/${id}`));
  const signal = (id, which, query = "", opts = {}) => api(d, "POST", `/v1/processes/${id}/${which}${query}`, opts);

  test("create (pipe): the running record, then the exited record", async () => {
    const before = Date.now();
    const info = await create({ command: "sh", args: ["-c", "read x; exit 5"] });
    assert.deepEqual(Object.keys(info).sort(), RUNNING_KEYS, "no cwd/exitCode/exitedAtMs while running without cwd");
    assert.match(info.id, /^proc_\d+$/);
    assert.equal(info.command, "sh");
    assert.deepEqual(info.args, ["-c", "read x; exit 5"]);
    assert.equal(info.tty, false);
    assert.equal(info.interactive, false);
    assert.equal(info.owner, "user");
    assert.equal(info.status, "running");
    assert.ok(Number.isInteger(info.pid) && info.pid > 1);
    assert.ok(info.createdAtMs >= before - 1000 && info.createdAtMs <= Date.now() + 1000, `createdAtMs ${info.createdAtMs}`);
    assert.deepEqual(await get(info.id), info, "GET returns the same record");
    assert.ok(!pidGone(info.pid), "the pid is a live process");

    // stdin is a pipe even with interactive:false
    assertJson(await postJson(d, `/v1/processes/${info.id}/input`, { data: "\n", encoding: "utf8" }));
    const done = await procWaitExit(d, info.id);
    assert.equal(done.status, "exited");
    assert.equal(done.exitCode, 5);
    assert.ok(!("pid" in done), "pid omitted once exited");
    assert.ok(done.exitedAtMs >= done.createdAtMs);
    assert.equal(done.createdAtMs, info.createdAtMs);
  });

  test("create echoes cwd and interactive; args default to []", async () => {
    const a = await create({ command: "true" });
    assert.deepEqual(a.args, []);
    assert.ok(!("cwd" in a), "cwd omitted when not given");
    const b = await create({ command: "pwd", cwd: work, interactive: true, owner: "desktop" });
    assert.equal(b.cwd, work);
    assert.equal(b.interactive, true);
    assert.equal(b.owner, "user", "owner in the request is ignored");
    await procWaitOutput(d, b.id, `${work}\n`);
    const c = await create({ command: "pwd" });
    await procWaitOutput(d, c.id, `${d.cwd}\n`, { what: "default cwd is the daemon cwd" });
  });

  test("run's own fields are unknown fields for create (ignored, as the reference does), and back", async () => {
    const a = await create({ command: "true", timeoutMs: "x", maxOutputBytes: -1 });
    assert.equal(a.status, "running");
    const r = assertJson(await postJson(d, "/v1/processes/run", { command: "true", tty: "x", interactive: 1 }));
    assert.equal(r.exitCode, 0);
  });

  test("ids count up", async () => {
    const a = await create({ command: "true" });
    const b = await create({ command: "true" });
    assert.ok(idNum(b.id) > idNum(a.id), `${a.id} then ${b.id}`);
  });

  test("a signal death omits exitCode", async () => {
    const info = await create({ command: "sh", args: ["-c", "kill -9 $$"] });
    const done = await procWaitExit(d, info.id);
    assert.ok(!("exitCode" in done), `exitCode omitted for a signal death: ${JSON.stringify(done)}`);
    assert.ok(!("pid" in done));
  });

  test("env is merged over the daemon environment", async () => {
    const info = await create({ command: "sh", args: ["-c", 'echo "FOO=$FOO HOME=$HOME"'], env: { FOO: "bar" } });
    await procWaitOutput(d, info.id, `FOO=bar HOME=${d.home}\n`);
  });

  test("tty: pty stream, 80x24, session leader", async () => {
    const info = await create({
      command: "sh",
      args: ["-c", 'echo "size=$(stty size) ids=$$ $(cut -d" " -f5,6 /proc/$$/stat)"'],
      tty: true,
    });
    assert.equal(info.tty, true);
    const text = await procWaitOutput(d, info.id, (t) => /ids=\d+ \d+ \d+/.test(t));
    assert.match(text, /size=24 80/);
    const [, pid, pgid, sid] = /ids=(\d+) (\d+) (\d+)/.exec(text);
    assert.equal(pid, String(info.pid));
    assert.equal(pgid, pid, "tty child leads its process group");
    assert.equal(sid, pid, "tty child leads its session");
    await procWaitExit(d, info.id);
  });

  test("tty: a child that closes its terminal and goes on is not hung up (agentd)", async () => {
    // `cat` closes 0-2 just before it exits; agentd used to close the PTY master on the EIO
    // that follows, which hung the terminal up and killed the child with SIGHUP (exit 129 in
    // `agentd exec -t`). The master now stays open until the child is reaped.
    const info = await create({ command: "sh", args: ["-c", "exec 0<&- 1>&- 2>&-; sleep 0.5; exit 6"], tty: true });
    const done = await procWaitExit(d, info.id);
    assert.equal(done.exitCode, 6, `not killed by SIGHUP: ${JSON.stringify(done)}`);
  });

  test("tty children get TERM=xterm-256color unless env sets TERM (agentd)", async () => {
    const a = await create({ command: "sh", args: ["-c", 'echo "T=$TERM."'], tty: true });
    const b = await create({ command: "sh", args: ["-c", 'echo "T=$TERM."'], tty: true, env: { TERM: "vt100" } });
    await procWaitOutput(d, b.id, "T=vt100.");
    await procWaitOutput(d, a.id, "T=xterm-256color.", { timeout: 3000 });
  });

  test("every pipe child runs in its own process group (agentd)", async () => {
    const info = await create({ command: "sh", args: ["-c", 'echo "ids=$$ $(cut -d" " -f5 /proc/$$/stat)"; read x'] });
    const text = await procWaitOutput(d, info.id, (t) => /ids=\d+ \d+/.test(t));
    const [, pid, pgid] = /ids=(\d+) (\d+)/.exec(text);
    assert.equal(pid, String(info.pid));
    assert.equal(pgid, pid, "pgid == pid");
    assert.notEqual(Number(pgid), pidStat(d.pid)?.pgrp, "not the daemon's group");
    await signal(info.id, "kill");
  });

  test("no daemon descriptor leaks into pipe or tty children (agentd)", async () => {
    // a live tty process and an open connection make stray descriptors likely
    const holder = await create({ command: "sleep", args: ["30"], tty: true });
    // ls lists the descriptors of the shell itself ($$), which opened nothing
    const script = "echo FDS; ls /proc/$$/fd; echo END";
    const pipe = await create({ command: "sh", args: ["-c", script] });
    const tty = await create({ command: "sh", args: ["-c", script], tty: true });
    for (const info of [pipe, tty]) {
      const text = await procWaitOutput(d, info.id, (t) => /FDS[\s\S]*END/.test(t));
      const fds = /FDS([\s\S]*)END/.exec(text)[1].trim().split(/\s+/).map(Number).sort((x, y) => x - y);
      assert.deepEqual(fds, [0, 1, 2], `${info.tty ? "tty" : "pipe"} child descriptors: ${fds.join(" ")}`);
    }
    await signal(holder.id, "kill");
  });

  test("GET /v1/processes lists running and exited processes sorted by numeric id (agentd)", async () => {
    const made = [];
    for (let i = 0; i < 11; i++) made.push((await create({ command: "true" })).id);
    for (const id of made) await procWaitExit(d, id);
    const { processes } = assertJson(await api(d, "GET", "/v1/processes"));
    const ids = processes.map((p) => p.id);
    for (const id of made) assert.ok(ids.includes(id), `${id} listed`);
    assert.ok(ids.some((id) => idNum(id) < 10) && ids.some((id) => idNum(id) >= 10), `ids ${ids}`);
    const sorted = [...ids].sort((x, y) => idNum(x) - idNum(y));
    assert.deepEqual(ids, sorted, "numeric order: proc_2 before proc_10");
  });

  test("GET /v1/processes: records match GET by id; owner filter", async () => {
    const info = await create({ command: "sleep", args: ["30"] });
    const all = assertJson(await api(d, "GET", "/v1/processes"));
    const listed = all.processes.find((p) => p.id === info.id);
    assert.deepEqual(listed, await get(info.id));
    assert.ok(all.processes.every((p) => p.owner === "user"));
    const user = assertJson(await api(d, "GET", "/v1/processes?owner=user"));
    assert.deepEqual(user.processes.map((p) => p.id), all.processes.map((p) => p.id));
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/processes?owner=desktop")), { processes: [] });
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/processes?owner=system")), { processes: [] });
    await signal(info.id, "kill");
  });

  test("GET /v1/processes?owner=bogus → 400 invalid_request problem (agentd)", async () => {
    assertProblem(await api(d, "GET", "/v1/processes?owner=bogus"), 400, "invalid_request");
    assertProblem(await api(d, "GET", "/v1/processes?owner=User"), 400, "invalid_request");
  });

  test("unknown process → 404 not_found with details", async () => {
    const p = assertProblem(await api(d, "GET", "/v1/processes/proc_999999"), 404, "not_found");
    assert.deepEqual(p.details, { id: "proc_999999", resource: "process" });
    assertProblem(await api(d, "GET", "/v1/processes/nope"), 404, "not_found");
  });

  test("stop (default wait) ends a plain process and returns the exited record", async () => {
    const info = await create({ command: "sleep", args: ["30"] });
    const t0 = Date.now();
    const rec = assertJson(await signal(info.id, "stop"));
    assert.ok(Date.now() - t0 < 1500, "returns as soon as the process exited");
    assert.equal(rec.id, info.id);
    assert.equal(rec.status, "exited");
    assert.ok(!("exitCode" in rec), "signal death: exitCode omitted");
    assert.ok(!("pid" in rec));
    // stop/kill on an exited process: 200 with the record
    assert.deepEqual(assertJson(await signal(info.id, "stop")), rec);
    assert.deepEqual(assertJson(await signal(info.id, "kill")), rec);
  });

  test("kill (default wait) ends a process; waitMs=0 returns at once", async () => {
    const a = await create({ command: "sleep", args: ["30"] });
    const rec = assertJson(await signal(a.id, "kill"));
    assert.equal(rec.status, "exited");

    const b = await create({ command: "sh", args: ["-c", 'trap "" TERM; echo ready; sleep 30'] });
    await procWaitOutput(d, b.id, "ready");
    const t0 = Date.now();
    const r0 = assertJson(await signal(b.id, "stop", "?waitMs=0"));
    assert.ok(Date.now() - t0 < 500, `waitMs=0 took ${Date.now() - t0} ms`);
    assert.equal(r0.status, "running");
    const t1 = Date.now();
    const k0 = assertJson(await signal(b.id, "kill", "?waitMs=0"));
    assert.ok(Date.now() - t1 < 500);
    assert.ok(["running", "exited"].includes(k0.status));
    await procWaitExit(d, b.id, { timeout: 3000 });
  });

  test("a TERM-ignoring process survives stop (waitMs=300, then default ≈2 s); kill ends it", async () => {
    const info = await create({ command: "sh", args: ["-c", 'trap "" TERM; echo ready; sleep 30'] });
    await procWaitOutput(d, info.id, "ready");
    let t0 = Date.now();
    const r1 = assertJson(await signal(info.id, "stop", "?waitMs=300"));
    let elapsed = Date.now() - t0;
    assert.equal(r1.status, "running");
    assert.equal(r1.pid, info.pid);
    assert.ok(elapsed >= 250 && elapsed < 1500, `waitMs=300 took ${elapsed} ms`);

    t0 = Date.now();
    const r2 = assertJson(await signal(info.id, "stop"), 200);
    elapsed = Date.now() - t0;
    assert.equal(r2.status, "running");
    assert.ok(elapsed >= 1500 && elapsed < 4000, `default wait took ${elapsed} ms`);

    const r3 = assertJson(await signal(info.id, "kill", "?waitMs=3000"));
    assert.equal(r3.status, "exited");
    assert.ok(!("exitCode" in r3), "signal death: exitCode omitted");
    await waitFor(() => pidGone(info.pid), { timeout: 3000, what: "pid gone" });
  });

  for (const which of ["stop", "kill"]) {
    test(`${which} signals the whole process group: the grandchild dies too (agentd)`, async () => {
      const file = path.join(work, `${which}-grandchild.pid`);
      const info = await create({ command: "sh", args: ["-c", `sleep 300 & echo $! > ${file}; wait`] });
      const gpid = await readPidFile(file);
      try {
        assert.ok(!pidGone(gpid));
        const rec = assertJson(await signal(info.id, which));
        assert.equal(rec.status, "exited");
        await waitFor(() => pidGone(gpid), { timeout: 3000, what: `grandchild ${gpid} gone` });
      } finally {
        killPidQuietly(gpid);
      }
    });
  }

  // agentd is a child subreaper (PID 1 in a container is one by nature): a grandchild whose
  // parent is gone is re-parented to agentd, and agentd reaps it when it dies, so killed
  // process groups and daemonising tools leave no zombies behind for the daemon's lifetime.
  for (const [name, kill] of [
    ["its parent exits", false],
    ["its process group is killed", true],
  ]) {
    test(`a grandchild orphaned when ${name} is adopted and reaped by agentd (agentd)`, async () => {
      const file = path.join(work, `orphan-${kill ? "kill" : "exit"}.pid`);
      // exit: the shell leaves a sleep behind, which the test sees adopted, then kills.
      // kill: the group's SIGKILL takes shell and sleep; the sleep outlives its parent's exit
      // by a moment or dies first, and is re-parented to agentd as a zombie either way.
      const script = kill
        ? `sleep 300 & echo $! > ${file}; wait`
        : `(sleep 300 & echo $! > ${file}) ; exit 0`;
      const info = await create({ command: "sh", args: ["-c", script] });
      const gpid = await readPidFile(file);
      try {
        if (kill) {
          assertJson(await signal(info.id, "kill"));
        }
        await procWaitExit(d, info.id);
        if (!kill) {
          await waitFor(() => pidStat(gpid)?.ppid === d.pid, { timeout: 3000, what: `${gpid} adopted by agentd` });
          process.kill(gpid, "SIGKILL");
        }
        // Reaped: the pid disappears; a zombie ("Z") that stays would fail here.
        await waitFor(() => pidStat(gpid) === null, { timeout: 3000, what: `${gpid} reaped, not a zombie` });
      } finally {
        killPidQuietly(gpid);
      }
    });
  }

  test("a fork bomb inside the limit: kill takes all 50 children down (agentd)", async () => {
    const file = path.join(work, "bomb.pids");
    const info = await create({
      command: "sh",
      args: ["-c", `for i in $(seq 50); do sleep 30 & echo $! >> ${file}; done; echo ready; wait`],
    });
    let pids = [];
    try {
      await procWaitOutput(d, info.id, "ready");
      pids = (await fsp.readFile(file, "utf8")).trim().split(/\s+/).map(Number);
      assert.equal(pids.length, 50);
      const rec = assertJson(await signal(info.id, "kill"));
      assert.equal(rec.status, "exited");
      await waitFor(() => pids.every(pidGone), {
        timeout: 3000,
        what: "all 50 children gone",
      });
    } finally {
      for (const p of pids) killPidQuietly(p);
    }
  });

  test("DELETE: running → 409, exited → 204 and the record and logs are gone, again → 404", async () => {
    const info = await create({ command: "sh", args: ["-c", "echo hi; read x"] });
    await procWaitOutput(d, info.id, "hi");
    const c = assertProblem(await api(d, "DELETE", `/v1/processes/${info.id}`), 409, "conflict");
    assert.match(c.detail, /still running/);
    assert.equal((await get(info.id)).status, "running", "a refused delete changes nothing");

    assertJson(await signal(info.id, "kill"));
    const res = await api(d, "DELETE", `/v1/processes/${info.id}`);
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
    cleanup.delete(info.id);
    assertProblem(await api(d, "GET", `/v1/processes/${info.id}`), 404, "not_found");
    assertProblem(await api(d, "GET", `/v1/processes/${info.id}/logs`), 404, "not_found");
    assertProblem(await api(d, "DELETE", `/v1/processes/${info.id}`), 404, "not_found");
    const { processes } = assertJson(await api(d, "GET", "/v1/processes"));
    assert.ok(!processes.some((p) => p.id === info.id), "deleted processes disappear from the list");
  });

  test("logs of an exited process stay readable until deleted", async () => {
    const info = await create({ command: "sh", args: ["-c", "echo kept"] });
    await procWaitExit(d, info.id);
    assert.equal(procLogBytes((await procLogs(d, info.id)).entries).toString(), "kept\n");
  });
});

describe("concurrency limit and spawn failures", () => {
  let d;
  const ids = [];

  before(async () => {
    d = await start();
  });

  after(async () => {
    for (const id of ids) await procKillQuietly(d, id);
    if (d) await d.stop();
  });

  test("the limit counts running processes: third → 409; one-shot runs are not counted", async () => {
    assertJson(await postJson(d, "/v1/processes/config", { ...DEFAULTS, maxConcurrentProcesses: 2 }));
    for (let i = 0; i < 2; i++) ids.push((await procCreate(d, { command: "sleep", args: ["30"] })).id);
    const p = assertProblem(await postJson(d, "/v1/processes", { command: "sleep", args: ["30"] }), 409, "conflict");
    assert.match(p.detail, /max concurrent process limit reached \(2\)/);
    assertProblem(await postJson(d, "/v1/processes", { command: "true", tty: true }), 409, "conflict", "tty too");

    const r = assertJson(await postJson(d, "/v1/processes/run", { command: "echo", args: ["one-shot"] }));
    assert.equal(r.stdout, "one-shot\n");

    // exited processes free their slot (their records remain)
    assertJson(await api(d, "POST", `/v1/processes/${ids[0]}/kill`));
    const third = await procCreate(d, { command: "sleep", args: ["30"] });
    ids.push(third.id);
    assert.equal(third.status, "running");
    for (const id of ids) assertJson(await api(d, "POST", `/v1/processes/${id}/kill`));
    assertJson(await postJson(d, "/v1/processes/config", DEFAULTS));
  });

  test("spawn failures → 502 stream_error (pipe and tty), nothing left running", async () => {
    for (const tty of [false, true]) {
      assertProblem(await postJson(d, "/v1/processes", { command: "agentd-no-such-binary-xyz", tty }), 502, "stream_error", `tty ${tty}`);
      assertProblem(await postJson(d, "/v1/processes", { command: "true", tty, cwd: "/nonexistent-agentd-dir" }), 502, "stream_error", `cwd tty ${tty}`);
    }
    const { processes } = assertJson(await api(d, "GET", "/v1/processes"));
    assert.ok(processes.every((p) => p.status === "exited"), JSON.stringify(processes));
  });

  test("empty command → 400 invalid_request", async () => {
    for (const tty of [false, true]) {
      const p = assertProblem(await postJson(d, "/v1/processes", { command: " ", tty }), 400, "invalid_request");
      assert.match(p.detail, /command must not be empty/);
    }
  });
});
