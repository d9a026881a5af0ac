// --fs-root DIR confinement: everything outside DIR (directly, through `..`, or through a
// symlink inside DIR) is 403 permission_denied and leaves the disk untouched; everything inside
// works normally with real absolute paths.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import path from "node:path";
import {
  api,
  assertJson,
  assertProblem,
  assertUnchanged,
  exists,
  makeTar,
  openSse,
  postJson,
  q,
  realTempDir,
  request,
  snapshot,
  startDaemon,
} from "./harness.mjs";

let outer; // holds root/, outside/, root2/
let R; // the --fs-root
let OUT; // a directory outside it
let d;

before(async () => {
  outer = await realTempDir("agentd-fsroot-");
  R = path.join(outer, "root");
  OUT = path.join(outer, "outside");
  await fsp.mkdir(path.join(R, "home"), { recursive: true });
  await fsp.mkdir(path.join(R, "dir"), { recursive: true });
  await fsp.writeFile(path.join(R, "dir", "in.txt"), "inside");
  await fsp.mkdir(OUT);
  await fsp.writeFile(path.join(OUT, "secret.txt"), "secret");
  await fsp.mkdir(path.join(OUT, "sub"));
  // a sibling whose name has R as a string prefix
  await fsp.mkdir(path.join(outer, "root2"));
  await fsp.writeFile(path.join(outer, "root2", "f.txt"), "sibling");
  // escapes
  await fsp.symlink(OUT, path.join(R, "esc-dir"));
  await fsp.symlink(path.join(OUT, "secret.txt"), path.join(R, "esc-file"));
  await fsp.symlink("../outside", path.join(R, "esc-rel"));
  await fsp.symlink(path.join(OUT, "created-through-link.txt"), path.join(R, "esc-dangling"));
  await fsp.symlink("/", path.join(R, "esc-slash"));
  // a link that stays inside
  await fsp.symlink("dir", path.join(R, "in-link"));
  d = await startDaemon({ fsRoot: R, home: path.join(R, "home") });
});

after(async () => {
  await d.stop();
});

/** Run a request, expect 403 permission_denied, and that nothing under `outer` changed. */
async function denied(method, p, opts = {}) {
  const before = await snapshot(outer);
  const res = await request(d, { method, path: p, ...opts });
  if (method === "HEAD") {
    assert.equal(res.status, 403, `${method} ${p}`);
    assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
    assert.equal(res.body.length, 0);
  } else {
    assertProblem(res, 403, "permission_denied", `${method} ${p}`);
  }
  await assertUnchanged(outer, before, `${method} ${p} changed the disk`);
}

describe("outside the root → 403", () => {
  const outsidePaths = () => [
    path.join(OUT, "secret.txt"),
    path.join(R, "..", "outside", "secret.txt"),
    `${R}/dir/../../outside/secret.txt`,
    path.join(outer, "root2", "f.txt"),
    "/etc/passwd",
    "/",
  ];

  test("stat / read / list / HEAD", async () => {
    for (const p of outsidePaths()) {
      await denied("GET", `/v1/fs/stat?path=${q(p)}`);
      await denied("GET", `/v1/fs/file?path=${q(p)}`);
      await denied("HEAD", `/v1/fs/file?path=${q(p)}`);
    }
    for (const p of [OUT, `${R}/..`, path.join(outer, "root2"), "/", "/tmp"]) {
      await denied("GET", `/v1/fs/entries?path=${q(p)}`);
    }
  });

  test("write / mkdir / delete", async () => {
    await denied("PUT", `/v1/fs/file?path=${q(path.join(OUT, "new.txt"))}`, { body: "x" });
    await denied("PUT", `/v1/fs/file?path=${q(path.join(OUT, "secret.txt"))}`, { body: "overwritten" });
    await denied("PUT", `/v1/fs/file?path=${q(`${R}/../outside/new.txt`)}`, { body: "x" });
    await denied("PUT", `/v1/fs/file?path=${q(path.join(outer, "root2", "g.txt"))}`, { body: "x" });
    await denied("POST", `/v1/fs/mkdir?path=${q(path.join(OUT, "newdir"))}`);
    await denied("POST", `/v1/fs/mkdir?path=${q(`${R}/../newdir`)}`);
    await denied("DELETE", `/v1/fs/entry?path=${q(path.join(OUT, "secret.txt"))}`);
    await denied("DELETE", `/v1/fs/entry?path=${q(OUT)}&recursive=true`);
    await denied("DELETE", `/v1/fs/entry?path=${q(`${R}/../outside`)}&recursive=true`);
    await denied("DELETE", `/v1/fs/entry?path=${q(path.join(outer, "root2"))}&recursive=true`);
  });

  test("move in, out and across", async () => {
    const J = (b) => ({ body: JSON.stringify(b), headers: { "Content-Type": "application/json" } });
    await denied("POST", "/v1/fs/move", J({ from: path.join(OUT, "secret.txt"), to: path.join(R, "stolen.txt") }));
    await denied("POST", "/v1/fs/move", J({ from: path.join(R, "dir", "in.txt"), to: path.join(OUT, "leaked.txt") }));
    await denied("POST", "/v1/fs/move", J({ from: path.join(R, "dir"), to: `${R}/../moved-dir` }));
    await denied("POST", "/v1/fs/move", J({ from: path.join(R, "dir", "in.txt"), to: path.join(OUT, "secret.txt"), overwrite: true }));
    await denied("POST", "/v1/fs/move", J({ from: path.join(R, "dir", "in.txt"), to: path.join(R, "esc-dir", "leaked.txt") }));
    await denied("POST", "/v1/fs/move", J({ from: path.join(R, "esc-dir", "secret.txt"), to: path.join(R, "stolen.txt") }));
  });

  test("relative paths resolve under HOME (inside the root); `..` stays rejected", async () => {
    const before = await snapshot(outer);
    assertProblem(await api(d, "GET", `/v1/fs/stat?path=${q("../../outside/secret.txt")}`), 400, "invalid_request");
    await assertUnchanged(outer, before);
  });

  test("upload-batch into a destination outside", async () => {
    const tar = makeTar([{ name: "x.txt", data: "x" }]);
    const h = { "Content-Type": "application/x-tar" };
    await denied("POST", `/v1/fs/upload-batch?path=${q(path.join(OUT, "batch"))}`, { body: tar, headers: h });
    await denied("POST", `/v1/fs/upload-batch?path=${q(`${R}/../batch`)}`, { body: tar, headers: h });
    await denied("POST", `/v1/fs/upload-batch?path=${q(path.join(R, "esc-dir"))}`, { body: tar, headers: h });
    await denied("POST", `/v1/fs/upload-batch?path=${q(path.join(R, "esc-dir", "deeper"))}`, { body: tar, headers: h });
  });

  test("upload-batch: archive entries that lead outside", async () => {
    const h = { "Content-Type": "application/x-tar" };
    const dest = path.join(R, "tar-escape");
    for (const entries of [
      [{ name: "ok.txt", data: "ok" }, { name: "../../outside/pwned.txt", data: "x" }],
      [{ name: "ok.txt", data: "ok" }, { name: path.join(OUT, "pwned.txt"), data: "x" }],
      [{ name: "link", type: "symlink", linkname: OUT }, { name: "link/pwned.txt", data: "x" }],
      [{ name: "hard", type: "hardlink", linkname: path.join(OUT, "secret.txt") }],
    ]) {
      const before = await snapshot(outer);
      const res = await request(d, { method: "POST", path: `/v1/fs/upload-batch?path=${q(dest)}`, body: makeTar(entries), headers: h });
      assert.ok(res.status === 400 || res.status === 403, `${JSON.stringify(entries.map((e) => e.name))}: ${res.status} ${res.text}`);
      assertProblem(res, res.status, res.status === 400 ? "invalid_request" : "permission_denied");
      await assertUnchanged(outer, before);
    }
  });

  test("upload-batch: a second archive cannot write through a link left by the first", async () => {
    const h = { "Content-Type": "application/x-tar" };
    const dest = path.join(R, "tar-two-step");
    let res = await request(d, {
      method: "POST",
      path: `/v1/fs/upload-batch?path=${q(dest)}`,
      body: makeTar([{ name: "link", type: "symlink", linkname: OUT }]),
      headers: h,
    });
    assert.equal(res.status, 200, res.text);
    // the destination itself through the link
    await denied("POST", `/v1/fs/upload-batch?path=${q(path.join(dest, "link"))}`, { body: makeTar([{ name: "x", data: "x" }]), headers: h });
    const before = await snapshot(OUT);
    res = await request(d, {
      method: "POST",
      path: `/v1/fs/upload-batch?path=${q(dest)}`,
      body: makeTar([{ name: "link/pwned.txt", data: "pwned" }]),
      headers: h,
    });
    // Refused before anything is created (the link is neither followed nor replaced).
    assert.equal(res.status, 409, `${res.status} ${res.text}`);
    await assertUnchanged(OUT, before, "wrote outside the root through a symlink");
  });

  test("watch outside", async () => {
    for (const p of [OUT, path.join(R, "esc-dir"), "/"]) {
      const s = await openSse(d, `/v1/fs/watch?path=${q(p)}&recursive=true`);
      try {
        assert.equal(s.status, 403, `${p}: ${s.text}`);
        assert.match(String(s.headers["content-type"]), /^application\/problem\+json/);
        assert.equal(JSON.parse(s.text).type, "urn:sandbox-agent:error:permission_denied");
      } finally {
        s.close();
      }
    }
  });

  test("deleting the root itself is refused", async () => {
    for (const p of [R, `${R}/`, `${R}/.`, `${R}/dir/..`, "~/.."]) {
      const before = await snapshot(outer);
      const res = await api(d, "DELETE", `/v1/fs/entry?path=${q(p)}&recursive=true`);
      assert.ok(res.status === 403 || res.status === 400, `${p}: ${res.status} ${res.text}`);
      assertProblem(res, res.status, res.status === 403 ? "permission_denied" : "invalid_request", p);
      await assertUnchanged(outer, before);
    }
    // the canonical spelling is the 403 of the brief
    const res = await api(d, "DELETE", `/v1/fs/entry?path=${q(R)}&recursive=true`);
    assertProblem(res, 403, "permission_denied");
    assert.ok(await exists(path.join(R, "dir", "in.txt")));
  });
});

describe("symlinks inside the root that lead outside → 403", () => {
  test("stat / read / list through a link", async () => {
    for (const l of ["esc-dir", "esc-rel", "esc-slash"]) {
      await denied("GET", `/v1/fs/stat?path=${q(path.join(R, l))}`);
      await denied("GET", `/v1/fs/entries?path=${q(path.join(R, l))}`);
    }
    await denied("GET", `/v1/fs/stat?path=${q(path.join(R, "esc-dir", "secret.txt"))}`);
    await denied("GET", `/v1/fs/file?path=${q(path.join(R, "esc-dir", "secret.txt"))}`);
    await denied("GET", `/v1/fs/file?path=${q(path.join(R, "esc-rel", "secret.txt"))}`);
    await denied("GET", `/v1/fs/file?path=${q(path.join(R, "esc-slash", "etc", "passwd"))}`);
    await denied("GET", `/v1/fs/stat?path=${q(path.join(R, "esc-file"))}`);
    await denied("GET", `/v1/fs/file?path=${q(path.join(R, "esc-file"))}`);
    await denied("GET", `/v1/fs/file?path=${q(path.join(R, "esc-file"))}`, { headers: { Range: "bytes=0-2" } });
  });

  test("write / mkdir / delete through a directory link", async () => {
    await denied("PUT", `/v1/fs/file?path=${q(path.join(R, "esc-dir", "new.txt"))}`, { body: "x" });
    await denied("PUT", `/v1/fs/file?path=${q(path.join(R, "esc-dir", "secret.txt"))}`, { body: "overwritten" });
    await denied("PUT", `/v1/fs/file?path=${q(path.join(R, "esc-rel", "sub", "deep", "new.txt"))}`, { body: "x" });
    await denied("POST", `/v1/fs/mkdir?path=${q(path.join(R, "esc-dir", "made"))}`);
    await denied("POST", `/v1/fs/mkdir?path=${q(path.join(R, "esc-dir", "sub"))}`);
    await denied("DELETE", `/v1/fs/entry?path=${q(path.join(R, "esc-dir", "secret.txt"))}`);
    await denied("DELETE", `/v1/fs/entry?path=${q(path.join(R, "esc-dir", "sub"))}&recursive=true`);
  });

  test("write through a file link that points outside (existing and dangling)", async () => {
    // Writing via the link would modify (or create) a file outside the root: 403, and the link
    // itself stays as it was.
    await denied("PUT", `/v1/fs/file?path=${q(path.join(R, "esc-dangling"))}`, { body: "created" });
    await denied("PUT", `/v1/fs/file?path=${q(path.join(R, "esc-file"))}`, { body: "overwritten" });
    assert.equal(await exists(path.join(OUT, "created-through-link.txt")), false);
  });
});

describe("inside the root everything works", () => {
  test("write, read, stat, list, mkdir, move, delete", async () => {
    const f = path.join(R, "work", "a", "b.txt");
    let res = await api(d, "PUT", `/v1/fs/file?path=${q(f)}`, { body: "inside data" });
    assert.deepEqual(assertJson(res), { path: f, bytesWritten: 11 });
    assert.equal(await fsp.readFile(f, "utf8"), "inside data");
    res = await api(d, "GET", `/v1/fs/file?path=${q(f)}`);
    assert.equal(res.text, "inside data");
    res = await api(d, "GET", `/v1/fs/stat?path=${q(f)}`);
    assert.equal(assertJson(res).path, f);
    res = await api(d, "GET", `/v1/fs/entries?path=${q(R)}`);
    const names = assertJson(res).map((e) => e.name).sort();
    assert.deepEqual(names, (await fsp.readdir(R)).sort());
    res = await api(d, "POST", `/v1/fs/mkdir?path=${q(path.join(R, "work", "m1", "m2"))}`);
    assert.equal(res.status, 200, res.text);
    res = await postJson(d, "/v1/fs/move", { from: f, to: path.join(R, "work", "m1", "m2", "c.txt") });
    assert.equal(res.status, 200, res.text);
    assert.equal(await fsp.readFile(path.join(R, "work", "m1", "m2", "c.txt"), "utf8"), "inside data");
    res = await api(d, "DELETE", `/v1/fs/entry?path=${q(path.join(R, "work"))}&recursive=true`);
    assert.equal(res.status, 200, res.text);
    assert.equal(await exists(path.join(R, "work")), false);
  });

  test("relative and ~ paths land in HOME inside the root", async () => {
    let res = await api(d, "PUT", `/v1/fs/file?path=${q("rel.txt")}`, { body: "r" });
    assert.equal(assertJson(res).path, path.join(R, "home", "rel.txt"));
    res = await api(d, "GET", `/v1/fs/file?path=${q("~/rel.txt")}`);
    assert.equal(res.text, "r");
  });

  test("`..` that stays inside and links that stay inside are fine", async () => {
    let res = await api(d, "GET", `/v1/fs/file?path=${q(`${R}/home/../dir/in.txt`)}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, "inside");
    res = await api(d, "GET", `/v1/fs/file?path=${q(path.join(R, "in-link", "in.txt"))}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, "inside");
    res = await api(d, "GET", `/v1/fs/entries?path=${q(path.join(R, "in-link"))}`);
    assert.deepEqual(assertJson(res).map((e) => e.name), ["in.txt"]);
    res = await api(d, "GET", `/v1/fs/entries?path=${q(R)}`);
    const byName = Object.fromEntries(assertJson(res).map((e) => [e.name, e]));
    assert.equal(byName["esc-dir"].entryType, "file", "listing shows the link itself (lstat)");
  });

  test("upload-batch inside the root", async () => {
    const dest = path.join(R, "batch");
    const res = await api(d, "POST", `/v1/fs/upload-batch?path=${q(dest)}`, {
      body: makeTar([{ name: "one.txt", data: "1" }, { name: "two/three.txt", data: "3" }]),
      headers: { "Content-Type": "application/x-tar" },
    });
    assert.deepEqual(assertJson(res), { paths: [path.join(dest, "one.txt"), path.join(dest, "two", "three.txt")], truncated: false });
    assert.equal(await fsp.readFile(path.join(dest, "two", "three.txt"), "utf8"), "3");
  });

  test("deleting a link that points outside removes only the link", async () => {
    const link = path.join(R, "esc-to-delete");
    await fsp.symlink(OUT, link);
    const before = await snapshot(OUT);
    const res = await api(d, "DELETE", `/v1/fs/entry?path=${q(link)}&recursive=true`);
    assert.ok(res.status === 200 || res.status === 403, `${res.status} ${res.text}`);
    if (res.status === 200) assert.equal(await exists(link), false);
    else assertProblem(res, 403, "permission_denied");
    await assertUnchanged(OUT, before, "the outside target must survive");
  });
});

// Issue 14: with a root that $HOME is not in (`--fs-root /srv/x` started by root), the paths
// people type work: relative paths and the empty path start at the root; `/` and `~` say where
// the root is.
describe("a root that $HOME is not in", () => {
  let d2;
  let R2;
  before(async () => {
    R2 = path.join(outer, "root2-srv");
    await fsp.mkdir(path.join(R2, "sub"), { recursive: true });
    await fsp.writeFile(path.join(R2, "top.txt"), "top");
    d2 = await startDaemon({ fsRoot: R2, home: OUT });
  });
  after(async () => {
    if (d2) await d2.stop();
  });

  test("relative paths and the empty path resolve against the root", async () => {
    let res = await api(d2, "PUT", `/v1/fs/file?path=${q("relative.txt")}`, { body: "rel" });
    assert.equal(assertJson(res).path, path.join(R2, "relative.txt"));
    assert.equal(await fsp.readFile(path.join(R2, "relative.txt"), "utf8"), "rel");
    res = await api(d2, "GET", `/v1/fs/file?path=${q("top.txt")}`);
    assert.equal(res.text, "top");
    res = await api(d2, "GET", `/v1/fs/entries?path=${q("sub")}`);
    assert.deepEqual(assertJson(res), []);
    // No path: the root (the SDK's listFsEntries() without a path).
    res = await api(d2, "GET", "/v1/fs/entries");
    assert.deepEqual(assertJson(res).map((e) => e.name).sort(), ["relative.txt", "sub", "top.txt"]);
    // `..` in a relative path stays a 400, as without a root.
    assertProblem(await api(d2, "GET", `/v1/fs/stat?path=${q("../outside/secret.txt")}`), 400, "invalid_request");
  });

  test("`/` and `~` are 403 with a detail that names the root and what to type", async () => {
    const before = await snapshot(outer);
    const slash = assertProblem(await api(d2, "GET", `/v1/fs/entries?path=${q("/")}`), 403, "permission_denied");
    assert.ok(slash.detail.includes(R2), slash.detail);
    assert.match(slash.detail, /relative/);
    const home = assertProblem(await api(d2, "PUT", `/v1/fs/file?path=${q("~/x.txt")}`, { body: "x" }), 403, "permission_denied");
    assert.ok(home.detail.includes(OUT) && home.detail.includes(R2), home.detail);
    await assertUnchanged(outer, before, "nothing written");
  });
});
