// Filesystem bad input: every case asserts the status, the problem `type` and that nothing
// changed on disk. Plus the fs behaviours where agentd deliberately differs from the reference
// (404/409 kinds, `~`, safe DELETE/move, Range reads, uploads over 2 MiB, mode preservation).

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
  postJson,
  q,
  realTempDir,
  request,
  snapshot,
  startDaemon,
} from "./harness.mjs";

let d;
let root; // fixture tree (absolute paths)

async function fixture() {
  root = await realTempDir("agentd-fserr-");
  await fsp.writeFile(path.join(root, "file.txt"), "hello");
  await fsp.mkdir(path.join(root, "dir", "sub"), { recursive: true });
  await fsp.writeFile(path.join(root, "dir", "inner.txt"), "inner");
  await fsp.mkdir(path.join(root, "emptydir"));
  await fsp.mkdir(path.join(root, "nonempty"));
  await fsp.writeFile(path.join(root, "nonempty", "child"), "child");
  await fsp.writeFile(path.join(root, "dest.txt"), "destination");
  await fsp.symlink(path.join(root, "dir"), path.join(root, "linkdir"));
  // relative-path fixtures under HOME
  await fsp.mkdir(path.join(d.home, "hdir"));
  await fsp.writeFile(path.join(d.home, "hfile"), "home file");
}

before(async () => {
  d = await startDaemon();
  await fixture();
});

after(async () => {
  await d.stop();
});

const A = (rel) => q(path.join(root, rel));
const bigJson = () => JSON.stringify({ from: "a", to: "b", pad: "x".repeat(2 * 1024 * 1024) });
const deepJson = (n) => '{"from":"a","to":"b","x":' + "[".repeat(n) + "]".repeat(n) + "}";
const BAD_UTF8_JSON = Buffer.concat([Buffer.from('{"from":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","to":"b"}')]);

// [name, method, path (after /v1/fs/), options, status, kind]
function cases() {
  const J = { "Content-Type": "application/json" };
  return [
    // missing paths → 404 not_found
    ["stat of a missing path", "GET", () => `stat?path=${A("missing")}`, {}, 404, "not_found"],
    ["read of a missing file", "GET", () => `file?path=${A("missing")}`, {}, 404, "not_found"],
    ["list of a missing dir", "GET", () => `entries?path=${A("missing")}`, {}, 404, "not_found"],
    ["list under a missing parent", "GET", () => `entries?path=${A("missing/deeper")}`, {}, 404, "not_found"],
    ["delete of a missing path", "DELETE", () => `entry?path=${A("missing")}`, {}, 404, "not_found"],
    ["delete recursive of a missing path", "DELETE", () => `entry?path=${A("missing")}&recursive=true`, {}, 404, "not_found"],
    ["move from a missing path", "POST", () => "move", { json: () => ({ from: path.join(root, "missing"), to: path.join(root, "new") }) }, 404, "not_found"],
    ["relative missing path resolves under HOME", "GET", () => "stat?path=nothing-here", {}, 404, "not_found"],
    // directory where a file is needed / file where a directory is needed → 409 conflict
    ["GET file on a directory", "GET", () => `file?path=${A("dir")}`, {}, 409, "conflict"],
    ["PUT file on a directory", "PUT", () => `file?path=${A("dir")}`, { body: "x" }, 409, "conflict"],
    ["PUT file on an empty directory", "PUT", () => `file?path=${A("emptydir")}`, { body: "" }, 409, "conflict"],
    ["GET file with Range on a directory", "GET", () => `file?path=${A("dir")}`, { headers: { Range: "bytes=0-1" } }, 409, "conflict"],
    ["entries on a file", "GET", () => `entries?path=${A("file.txt")}`, {}, 409, "conflict"],
    ["mkdir where a file exists", "POST", () => `mkdir?path=${A("file.txt")}`, {}, 409, "conflict"],
    ["mkdir below a file", "POST", () => `mkdir?path=${A("file.txt/sub")}`, {}, 409, "conflict"],
    ["PUT file below a file", "PUT", () => `file?path=${A("file.txt/x")}`, { body: "x" }, 409, "conflict"],
    ["delete a non-empty dir without recursive", "DELETE", () => `entry?path=${A("nonempty")}`, {}, 409, "conflict"],
    ["delete a non-empty dir with recursive=false", "DELETE", () => `entry?path=${A("nonempty")}&recursive=false`, {}, 409, "conflict"],
    ["move onto an existing file without overwrite", "POST", () => "move", { json: () => ({ from: path.join(root, "file.txt"), to: path.join(root, "dest.txt") }) }, 409, "conflict"],
    ["move with overwrite:false onto an existing file", "POST", () => "move", { json: () => ({ from: path.join(root, "file.txt"), to: path.join(root, "dest.txt"), overwrite: false }) }, 409, "conflict"],
    ["move a dir onto an existing dir without overwrite", "POST", () => "move", { json: () => ({ from: path.join(root, "emptydir"), to: path.join(root, "nonempty") }) }, 409, "conflict"],
    // relative paths with `..`
    ["relative stat with ..", "GET", () => `stat?path=${q("a/../b")}`, {}, 400, "invalid_request"],
    ["relative PUT ../x", "PUT", () => `file?path=${q("../escaped.txt")}`, { body: "x" }, 400, "invalid_request"],
    ["relative mkdir ..", "POST", () => "mkdir?path=..", {}, 400, "invalid_request"],
    ["relative delete hdir/..", "DELETE", () => `entry?path=${q("hdir/..")}&recursive=true`, {}, 400, "invalid_request"],
    ["relative entries ../..", "GET", () => `entries?path=${q("../..")}`, {}, 400, "invalid_request"],
    ["move with a relative .. in to", "POST", () => "move", { json: () => ({ from: "hfile", to: "../out.txt" }) }, 400, "invalid_request"],
    ["move with a relative .. in from", "POST", () => "move", { json: () => ({ from: "../hfile", to: "x.txt" }) }, 400, "invalid_request"],
    // required / malformed query parameters
    ["GET file without path", "GET", () => "file", {}, 400, "invalid_request"],
    ["stat without path", "GET", () => "stat", {}, 400, "invalid_request"],
    ["PUT file without path", "PUT", () => "file", { body: "x" }, 400, "invalid_request"],
    ["mkdir without path", "POST", () => "mkdir", {}, 400, "invalid_request"],
    ["delete without path", "DELETE", () => "entry", {}, 400, "invalid_request"],
    ["delete with an empty path", "DELETE", () => "entry?path=", {}, 400, "invalid_request"],
    ["delete with an empty path, recursive", "DELETE", () => "entry?path=&recursive=true", {}, 400, "invalid_request"],
    ["delete ., recursive", "DELETE", () => "entry?path=.&recursive=true", {}, 400, "invalid_request"],
    ["recursive=1", "DELETE", () => `entry?path=${A("nonempty")}&recursive=1`, {}, 400, "invalid_request"],
    ["recursive=yes", "DELETE", () => `entry?path=${A("nonempty")}&recursive=yes`, {}, 400, "invalid_request"],
    ["recursive=TRUE", "DELETE", () => `entry?path=${A("nonempty")}&recursive=TRUE`, {}, 400, "invalid_request"],
    ["duplicate path on stat", "GET", () => `stat?path=${A("file.txt")}&path=${A("dir")}`, {}, 400, "invalid_request"],
    ["duplicate path on GET file", "GET", () => `file?path=${A("file.txt")}&path=${A("file.txt")}`, {}, 400, "invalid_request"],
    ["duplicate path on delete", "DELETE", () => `entry?path=${A("file.txt")}&path=${A("dest.txt")}`, {}, 400, "invalid_request"],
    ["duplicate path on PUT", "PUT", () => `file?path=${A("new1")}&path=${A("new2")}`, { body: "x" }, 400, "invalid_request"],
    ["duplicate recursive", "DELETE", () => `entry?path=${A("nonempty")}&recursive=true&recursive=true`, {}, 400, "invalid_request"],
    ["invalid UTF-8 %FF in stat", "GET", () => `stat?path=${A("")}%2F%FF`, {}, 400, "invalid_request"],
    ["invalid UTF-8 %FF in PUT", "PUT", () => `file?path=${A("")}%2Fbad%FFname`, { body: "x" }, 400, "invalid_request"],
    ["invalid UTF-8 %C3%28 in mkdir", "POST", () => `mkdir?path=${A("")}%2F%C3%28`, {}, 400, "invalid_request"],
    ["overlong UTF-8 %C0%AF in delete", "DELETE", () => `entry?path=${A("")}%2F%C0%AF`, {}, 400, "invalid_request"],
    ["UTF-16 surrogate %ED%A0%80 in entries", "GET", () => `entries?path=${A("")}%2F%ED%A0%80`, {}, 400, "invalid_request"],
    // move JSON bodies
    ["move without a content type", "POST", () => "move", { body: JSON.stringify({ from: "hfile", to: "x" }) }, 415, "invalid_request"],
    ["move with text/plain", "POST", () => "move", { body: JSON.stringify({ from: "hfile", to: "x" }), headers: { "Content-Type": "text/plain" } }, 415, "invalid_request"],
    ["move with invalid JSON", "POST", () => "move", { body: '{"from": "hfile", to: "x"}', headers: J }, 400, "invalid_request"],
    ["move with trailing garbage", "POST", () => "move", { body: '{"from":"hfile","to":"x"} x', headers: J }, 400, "invalid_request"],
    ["move with an empty JSON body", "POST", () => "move", { body: "", headers: J }, 400, "invalid_request"],
    ["move with invalid UTF-8 in JSON", "POST", () => "move", { body: BAD_UTF8_JSON, headers: J }, 400, "invalid_request"],
    ["move with from:1", "POST", () => "move", { body: '{"from":1,"to":"x"}', headers: J }, 422, "invalid_request"],
    ["move without to", "POST", () => "move", { body: '{"from":"hfile"}', headers: J }, 422, "invalid_request"],
    ["move without from", "POST", () => "move", { body: '{"to":"x"}', headers: J }, 422, "invalid_request"],
    ["move with overwrite:\"yes\"", "POST", () => "move", { body: '{"from":"hfile","to":"x","overwrite":"yes"}', headers: J }, 422, "invalid_request"],
    ["move with a JSON array body", "POST", () => "move", { body: '["hfile","x"]', headers: J }, 422, "invalid_request"],
    ["move with JSON deeper than 64 levels", "POST", () => "move", { body: deepJson(65), headers: J }, 400, "invalid_request"],
    ["move with a body over 2 MiB", "POST", () => "move", { body: bigJson(), headers: J }, 413, "invalid_request"],
    ["move with \\u0000 in from", "POST", () => "move", { body: '{"from":"hf\\u0000ile","to":"x"}', headers: J }, 400, "invalid_request"],
    ["move with \\u0000 in to", "POST", () => "move", { body: '{"from":"hfile","to":"x\\u0000y"}', headers: J }, 400, "invalid_request"],
    ["move a directory into itself", "POST", () => "move", { json: () => ({ from: path.join(root, "dir"), to: path.join(root, "dir", "sub", "x") }) }, 400, "invalid_request"],
    // Range
    ["unsatisfiable range", "GET", () => `file?path=${A("file.txt")}`, { headers: { Range: "bytes=5-" } }, 416, "invalid_request"],
    ["unsatisfiable suffix range bytes=-0", "GET", () => `file?path=${A("file.txt")}`, { headers: { Range: "bytes=-0" } }, 416, "invalid_request"],
  ];
}

describe("fs bad input", () => {
  for (const [name, method, p, opts, status, kind] of cases()) {
    test(`${name} → ${status} ${kind}`, async () => {
      const beforeRoot = await snapshot(root);
      const beforeHome = await snapshot(d.home);
      const headers = { ...(opts.headers || {}) };
      let body = opts.body;
      if (opts.json) {
        body = JSON.stringify(opts.json());
        headers["Content-Type"] = "application/json";
      }
      const res = await request(d, { method, path: `/v1/fs/${p()}`, headers, body });
      assertProblem(res, status, kind, `${method} ${p()}`);
      if (status === 416) assert.equal(res.headers["content-range"], "bytes */5");
      await assertUnchanged(root, beforeRoot, "fixture tree changed");
      await assertUnchanged(d.home, beforeHome, "HOME changed");
    });
  }

  test("NUL (%00) in the URL: 400 invalid_request, nothing written", async () => {
    const beforeRoot = await snapshot(root);
    const beforeHome = await snapshot(d.home);
    for (const [method, p] of [
      ["PUT", `/v1/fs/file?path=${A("nul")}%00x`],
      ["DELETE", `/v1/fs/entry?path=${A("dest.txt")}%00&recursive=true`],
      ["POST", `/v1/fs/mkdir?path=${A("")}%2Fnul%00dir`],
      ["GET", `/v1/fs/stat?path=${A("file.txt")}%00`],
    ]) {
      const res = await request(d, { method, path: p, body: method === "PUT" ? "data" : undefined });
      assertProblem(res, 400, "invalid_request", `${method} ${p}`);
    }
    await assertUnchanged(root, beforeRoot);
    await assertUnchanged(d.home, beforeHome);
    // the daemon is still serving
    assert.equal((await request(d, { path: "/v1/health" })).status, 200);
  });

  test("malformed escape %ZZ: 400 invalid_request naming the byte, nothing written", async () => {
    const beforeRoot = await snapshot(root);
    for (const [method, p] of [
      ["PUT", `/v1/fs/file?path=${A("zz")}%ZZ`],
      ["DELETE", `/v1/fs/entry?path=${A("nonempty")}%ZZ&recursive=true`],
      ["POST", `/v1/fs/mkdir?path=${A("")}%2Fbad%ZZdir`],
    ]) {
      const res = await request(d, { method, path: p, body: method === "PUT" ? "data" : undefined });
      const prob = assertProblem(res, 400, "invalid_request", `${method} ${p}`);
      assert.match(prob.detail, /malformed %-escape at byte \d+/);
    }
    await assertUnchanged(root, beforeRoot);
    assert.equal((await request(d, { path: "/v1/health" })).status, 200);
  });

  // A decoded CR or LF must not silently cut the path short: `dest.txt%0D.bak` names the
  // entry "dest.txt\r.bak", never "dest.txt". Accepted answers: the connection is dropped (as
  // for NUL), 400 invalid_request, or 404 not_found; in every case nothing changes on disk.
  for (const esc of ["%0D", "%0A", "%0D%0AX:%20y"]) {
    test(`escaped ${esc} in a path does not truncate it (DELETE/PUT/stat)`, async () => {
      // own victims, so a failure here does not disturb the shared fixture
      const dir = await realTempDir("agentd-crlf-");
      await fsp.writeFile(path.join(dir, "victim.txt"), "victim");
      await fsp.writeFile(path.join(dir, "keep.txt"), "keep");
      const beforeRoot = await snapshot(dir);
      const V = (n) => q(path.join(dir, n));
      const reqs = [
        ["DELETE", `/v1/fs/entry?path=${V("victim.txt")}${esc}.bak&recursive=true`, undefined],
        ["PUT", `/v1/fs/file?path=${V("keep.txt")}${esc}.bak`, "clobbered"],
        ["GET", `/v1/fs/stat?path=${V("keep.txt")}${esc}.bak`, undefined],
      ];
      for (const [method, p, body] of reqs) {
        let res;
        try {
          res = await request(d, { method, path: p, body });
        } catch (e) {
          continue; // connection dropped: acceptable
        }
        assert.ok(res.status === 400 || res.status === 404, `${method} ${p}: ${res.status} ${res.text}`);
        assertProblem(res, res.status, res.status === 400 ? "invalid_request" : "not_found", `${method} ${p}`);
      }
      await assertUnchanged(dir, beforeRoot);
    });
  }
});

describe("fs behaviour", () => {
  test("~/x and relative x resolve under $HOME", async () => {
    let res = await api(d, "PUT", `/v1/fs/file?path=${q("~/tilde/a.txt")}`, { body: "tilde" });
    assert.deepEqual(assertJson(res), { path: path.join(d.home, "tilde", "a.txt"), bytesWritten: 5 });
    assert.equal(await fsp.readFile(path.join(d.home, "tilde", "a.txt"), "utf8"), "tilde");
    assert.equal(await exists(path.join(d.home, "~")), false, "no literal ~ directory");
    assert.equal(await exists(path.join(d.cwd, "tilde")), false);

    res = await api(d, "GET", `/v1/fs/stat?path=${q("tilde/a.txt")}`);
    assert.equal(assertJson(res).path, path.join(d.home, "tilde", "a.txt"));
    res = await api(d, "GET", `/v1/fs/file?path=${q("~/tilde/a.txt")}`);
    assert.equal(res.text, "tilde");
    res = await api(d, "POST", `/v1/fs/mkdir?path=${q("~/tilde/made")}`);
    assert.deepEqual(assertJson(res), { path: path.join(d.home, "tilde", "made") });
    assert.ok((await fsp.stat(path.join(d.home, "tilde", "made"))).isDirectory());
    res = await api(d, "GET", "/v1/fs/entries?path=~");
    assert.ok(assertJson(res).some((e) => e.name === "tilde" && e.path === path.join(d.home, "tilde")));
  });

  test("absolute paths may contain ..", async () => {
    const p = path.join(root, "dir") + "/../dir/inner.txt";
    const res = await api(d, "GET", `/v1/fs/file?path=${q(p)}`);
    assert.equal(res.status, 200);
    assert.equal(res.text, "inner");
  });

  test("move: same path is a 200 no-op that keeps the file", async () => {
    const f = path.join(root, "same.txt");
    await fsp.writeFile(f, "keep me");
    const other = path.join(root, "dir") + "/../same.txt";
    for (const body of [{ from: f, to: f, overwrite: true }, { from: f, to: other, overwrite: true }, { from: other, to: f, overwrite: true }]) {
      const res = await postJson(d, "/v1/fs/move", body);
      assert.equal(res.status, 200, res.text);
      assert.equal(await fsp.readFile(f, "utf8"), "keep me");
    }
    // also through HOME-relative vs absolute spellings of one file
    await fsp.writeFile(path.join(d.home, "same-home.txt"), "home copy");
    const res = await postJson(d, "/v1/fs/move", { from: "same-home.txt", to: path.join(d.home, "same-home.txt"), overwrite: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(await fsp.readFile(path.join(d.home, "same-home.txt"), "utf8"), "home copy");
  });

  test("move: overwrite:true replaces a file and a directory; parents of to are created", async () => {
    const src = path.join(root, "mv-src.txt");
    const dst = path.join(root, "mv-dst.txt");
    await fsp.writeFile(src, "new");
    await fsp.writeFile(dst, "old");
    let res = await postJson(d, "/v1/fs/move", { from: src, to: dst, overwrite: true });
    assert.deepEqual(assertJson(res), { from: src, to: dst });
    assert.equal(await fsp.readFile(dst, "utf8"), "new");
    assert.equal(await exists(src), false);

    const sdir = path.join(root, "mv-sdir");
    const ddir = path.join(root, "mv-ddir");
    await fsp.mkdir(sdir);
    await fsp.writeFile(path.join(sdir, "s"), "s");
    await fsp.mkdir(path.join(ddir, "old"), { recursive: true });
    await fsp.writeFile(path.join(ddir, "old", "o"), "o");
    res = await postJson(d, "/v1/fs/move", { from: sdir, to: ddir, overwrite: true });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((await fsp.readdir(ddir)).sort(), ["s"]);

    const deep = path.join(root, "mv-new", "a", "b", "c.txt");
    res = await postJson(d, "/v1/fs/move", { from: dst, to: deep });
    assert.equal(res.status, 200, res.text);
    assert.equal(await fsp.readFile(deep, "utf8"), "new");
  });

  test("delete: a symlink to a directory is removed as a link, target intact", async () => {
    const target = path.join(root, "link-target");
    await fsp.mkdir(target);
    await fsp.writeFile(path.join(target, "keep"), "keep");
    const link = path.join(root, "link-to-target");
    await fsp.symlink(target, link);
    for (const recursive of [false, true]) {
      if (!(await exists(link))) await fsp.symlink(target, link);
      const res = await api(d, "DELETE", `/v1/fs/entry?path=${q(link)}${recursive ? "&recursive=true" : ""}`);
      assert.deepEqual(assertJson(res), { path: link });
      assert.equal(await exists(link), false);
      assert.equal(await fsp.readFile(path.join(target, "keep"), "utf8"), "keep");
    }
  });

  test("delete: recursive=true on a file, empty dir without recursive", async () => {
    const f = path.join(root, "rf.txt");
    await fsp.writeFile(f, "x");
    assert.equal((await api(d, "DELETE", `/v1/fs/entry?path=${q(f)}&recursive=true`)).status, 200);
    assert.equal(await exists(f), false);
    const e = path.join(root, "empty-to-delete");
    await fsp.mkdir(e);
    assert.equal((await api(d, "DELETE", `/v1/fs/entry?path=${q(e)}`)).status, 200);
    assert.equal(await exists(e), false);
  });

  test("PUT: uploads over 2 MiB work, parents are created", async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
    const p = path.join(root, "big", "nested", "three-mib.bin");
    const res = await api(d, "PUT", `/v1/fs/file?path=${q(p)}`, { body: data, headers: { "Content-Type": "application/octet-stream" } });
    assert.deepEqual(assertJson(res), { path: p, bytesWritten: data.length });
    assert.ok((await fsp.readFile(p)).equals(data));
    const back = await api(d, "GET", `/v1/fs/file?path=${q(p)}`);
    assert.equal(back.status, 200);
    assert.equal(back.headers["content-type"], "application/octet-stream");
    assert.ok(back.body.equals(data));
  });

  test("PUT through a symlink to a file writes the target and keeps the link", async () => {
    // The reference (and every plain open(O_TRUNC)) writes through the link; replacing the link
    // with a regular file would silently break dotfile-style links.
    const target = path.join(root, "link-target.txt");
    const link = path.join(root, "link-to-file.txt");
    await fsp.writeFile(target, "old");
    await fsp.symlink("link-target.txt", link);
    const res = await api(d, "PUT", `/v1/fs/file?path=${q(link)}`, { body: "new content" });
    assert.equal(res.status, 200, res.text);
    assert.equal(assertJson(res).bytesWritten, 11);
    assert.ok((await fsp.lstat(link)).isSymbolicLink(), "the link is still a link");
    assert.equal(await fsp.readlink(link), "link-target.txt");
    assert.equal(await fsp.readFile(target, "utf8"), "new content");
    assert.equal((await api(d, "GET", `/v1/fs/file?path=${q(link)}`)).text, "new content");
  });

  test("PUT: an existing file keeps its mode; new files are 0644", async () => {
    const p = path.join(root, "mode.sh");
    await fsp.writeFile(p, "#!/bin/sh\n");
    await fsp.chmod(p, 0o750);
    const res = await api(d, "PUT", `/v1/fs/file?path=${q(p)}`, { body: "#!/bin/sh\necho hi\n" });
    assert.equal(res.status, 200, res.text);
    assert.equal((await fsp.stat(p)).mode & 0o7777, 0o750);
    assert.equal(await fsp.readFile(p, "utf8"), "#!/bin/sh\necho hi\n");
    const n = path.join(root, "fresh.txt");
    await api(d, "PUT", `/v1/fs/file?path=${q(n)}`, { body: "x" });
    assert.equal((await fsp.stat(n)).mode & 0o777, 0o644 & ~process.umask());
  });

  test("GET file: Range requests", async () => {
    const p = path.join(root, "range.bin");
    const data = Buffer.from("0123456789abcdefghij");
    await fsp.writeFile(p, data);
    const get = (range) => api(d, "GET", `/v1/fs/file?path=${q(p)}`, { headers: { Range: range } });
    let res = await get("bytes=2-5");
    assert.equal(res.status, 206);
    assert.equal(res.headers["content-range"], "bytes 2-5/20");
    assert.equal(res.headers["content-length"], "4");
    assert.equal(res.text, "2345");
    res = await get("bytes=-3");
    assert.equal(res.status, 206);
    assert.equal(res.headers["content-range"], "bytes 17-19/20");
    assert.equal(res.text, "hij");
    res = await get("bytes=15-");
    assert.equal(res.status, 206);
    assert.equal(res.headers["content-range"], "bytes 15-19/20");
    assert.equal(res.text, "fghij");
    res = await get("bytes=18-1000");
    assert.equal(res.status, 206);
    assert.equal(res.headers["content-range"], "bytes 18-19/20");
    assert.equal(res.text, "ij");
    res = await get("bytes=0-0");
    assert.equal(res.status, 206);
    assert.equal(res.text, "0");
    res = await get("bytes=20-");
    assertProblem(res, 416, "invalid_request");
    assert.equal(res.headers["content-range"], "bytes */20");
    res = await get("bytes=100-200");
    assertProblem(res, 416, "invalid_request");
    assert.equal(res.headers["content-range"], "bytes */20");
    // HEAD: headers, no body
    res = await api(d, "HEAD", `/v1/fs/file?path=${q(p)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-length"], "20");
    assert.equal(res.body.length, 0);
    res = await api(d, "HEAD", `/v1/fs/file?path=${q(p)}`, { headers: { Range: "bytes=2-5" } });
    assert.equal(res.status, 206);
    assert.equal(res.headers["content-length"], "4");
    assert.equal(res.headers["content-range"], "bytes 2-5/20");
    assert.equal(res.body.length, 0);
  });
});

describe("DELETE never removes HOME", () => {
  let d2;
  // Each case restores HOME first so that one failure does not cascade.
  async function populate() {
    await fsp.mkdir(path.join(d2.home, "sub"), { recursive: true });
    await fsp.writeFile(path.join(d2.home, "precious"), "do not delete");
  }
  before(async () => {
    d2 = await startDaemon();
  });
  after(async () => {
    await d2.stop();
  });

  for (const p of ["", "~", "~/", ".", "./", "~/."]) {
    test(`DELETE path=${JSON.stringify(p)} recursive=true → 400, HOME intact`, async () => {
      await populate();
      const before = await snapshot(d2.home);
      const res = await request(d2, { method: "DELETE", path: `/v1/fs/entry?path=${q(p)}&recursive=true` });
      assertProblem(res, 400, "invalid_request", `path=${JSON.stringify(p)}`);
      await assertUnchanged(d2.home, before, "HOME changed");
    });
  }
});
