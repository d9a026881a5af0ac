// The official TypeScript SDK (sandbox-agent@0.4.2), unmodified, against agentd: every
// filesystem method plus getHealth, checked against the real disk, and SDK error surfacing.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import path from "node:path";
import { SandboxAgent, SandboxAgentError } from "sandbox-agent";
import { makeTar, realTempDir, snapshot, startDaemon, assertUnchanged, exists, sdkError } from "./harness.mjs";

const TOKEN = "sdk-secret-token";
let d;
let sdk;
let work;

before(async () => {
  d = await startDaemon({ token: TOKEN });
  // connect() waits for /v1/health to say ok before any other call.
  sdk = await SandboxAgent.connect({ baseUrl: d.base, token: TOKEN });
  work = await realTempDir("agentd-sdk-");
});

after(async () => {
  if (sdk) await sdk.dispose();
  if (d) await d.stop();
});

describe("SDK against agentd", () => {
  test("getHealth", async () => {
    assert.deepEqual(await sdk.getHealth(), { status: "ok" });
  });

  test("writeFsFile creates parents and reports bytesWritten", async () => {
    const p = path.join(work, "w", "deep", "a.bin");
    const data = Buffer.from([0, 1, 2, 3, 255, 254, 10, 13]);
    const res = await sdk.writeFsFile({ path: p }, data);
    assert.deepEqual(res, { path: p, bytesWritten: data.length });
    assert.deepEqual(await fsp.readFile(p), data);

    const res2 = await sdk.writeFsFile({ path: p }, "shorter");
    assert.deepEqual(res2, { path: p, bytesWritten: 7 });
    assert.equal(await fsp.readFile(p, "utf8"), "shorter", "existing file truncated");

    const empty = await sdk.writeFsFile({ path: path.join(work, "w", "empty") }, new Uint8Array(0));
    assert.equal(empty.bytesWritten, 0);
    assert.equal((await fsp.stat(path.join(work, "w", "empty"))).size, 0);
  });

  test("writeFsFile with a relative path lands under $HOME", async () => {
    const res = await sdk.writeFsFile({ path: "sdk-rel/r.txt" }, "relative");
    assert.equal(res.path, path.join(d.home, "sdk-rel", "r.txt"));
    assert.equal(await fsp.readFile(path.join(d.home, "sdk-rel", "r.txt"), "utf8"), "relative");
    assert.equal(await exists(path.join(d.cwd, "sdk-rel")), false, "not resolved against the daemon cwd");
  });

  test("readFsFile returns the exact bytes", async () => {
    const p = path.join(work, "read.bin");
    const data = Buffer.alloc(70000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    await fsp.writeFile(p, data);
    const got = await sdk.readFsFile({ path: p });
    assert.ok(got instanceof Uint8Array);
    assert.deepEqual(Buffer.from(got), data);
    assert.equal((await sdk.readFsFile({ path: path.join(work, "w", "empty") })).length, 0);
  });

  test("mkdirFs creates missing parents and is idempotent", async () => {
    const p = path.join(work, "m", "n", "o");
    assert.deepEqual(await sdk.mkdirFs({ path: p }), { path: p });
    assert.ok((await fsp.stat(p)).isDirectory());
    assert.deepEqual(await sdk.mkdirFs({ path: p }), { path: p });
  });

  test("statFs reports type, size and mtime like the disk", async () => {
    const f = path.join(work, "stat.txt");
    await fsp.writeFile(f, "12345");
    const st = await sdk.statFs({ path: f });
    const real = await fsp.stat(f);
    assert.equal(st.path, f);
    assert.equal(st.entryType, "file");
    assert.equal(st.size, 5);
    assert.match(st.modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
    assert.ok(Math.abs(Date.parse(st.modified) - real.mtimeMs) < 1000);

    const dst = await sdk.statFs({ path: work });
    assert.equal(dst.entryType, "directory");
    assert.equal(dst.path, work);
  });

  test("listFsEntries matches readdir", async () => {
    const dir = path.join(work, "list");
    await fsp.mkdir(path.join(dir, "sub"), { recursive: true });
    await fsp.writeFile(path.join(dir, "one.txt"), "1");
    await fsp.writeFile(path.join(dir, ".hidden"), "hidden!");
    await fsp.symlink("sub", path.join(dir, "link"));
    const entries = await sdk.listFsEntries({ path: dir });
    assert.ok(Array.isArray(entries));
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    assert.deepEqual(Object.keys(byName).sort(), (await fsp.readdir(dir)).sort());
    for (const e of entries) assert.equal(e.path, path.join(dir, e.name));
    assert.equal(byName["one.txt"].entryType, "file");
    assert.equal(byName["one.txt"].size, 1);
    assert.equal(byName[".hidden"].size, 7);
    assert.equal(byName.sub.entryType, "directory");
    // symlinks are listed with lstat: a link to a directory is a "file" of the link's length
    assert.equal(byName.link.entryType, "file");
    assert.equal(byName.link.size, 3);
  });

  test("listFsEntries without a path lists $HOME", async () => {
    await fsp.writeFile(path.join(d.home, "home-marker"), "x");
    const entries = await sdk.listFsEntries();
    const names = entries.map((e) => e.name);
    assert.ok(names.includes("home-marker"), JSON.stringify(names));
    assert.deepEqual(names.sort(), (await fsp.readdir(d.home)).sort());
  });

  test("moveFs renames, creates parents of `to`, honours overwrite", async () => {
    const a = path.join(work, "mv", "a.txt");
    const b = path.join(work, "mv", "x", "y", "b.txt");
    await fsp.mkdir(path.dirname(a), { recursive: true });
    await fsp.writeFile(a, "move me");
    assert.deepEqual(await sdk.moveFs({ from: a, to: b }), { from: a, to: b });
    assert.equal(await exists(a), false);
    assert.equal(await fsp.readFile(b, "utf8"), "move me");

    const c = path.join(work, "mv", "c.txt");
    await fsp.writeFile(c, "winner");
    await sdkError(() => sdk.moveFs({ from: c, to: b }), 409, "conflict");
    assert.equal(await fsp.readFile(b, "utf8"), "move me", "destination untouched");
    assert.equal(await fsp.readFile(c, "utf8"), "winner", "source untouched");

    assert.deepEqual(await sdk.moveFs({ from: c, to: b, overwrite: true }), { from: c, to: b });
    assert.equal(await fsp.readFile(b, "utf8"), "winner");
    assert.equal(await exists(c), false);
  });

  test("deleteFsEntry removes files and (recursively) directories", async () => {
    const f = path.join(work, "del", "f.txt");
    await fsp.mkdir(path.join(work, "del", "tree", "inner"), { recursive: true });
    await fsp.writeFile(f, "bye");
    await fsp.writeFile(path.join(work, "del", "tree", "inner", "g"), "g");
    assert.deepEqual(await sdk.deleteFsEntry({ path: f }), { path: f });
    assert.equal(await exists(f), false);

    const tree = path.join(work, "del", "tree");
    await sdkError(() => sdk.deleteFsEntry({ path: tree }), 409, "conflict");
    assert.ok(await exists(path.join(tree, "inner", "g")), "nothing deleted without recursive");
    assert.deepEqual(await sdk.deleteFsEntry({ path: tree, recursive: true }), { path: tree });
    assert.equal(await exists(tree), false);
  });

  test("uploadFsBatch extracts a tar and lists the paths", async () => {
    const dest = path.join(work, "batch", "dest");
    const tar = makeTar([
      { name: "./top.txt", data: "top" },
      { name: "dir/", type: "dir" },
      { name: "dir/nested.txt", data: "nested" },
    ]);
    const res = await sdk.uploadFsBatch(tar, { path: dest });
    assert.deepEqual(res, {
      paths: [path.join(dest, "top.txt"), path.join(dest, "dir"), path.join(dest, "dir", "nested.txt")],
      truncated: false,
    });
    assert.equal(await fsp.readFile(path.join(dest, "top.txt"), "utf8"), "top");
    assert.equal(await fsp.readFile(path.join(dest, "dir", "nested.txt"), "utf8"), "nested");
  });

  test("SDK errors carry the problem (not_found, conflict, invalid_request)", async () => {
    const missing = path.join(work, "does-not-exist");
    const e1 = await sdkError(() => sdk.readFsFile({ path: missing }), 404, "not_found");
    assert.equal(e1.problem.title, "Not Found");
    await sdkError(() => sdk.statFs({ path: missing }), 404, "not_found");
    await sdkError(() => sdk.listFsEntries({ path: missing }), 404, "not_found");
    await sdkError(() => sdk.deleteFsEntry({ path: missing }), 404, "not_found");
    await sdkError(() => sdk.moveFs({ from: missing, to: path.join(work, "zz") }), 404, "not_found");

    const before = await snapshot(work);
    const e2 = await sdkError(() => sdk.writeFsFile({ path: work }, "x"), 409, "conflict");
    assert.equal(e2.problem.title, "Conflict");
    await sdkError(() => sdk.readFsFile({ path: work }), 409, "conflict");
    await sdkError(() => sdk.mkdirFs({ path: path.join(work, "stat.txt") }), 409, "conflict");
    await sdkError(() => sdk.listFsEntries({ path: path.join(work, "stat.txt") }), 409, "conflict");
    await sdkError(() => sdk.statFs({ path: "a/../b" }), 400, "invalid_request");
    await sdkError(
      () => sdk.uploadFsBatch(makeTar([{ name: "../escape.txt", data: "x" }]), { path: path.join(work, "bad-batch") }),
      400,
      "invalid_request",
    );
    await assertUnchanged(work, before);
  });

  test("a wrong token surfaces as a 401 token_invalid SandboxAgentError", async () => {
    const bad = await SandboxAgent.connect({ baseUrl: d.base, token: "wrong", skipHealthCheck: true });
    try {
      const e = await sdkError(() => bad.getHealth(), 401, "token_invalid");
      assert.equal(e.problem.title, "Token Invalid");
      await sdkError(() => bad.listFsEntries({ path: work }), 401, "token_invalid");
    } finally {
      await bad.dispose();
    }
  });
});
