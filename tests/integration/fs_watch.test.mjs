// GET /v1/fs/watch: Server-Sent Events for changes below a directory.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import path from "node:path";
import { api, assertProblem, openSse, postJson, q, realTempDir, startDaemon } from "./harness.mjs";

let d;
let dt;

before(async () => {
  d = await startDaemon();
  dt = await startDaemon({ token: "watch-token" });
});

after(async () => {
  await d.stop();
  await dt.stop();
});

const parse = (ev) => JSON.parse(ev.data);

/** Open a watch and wait for its `ready` event. */
async function watch(dir, { recursive = true, daemon = d } = {}) {
  const s = await openSse(daemon, `/v1/fs/watch?path=${q(dir)}${recursive ? "&recursive=true" : ""}`);
  assert.equal(s.status, 200, s.text);
  assert.match(String(s.headers["content-type"]), /^text\/event-stream/);
  const ready = await s.next(() => true, { what: "first event" });
  assert.equal(ready.event, "ready", "the first event is ready");
  const info = parse(ready);
  assert.equal(info.path, dir);
  return s;
}

/** Wait for an event whose JSON data matches all fields of `want`. */
function expectEvent(s, want, from = 0) {
  return s.next(
    (ev) => {
      if (ev.event === "ready") return false;
      let data;
      try {
        data = parse(ev);
      } catch {
        return false;
      }
      return Object.entries(want).every(([k, v]) => data[k] === v) && ev.event === data.type;
    },
    { what: `event ${JSON.stringify(want)}`, timeout: 5000, from },
  );
}

describe("fs watch", () => {
  test("create, modify, mkdir, nested create, move, delete (recursive)", async () => {
    const W = await realTempDir("agentd-watch-");
    const s = await watch(W);
    try {
      const a = path.join(W, "a.txt");
      await fsp.writeFile(a, "1");
      await expectEvent(s, { type: "create", path: a, entryType: "file" });
      await fsp.appendFile(a, "2");
      await expectEvent(s, { type: "modify", path: a, entryType: "file" });

      const sub = path.join(W, "sub");
      await fsp.mkdir(sub);
      await expectEvent(s, { type: "create", path: sub, entryType: "directory" });
      const b = path.join(sub, "b.txt");
      await fsp.writeFile(b, "b");
      await expectEvent(s, { type: "create", path: b, entryType: "file" });

      const c = path.join(sub, "c.txt");
      await fsp.rename(a, c);
      const mv = parse(await expectEvent(s, { type: "move", path: c }));
      assert.equal(mv.from, a);
      assert.equal(mv.entryType, "file");

      const sub2 = path.join(W, "sub2");
      await fsp.rename(sub, sub2);
      assert.equal(parse(await expectEvent(s, { type: "move", path: sub2 })).from, sub);
      // the watch follows the renamed directory
      const n = s.events.length;
      await fsp.writeFile(path.join(sub2, "after-move.txt"), "x");
      await expectEvent(s, { type: "create", path: path.join(sub2, "after-move.txt") }, n);

      await fsp.unlink(path.join(sub2, "b.txt"));
      await expectEvent(s, { type: "delete", path: path.join(sub2, "b.txt") });
      await fsp.rm(sub2, { recursive: true });
      await expectEvent(s, { type: "delete", path: sub2, entryType: "directory" });

      // every event carries a JSON body with type and path; ids increase
      const ids = [];
      for (const ev of s.events.slice(1)) {
        const data = parse(ev);
        assert.equal(typeof data.path, "string");
        assert.ok(["create", "modify", "delete", "move"].includes(data.type), ev.data);
        if (ev.id !== undefined) ids.push(Number(ev.id));
      }
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids increase: ${ids}`);
    } finally {
      s.close();
    }
  });

  test("moves into and out of the watched tree", async () => {
    const base = await realTempDir("agentd-watch-mv-");
    const W = path.join(base, "watched");
    const elsewhere = path.join(base, "elsewhere");
    await fsp.mkdir(W);
    await fsp.mkdir(elsewhere);
    await fsp.writeFile(path.join(elsewhere, "in.txt"), "in");
    const s = await watch(W);
    try {
      await fsp.rename(path.join(elsewhere, "in.txt"), path.join(W, "in.txt"));
      await expectEvent(s, { type: "create", path: path.join(W, "in.txt") });
      await fsp.rename(path.join(W, "in.txt"), path.join(elsewhere, "out.txt"));
      await expectEvent(s, { type: "delete", path: path.join(W, "in.txt") });
    } finally {
      s.close();
    }
  });

  test("directories created in one go are all reported (mkdir -p)", async () => {
    const W = await realTempDir("agentd-watch-deep-");
    const s = await watch(W);
    try {
      await fsp.mkdir(path.join(W, "p", "q", "r"), { recursive: true });
      await fsp.writeFile(path.join(W, "p", "q", "r", "leaf.txt"), "leaf");
      await expectEvent(s, { type: "create", path: path.join(W, "p"), entryType: "directory" });
      await expectEvent(s, { type: "create", path: path.join(W, "p", "q"), entryType: "directory" });
      await expectEvent(s, { type: "create", path: path.join(W, "p", "q", "r"), entryType: "directory" });
      await expectEvent(s, { type: "create", path: path.join(W, "p", "q", "r", "leaf.txt") });
    } finally {
      s.close();
    }
  });

  test("changes made through the API are reported with real paths only", async () => {
    const W = await realTempDir("agentd-watch-api-");
    const s = await watch(W);
    try {
      const f = path.join(W, "api.txt");
      assert.equal((await api(d, "PUT", `/v1/fs/file?path=${q(f)}`, { body: "one" })).status, 200);
      await s.next((ev) => ev.event !== "ready" && parse(ev).path === f, { what: `an event for ${f}` });
      assert.equal((await api(d, "PUT", `/v1/fs/file?path=${q(f)}`, { body: "two" })).status, 200);
      assert.equal((await api(d, "POST", `/v1/fs/mkdir?path=${q(path.join(W, "dir"))}`)).status, 200);
      await expectEvent(s, { type: "create", path: path.join(W, "dir"), entryType: "directory" });
      const g = path.join(W, "dir", "moved.txt");
      assert.equal((await postJson(d, "/v1/fs/move", { from: f, to: g })).status, 200);
      assert.equal(parse(await expectEvent(s, { type: "move", path: g })).from, f);
      assert.equal((await api(d, "DELETE", `/v1/fs/entry?path=${q(path.join(W, "dir"))}&recursive=true`)).status, 200);
      await expectEvent(s, { type: "delete", path: path.join(W, "dir"), entryType: "directory" });
      // No event may name a path that never existed for the client: anonymous O_TMPFILE inodes
      // ("#1234") or agentd's own upload temporaries.
      const bogus = s.events
        .slice(1)
        .map((ev) => parse(ev))
        .filter((e) => /\/#\d+$/.test(e.path) || /\.agentd-upload-/.test(e.path) || /\.agentd-upload-/.test(e.from || ""));
      assert.deepEqual(bogus, [], "events for internal temporary files");
    } finally {
      s.close();
    }
  });

  test("non-recursive watch sees direct children only", async () => {
    const W = await realTempDir("agentd-watch-flat-");
    await fsp.mkdir(path.join(W, "existing"));
    const s = await watch(W, { recursive: false });
    try {
      await fsp.writeFile(path.join(W, "existing", "deep.txt"), "deep");
      await fsp.writeFile(path.join(W, "top.txt"), "top");
      await expectEvent(s, { type: "create", path: path.join(W, "top.txt") });
      assert.ok(
        !s.events.slice(1).some((ev) => parse(ev).path === path.join(W, "existing", "deep.txt")),
        "no event from a subdirectory",
      );
    } finally {
      s.close();
    }
  });

  test("bad requests", async () => {
    const W = await realTempDir("agentd-watch-bad-");
    await fsp.writeFile(path.join(W, "file"), "f");
    const cases = [
      [`/v1/fs/watch?path=${q(path.join(W, "missing"))}&recursive=true`, 404, "not_found"],
      [`/v1/fs/watch?path=${q(path.join(W, "file"))}&recursive=true`, 409, "conflict"],
      [`/v1/fs/watch?path=${q(W)}&recursive=1`, 400, "invalid_request"],
      [`/v1/fs/watch?path=${q("a/../b")}`, 400, "invalid_request"],
      [`/v1/fs/watch?path=${q(W)}&path=${q(W)}`, 400, "invalid_request"],
    ];
    for (const [p, status, kind] of cases) assertProblem(await api(d, "GET", p), status, kind, p);
    assertProblem(await api(d, "POST", `/v1/fs/watch?path=${q(W)}`), 405, "invalid_request");
  });

  test("the token is required", async () => {
    const W = await realTempDir("agentd-watch-auth-");
    const s = await openSse({ port: dt.port }, `/v1/fs/watch?path=${q(W)}&recursive=true`);
    assert.equal(s.status, 401);
    assert.equal(JSON.parse(s.text).type, "urn:sandbox-agent:error:token_invalid");
    const ok = await watch(W, { daemon: dt });
    ok.close();
  });

  test("many watchers come and go; the daemon stays healthy", async () => {
    const W = await realTempDir("agentd-watch-many-");
    for (let round = 0; round < 3; round++) {
      const streams = [];
      for (let i = 0; i < 20; i++) streams.push(await watch(W));
      const f = path.join(W, `round-${round}.txt`);
      await fsp.writeFile(f, "x");
      await Promise.all(streams.map((s) => expectEvent(s, { type: "create", path: f })));
      for (const s of streams) s.close();
    }
    assert.equal((await api(d, "GET", "/v1/health")).status, 200);
  });
});
