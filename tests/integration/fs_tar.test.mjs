// POST /v1/fs/upload-batch: tar extraction, all-or-nothing on bad archives.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import path from "node:path";
import { api, assertHealthWithin, assertJson, assertProblem, assertUnchanged, exists, makeTar, q, realTempDir, snapshot, startDaemon } from "./harness.mjs";

let d;
let W; // work area: each test extracts into its own destination below it
let OUT; // must never be touched

before(async () => {
  d = await startDaemon();
  W = await realTempDir("agentd-tar-");
  OUT = path.join(W, "outside");
  await fsp.mkdir(OUT);
  await fsp.writeFile(path.join(OUT, "secret.txt"), "secret");
});

after(async () => {
  await d.stop();
});

const TAR = { "Content-Type": "application/x-tar" };
const upload = (dest, body, headers = TAR) => api(d, "POST", `/v1/fs/upload-batch?path=${q(dest)}`, { body, headers });

describe("upload-batch success", () => {
  test("extracts files, dirs and symlinks in archive order; ./ stripped; parents created", async () => {
    const dest = path.join(W, "ok", "deep", "dest");
    const mtime = 1600000000;
    const tar = makeTar([
      { name: "./top.txt", data: "top", mtime },
      { name: "./dir/", type: "dir" },
      { name: "dir/inner.bin", data: Buffer.from([0, 1, 2, 255]) },
      { name: "implicit/parent/file.txt", data: "made parents" },
      { name: "exec.sh", data: "#!/bin/sh\n", mode: 0o755 },
      { name: "link", type: "symlink", linkname: "top.txt" },
      { name: `long/${"n".repeat(90)}/${"m".repeat(90)}.txt`, data: "long name via ustar prefix" },
    ]);
    const res = await upload(dest, tar);
    const body = assertJson(res);
    assert.deepEqual(body, {
      paths: [
        path.join(dest, "top.txt"),
        path.join(dest, "dir"),
        path.join(dest, "dir", "inner.bin"),
        path.join(dest, "implicit", "parent", "file.txt"),
        path.join(dest, "exec.sh"),
        path.join(dest, "link"),
        path.join(dest, "long", "n".repeat(90), `${"m".repeat(90)}.txt`),
      ],
      truncated: false,
    });
    assert.equal(await fsp.readFile(path.join(dest, "top.txt"), "utf8"), "top");
    assert.deepEqual(await fsp.readFile(path.join(dest, "dir", "inner.bin")), Buffer.from([0, 1, 2, 255]));
    assert.equal(await fsp.readFile(path.join(dest, "implicit", "parent", "file.txt"), "utf8"), "made parents");
    assert.equal(Math.round((await fsp.stat(path.join(dest, "top.txt"))).mtimeMs / 1000), mtime, "mtime preserved");
    assert.ok((await fsp.stat(path.join(dest, "exec.sh"))).mode & 0o100, "exec bit kept");
    assert.ok((await fsp.lstat(path.join(dest, "link"))).isSymbolicLink());
    assert.equal(await fsp.readlink(path.join(dest, "link")), "top.txt");
    assert.equal(
      await fsp.readFile(path.join(dest, "long", "n".repeat(90), `${"m".repeat(90)}.txt`), "utf8"),
      "long name via ustar prefix",
    );
  });

  test("content-type parameters are allowed; existing files are replaced", async () => {
    const dest = path.join(W, "ctp");
    await fsp.mkdir(dest);
    await fsp.writeFile(path.join(dest, "a.txt"), "old");
    const res = await upload(dest, makeTar([{ name: "a.txt", data: "new" }]), { "Content-Type": "application/x-tar; charset=binary" });
    assert.deepEqual(assertJson(res), { paths: [path.join(dest, "a.txt")], truncated: false });
    assert.equal(await fsp.readFile(path.join(dest, "a.txt"), "utf8"), "new");
  });

  test("relative destination resolves under HOME; default destination is HOME", async () => {
    let res = await upload("rel-dest", makeTar([{ name: "r.txt", data: "r" }]));
    assert.deepEqual(assertJson(res).paths, [path.join(d.home, "rel-dest", "r.txt")]);
    res = await api(d, "POST", "/v1/fs/upload-batch", { body: makeTar([{ name: "at-home.txt", data: "h" }]), headers: TAR });
    assert.deepEqual(assertJson(res).paths, [path.join(d.home, "at-home.txt")]);
    assert.equal(await fsp.readFile(path.join(d.home, "at-home.txt"), "utf8"), "h");
  });

  test("empty body → 200 with no paths", async () => {
    const dest = path.join(W, "empty");
    assert.deepEqual(assertJson(await upload(dest, Buffer.alloc(0))), { paths: [], truncated: false });
    assert.deepEqual(assertJson(await upload(dest, Buffer.alloc(1024))), { paths: [], truncated: false });
  });

  test("more than 1024 entries: 1024 listed, truncated, all extracted", async () => {
    const dest = path.join(W, "many");
    const N = 1100;
    const entries = [];
    for (let i = 0; i < N; i++) entries.push({ name: `f${String(i).padStart(4, "0")}.txt`, data: String(i) });
    const res = await upload(dest, makeTar(entries));
    const body = assertJson(res);
    assert.equal(body.truncated, true);
    assert.equal(body.paths.length, 1024);
    assert.equal(body.paths[0], path.join(dest, "f0000.txt"));
    assert.equal(body.paths[1023], path.join(dest, "f1023.txt"));
    const names = await fsp.readdir(dest);
    assert.equal(names.length, N);
    assert.equal(await fsp.readFile(path.join(dest, "f1099.txt"), "utf8"), "1099");
  });

  test("exactly 1024 entries is not truncated", async () => {
    const dest = path.join(W, "exact");
    const entries = [];
    for (let i = 0; i < 1024; i++) entries.push({ name: `e${i}`, data: "" });
    const body = assertJson(await upload(dest, makeTar(entries)));
    assert.equal(body.truncated, false);
    assert.equal(body.paths.length, 1024);
  });

  test("archives over 2 MiB are accepted", async () => {
    const dest = path.join(W, "big");
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const body = assertJson(await upload(dest, makeTar([{ name: "big.bin", data }])));
    assert.deepEqual(body.paths, [path.join(dest, "big.bin")]);
    assert.equal((await fsp.stat(path.join(dest, "big.bin"))).size, data.length);
  });
});

describe("upload-batch rejects and writes nothing", () => {
  const good = () => [
    { name: "first.txt", data: "written before the bad entry" },
    { name: "firstdir/", type: "dir" },
    { name: "firstdir/x.txt", data: "x" },
  ];

  /** Expect status/kind; neither the destination nor anything else in W may change. */
  async function rejects(label, body, status = 400, headers = TAR) {
    const bad = path.join(W, "bad");
    await fsp.mkdir(bad, { recursive: true });
    const dest = path.join(bad, label.replace(/[^a-z0-9]+/gi, "_"));
    const before = await snapshot(bad);
    const beforeOut = await snapshot(OUT);
    const beforeHome = await snapshot(d.home);
    const res = await upload(dest, body, headers);
    assertProblem(res, status, "invalid_request", label);
    assert.equal(await exists(dest), false, `${label}: destination created`);
    await assertUnchanged(bad, before, `${label}: something was written`);
    await assertUnchanged(OUT, beforeOut, `${label}: the outside changed`);
    await assertUnchanged(d.home, beforeHome, `${label}: HOME changed`);
  }

  test("wrong content type → 415", async () => {
    const tar = makeTar(good());
    await rejects("no content type", tar, 415, {});
    await rejects("application/tar", tar, 415, { "Content-Type": "application/tar" });
    await rejects("octet-stream", tar, 415, { "Content-Type": "application/octet-stream" });
    await rejects("json", tar, 415, { "Content-Type": "application/json" });
  });

  test("../ entries", async () => {
    await rejects("dotdot first", makeTar([{ name: "../escape.txt", data: "x" }]));
    await rejects("dotdot after good", makeTar([...good(), { name: "../escape.txt", data: "x" }]));
    await rejects("dotdot nested", makeTar([...good(), { name: "a/../../escape.txt", data: "x" }]));
    await rejects("dotdot inside", makeTar([...good(), { name: "a/../b.txt", data: "x" }]));
    await rejects("dotdot dir", makeTar([...good(), { name: "../escdir/", type: "dir" }]));
    await rejects("dotdot alone", makeTar([...good(), { name: "..", type: "dir" }]));
    assert.equal(await exists(path.join(W, "bad", "escape.txt")), false);
  });

  test("absolute entries", async () => {
    await rejects("absolute file", makeTar([...good(), { name: path.join(OUT, "abs.txt"), data: "x" }]));
    await rejects("absolute etc", makeTar([{ name: "/etc/agentd-should-not-exist", data: "x" }]));
    await rejects("absolute dir", makeTar([...good(), { name: `${OUT}/absdir/`, type: "dir" }]));
    assert.equal(await exists(path.join(OUT, "abs.txt")), false);
    assert.equal(await exists("/etc/agentd-should-not-exist"), false);
  });

  test("symlink to the outside followed by a write through it", async () => {
    await rejects(
      "symlink then write",
      makeTar([...good(), { name: "link", type: "symlink", linkname: OUT }, { name: "link/pwned.txt", data: "pwned" }]),
    );
    await rejects(
      "relative symlink then write",
      makeTar([{ name: "rlink", type: "symlink", linkname: "../../outside" }, { name: "rlink/pwned.txt", data: "pwned" }]),
    );
    await rejects(
      "symlink then dir through it",
      makeTar([{ name: "dlink", type: "symlink", linkname: OUT }, { name: "dlink/newdir/", type: "dir" }]),
    );
    assert.equal(await exists(path.join(OUT, "pwned.txt")), false);
    assert.equal(await exists(path.join(OUT, "newdir")), false);
  });

  test("hard links to paths outside the archive", async () => {
    await rejects("hardlink absolute", makeTar([...good(), { name: "h", type: "hardlink", linkname: path.join(OUT, "secret.txt") }]));
    await rejects("hardlink dotdot", makeTar([...good(), { name: "h", type: "hardlink", linkname: "../../outside/secret.txt" }]));
    assert.equal((await fsp.stat(path.join(OUT, "secret.txt"))).nlink, 1, "the outside file got a second link");
    await assertHealthWithin(d);
  });

  test("devices and FIFOs", async () => {
    await rejects("fifo", makeTar([...good(), { name: "p", type: "6" }]));
    await rejects("chardev", makeTar([...good(), { name: "c", type: "3" }]));
  });

  test("truncated or corrupt archives", async () => {
    const full = makeTar([...good(), { name: "big.txt", data: "y".repeat(5000) }]);
    await rejects("truncated in data", full.subarray(0, full.length - 1024 - 3000));
    await rejects("truncated in header", full.subarray(0, 512 + 512 + 100));
    await rejects("truncated mid block", full.subarray(0, 700));
    const badSum = Buffer.from(full);
    badSum[148] ^= 0x01; // checksum of the first header
    await rejects("bad checksum", badSum);
    const laterBad = Buffer.from(full);
    laterBad[3 * 512 + 148] ^= 0x01; // checksum of a later header
    await rejects("bad later header", laterBad);
    await rejects("garbage", Buffer.alloc(2048, 0x41));
    await rejects("text", Buffer.from("this is not a tar archive\n"));
  });

  test("a second upload cannot write through a symlink left by a first: 409, nothing written", async () => {
    // The link is neither written through nor replaced by a directory (docs/api/fs.md).
    const dest = path.join(W, "two-step");
    let res = await upload(dest, makeTar([{ name: "link", type: "symlink", linkname: OUT }]));
    assert.equal(res.status, 200, res.text);
    const before = await snapshot(dest);
    const beforeOut = await snapshot(OUT);
    res = await upload(dest, makeTar([{ name: "ok.txt", data: "ok" }, { name: "link/pwned.txt", data: "pwned" }]));
    await assertUnchanged(OUT, beforeOut, "wrote through the symlink");
    const p = assertProblem(res, 409, "conflict");
    assert.match(p.detail, /a symlink already on disk/);
    await assertUnchanged(dest, before);
    assert.ok((await fsp.lstat(path.join(dest, "link"))).isSymbolicLink(), "the link is still a link");
    // Every spelling of the same path is caught too.
    for (const name of ["link/x.txt", "link//x.txt", "./link/./x.txt"]) {
      const r2 = await upload(dest, makeTar([{ name, data: "x" }]));
      assertProblem(r2, 409, "conflict", name);
    }
    await assertUnchanged(dest, before);
  });
});
