// Hostile input, family 3: request bodies. A declared body that never comes, bodies built to
// exhaust a parser, bad encodings, and slow uploads that try to occupy the worker pool. Each
// case checks the status, that /v1/health answers within 100 ms from another connection, and
// that nothing changed on disk or in the process table.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import zlib from "node:zlib";
import {
  startDaemon,
  rawExchange,
  parseResponses,
  assertHealthWithin,
  assertProblem,
  snapshot,
  assertUnchanged,
  realTempDir,
  request,
  postJson,
  procCreate,
  procKillQuietly,
  waitFor,
  makeTar,
  q,
} from "./harness.mjs";
import { displayNum } from "./desktop_helpers.mjs";

let d;
let dir;
before(async () => {
  // A short body deadline so that an abandoned upload is seen to be released.
  d = await startDaemon({ env: { AGENTD_BODY_TIMEOUT_MS: "800" } });
  dir = await realTempDir("agentd-bodies-");
});
after(async () => {
  if (d) await d.stop();
});

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;
/** Snapshots of the test's directory and the daemon's cwd (where a process would run). */
const diskOf = async () => ({ dir: await snapshot(dir), cwd: await snapshot(d.cwd) });
async function assertDiskUnchanged(before) {
  await assertUnchanged(dir, before.dir);
  await assertUnchanged(d.cwd, before.cwd, "the daemon's cwd changed");
}
const listProcs = async () => (await request(d, { path: "/v1/processes" })).json().processes.map((p) => p.id);

describe("bodies that do not come", () => {
  test("a huge Content-Length and five bytes: the connection and its upload are released on timeout", async () => {
    const before = await snapshot(dir);
    const fds = fdCount(d.pid);
    const f = path.join(dir, "never");
    const r = await rawExchange(
      d,
      `PUT /v1/fs/file?path=${q(f)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000\r\n\r\nhello`,
      { timeout: 8000 },
    );
    assert.ok(r.closedByPeer, "the daemon closed the stalled connection");
    const [res] = parseResponses(r.text);
    assert.equal(res?.status, 408, `a 408 problem before the close, got ${r.text.slice(0, 200)}`);
    assert.match(res.head, /\r\ncontent-type: application\/problem\+json/i);
    assert.match(JSON.parse(res.body).detail, /no request body bytes arrived for 800 ms/);
    await waitFor(() => fdCount(d.pid) <= fds, { what: "the upload's descriptors to be closed" });
    await assertHealthWithin(d);
    await assertUnchanged(dir, before);
    assert.equal(fs.existsSync(f), false);
  });

  // The body deadline (AGENTD_BODY_TIMEOUT_MS, 800 ms here) answers 408 problem+json before the
  // close (before 2026-12-04 the connection was closed without a word).
  const stalled = [
    ["a Content-Length upload", (f) => `PUT /v1/fs/file?path=${q(f)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nhello`],
    ["a chunked upload", (f) => `PUT /v1/fs/file?path=${q(f)} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nhello`],
    ["a JSON body", () => `POST /v1/processes/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"command":`],
  ];
  for (const [name, bytes] of stalled) {
    test(`${name} that stalls gets 408 problem+json, then the close`, async () => {
      const disk = await diskOf();
      const f = path.join(dir, "stalled");
      const r = await rawExchange(d, bytes(f), { timeout: 8000 });
      assert.ok(r.closedByPeer, "the daemon closed the stalled connection");
      const rs = parseResponses(r.text);
      assert.deepEqual(rs.map((x) => x.status), [408], `a 408 before the close: ${JSON.stringify(r.text)}`);
      assert.match(rs[0].head, /content-type: application\/problem\+json/i);
      assert.match(rs[0].head, /\r\nconnection: close/i);
      const p = JSON.parse(rs[0].body);
      assert.equal(p.status, 408);
      assert.equal(p.type, "urn:sandbox-agent:error:timeout", "the same type as the header deadline's 408");
      assert.ok(p.detail.length > 10, p.detail);
      assert.equal(fs.existsSync(f), false, "no partial upload lands");
      await assertHealthWithin(d);
      await assertDiskUnchanged(disk);
    });
  }

  test("a tar batch upload that stops: 408, and nothing is left behind", async () => {
    const target = path.join(dir, "stalled-tar");
    fs.mkdirSync(target);
    const before = await snapshot(dir);
    const fds = fdCount(d.pid);
    const head = `POST /v1/fs/upload-batch?path=${q(target)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-tar\r\nContent-Length: 1048576\r\n\r\n`;
    const r = await rawExchange(d, head + "x".repeat(512), { timeout: 8000 });
    assert.ok(r.closedByPeer);
    assert.deepEqual(parseResponses(r.text).map((x) => x.status), [408]);
    await waitFor(() => fdCount(d.pid) <= fds, { what: "the upload's descriptors to be closed" });
    await assertHealthWithin(d);
    await assertUnchanged(dir, before);
    assert.deepEqual(fs.readdirSync(target), []);
  });

  test("a huge Content-Length on a JSON route is refused before any byte of it", async () => {
    const r = await rawExchange(
      d,
      `POST /v1/processes/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n`,
      { until: (t) => /\r\n\r\n\{.*\}$/s.test(t) },
    );
    assert.deepEqual(parseResponses(r.text).map((x) => x.status), [413]);
    await assertHealthWithin(d);
  });
});

describe("bodies built to exhaust a parser", () => {
  test("JSON nested 10,000 deep is 400, at once", async () => {
    const disk = await diskOf();
    const deep = "[".repeat(10000) + "]".repeat(10000);
    const res = await postJson(d, "/v1/processes/run", deep);
    const p = assertProblem(res, 400, "invalid_request");
    assert.match(p.detail, /nesting is deeper than 64/);
    await assertHealthWithin(d);
    await assertDiskUnchanged(disk);
  });

  test("a JSON object with 100,000 keys is answered quickly and runs nothing", async () => {
    const before = await listProcs();
    const disk = await diskOf();
    const keys = {};
    for (let i = 0; i < 100000; i++) keys[`k${i}`] = i;
    const res = await postJson(d, "/v1/processes", keys);
    assertProblem(res, 422, "invalid_request"); /* no `command`: the reference's 422 */
    await assertHealthWithin(d);
    assert.deepEqual(await listProcs(), before, "no process was created");
    await assertDiskUnchanged(disk);
  });

  test("bad base64 on process input is 400 and writes nothing", async () => {
    const p = await procCreate(d, { command: "cat" });
    try {
      // (Unpadded input such as "QQ" is accepted: docs/api/processes.md.)
      for (const data of ["!!!", "QUJD=", "QQ=", "Q===", "QUJDRA==QUJD", "\u00e9t\u00e9", "QQ==\n"]) {
        const res = await postJson(d, `/v1/processes/${p.id}/input`, { data, encoding: "base64" });
        const prob = assertProblem(res, 400, "invalid_request", JSON.stringify(data));
        assert.match(prob.detail, /base64/);
      }
      const logs = (await request(d, { path: `/v1/processes/${p.id}/logs` })).json();
      assert.deepEqual(logs.entries, [], "cat received nothing");
      assert.equal((await request(d, { path: `/v1/processes/${p.id}` })).json().status, "running");
      await assertHealthWithin(d);
    } finally {
      await procKillQuietly(d, p.id);
    }
  });
});

describe("slow uploads do not starve the worker pool", () => {
  // An upload holds a pool thread only while one of its 1 MiB buffers is being written, never
  // while it waits for the client, so slow clients cannot occupy the pool (no per-client share
  // is needed: docs/ARCHITECTURE.md, Limits).
  test("16 uploads sending a byte every 100 ms: health, pool-backed requests and a screenshot still answer", async () => {
    const started = await postJson(d, "/v1/desktop/start", { width: 640, height: 480, displayNum: displayNum() });
    assert.equal(started.status, 200, started.text);
    const slow = [];
    for (let i = 0; i < 16; i++) {
      const s = net.connect(d.port, "127.0.0.1");
      s.on("error", () => {});
      s.write(`PUT /v1/fs/file?path=${q(path.join(dir, `slow${i}`))} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`);
      slow.push(s);
    }
    const timer = setInterval(() => slow.forEach((s) => s.write("x")), 100);
    try {
      const t0 = Date.now();
      let n = 0;
      while (Date.now() - t0 < 1500) {
        await assertHealthWithin(d, 0, `probe ${n}`);
        // stat and a small upload run on the pool.
        const st = await request(d, { path: `/v1/fs/stat?path=${q(dir)}`, timeout: 1000 });
        assert.equal(st.status, 200);
        const up = await request(d, { method: "PUT", path: `/v1/fs/file?path=${q(path.join(dir, "quick"))}`, body: `n=${n}`, timeout: 1000 });
        assert.equal(up.status, 200, up.text);
        // Capture runs on the X thread and encoding on the pool.
        const shot = await request(d, { path: "/v1/desktop/screenshot?format=png", timeout: 2000 });
        assert.equal(shot.status, 200, shot.text);
        assert.equal(shot.headers["content-type"], "image/png");
        n++;
      }
      assert.ok(n >= 5, `${n} rounds`);
    } finally {
      clearInterval(timer);
      for (const s of slow) s.destroy();
      await postJson(d, "/v1/desktop/stop", {});
    }
    for (let i = 0; i < 16; i++) assert.equal(fs.existsSync(path.join(dir, `slow${i}`)), false, "no partial upload lands");
  });
});

describe("long jobs do not starve the worker pool", () => {
  // A tar's validation and extraction hold a pool thread for as long as they take. They go
  // through the bulk lane (stream/work.c): at most the pool's 4 threads less
  // LIM_WORK_BULK_RESERVE (2) run at once, so short jobs always find a thread.
  test("four 512 MiB tar extractions at once: at most two run together, stat and a screenshot still answer", async () => {
    const started = await postJson(d, "/v1/desktop/start", { width: 640, height: 480, displayNum: displayNum() });
    assert.equal(started.status, 200, started.text);
    const SIZE = 512 << 20;
    const tgz = zlib.gzipSync(makeTar([{ name: "big", data: Buffer.alloc(0), size: SIZE }, Buffer.alloc(SIZE)]), { level: 1 });
    // In memory when the machine has a tmpfs: 2 GiB of output need not reach a disk.
    const base = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : dir, "agentd-bulk-"));
    const targets = [0, 1, 2, 3].map((i) => path.join(base, `t${i}`));
    targets.forEach((t) => fs.mkdirSync(t));
    // Each running extraction holds its entry's temporary open inside its target.
    const extracting = () => {
      let n = 0;
      for (const f of fs.readdirSync(`/proc/${d.pid}/fd`)) {
        try {
          if (fs.readlinkSync(`/proc/${d.pid}/fd/${f}`).startsWith(base + "/")) n++;
        } catch {}
      }
      return n;
    };
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, extracting())), 5);
    try {
      const uploads = targets.map((t) =>
        request(d, { method: "POST", path: `/v1/fs/upload-batch?path=${q(t)}`, headers: { "content-type": "application/x-tar" }, body: tgz, timeout: 120000 }),
      );
      let done = 0;
      uploads.forEach((u) => u.finally(() => done++).catch(() => {}));
      let probes = 0;
      while (done < targets.length) {
        const st = await request(d, { path: `/v1/fs/stat?path=${q(base)}`, timeout: 1000 });
        assert.equal(st.status, 200);
        const shot = await request(d, { path: "/v1/desktop/screenshot?format=png", timeout: 2000 });
        assert.equal(shot.status, 200, shot.text);
        await assertHealthWithin(d, 0, `probe ${probes}`);
        probes++;
      }
      for (const r of await Promise.all(uploads)) assert.equal(r.status, 200, r.text);
      for (const t of targets) assert.equal(fs.statSync(path.join(t, "big")).size, SIZE);
      assert.ok(most >= 1 && most <= 2, `at most 2 extractions at once, saw ${most}`);
      assert.ok(probes >= 2, `${probes} probes while the extractions ran`);
    } finally {
      clearInterval(sampler);
      fs.rmSync(base, { recursive: true, force: true });
      await postJson(d, "/v1/desktop/stop", {});
    }
  });
});
