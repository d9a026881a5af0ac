// Hostile input, family 5: tar bombs against POST /v1/fs/upload-batch. Many symlinks (the
// check that no entry is written through one must stay linear), every spelling of a path
// through the archive's own symlink, hard links to a file outside the destination, and a 10 GB
// sparse entry (it must stay sparse). Each refusal leaves the disk as it was, and /v1/health
// answers within 100 ms from another connection. More symlink and hard-link cases, one by one,
// are in fs_tar.test.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import zlib from "node:zlib";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import {
  startDaemon,
  request,
  assertProblem,
  assertHealthWithin,
  snapshot,
  assertUnchanged,
  realTempDir,
  makeTar,
  tarEntry,
  q,
} from "./harness.mjs";

let d;
let dir;
let OUT; // where the archives' symlinks point: must never be written
before(async () => {
  d = await startDaemon();
  dir = await realTempDir("agentd-tarbomb-");
  OUT = await realTempDir("agentd-tarbomb-out-");
});
after(async () => {
  if (d) await d.stop();
});

const upload = (dest, body, timeout = 120000) =>
  request(d, {
    method: "POST",
    path: `/v1/fs/upload-batch?path=${q(dest)}`,
    headers: { "Content-Type": "application/x-tar" },
    body,
    timeout,
  });

describe("tar bombs", () => {
  test("20,000 symlinks then a file under the last one: refused, and health answers meanwhile", async () => {
    const n = 20000;
    const entries = [];
    for (let i = 0; i < n; i++) entries.push(tarEntry({ name: `d${i % 100}/l${i}`, type: "symlink", linkname: "." }));
    entries.push(tarEntry({ name: `d${(n - 1) % 100}//./l${n - 1}/escape.txt`, data: "through a symlink" }));
    const dest = path.join(dir, "links");
    const pending = upload(dest, makeTar(entries));
    // The loop is never blocked by the validation (it runs on the pool).
    let probes = 0;
    let done = false;
    pending.finally(() => (done = true));
    while (!done) {
      await assertHealthWithin(d, 0, `probe ${probes}`);
      probes++;
    }
    const res = await pending;
    const p = assertProblem(res, 400, "invalid_request");
    assert.match(p.detail, new RegExp(`through the symlink d${(n - 1) % 100}/l${n - 1} it creates`));
    assert.equal(fs.existsSync(dest), false, "nothing was extracted");
  });

  const through = () => [
    ["l then l/x", [{ name: "l", type: "symlink", linkname: OUT }, { name: "l/x", data: "x" }]],
    ["d/l then d//l/x", [{ name: "d/", type: "dir" }, { name: "d/l", type: "symlink", linkname: OUT }, { name: "d//l/x", data: "x" }]],
    ["d/l then d/./l/x", [{ name: "d/", type: "dir" }, { name: "d/l", type: "symlink", linkname: OUT }, { name: "d/./l/x", data: "x" }]],
    ["a symlink named l/ then l/x", [{ name: "l/", type: "symlink", linkname: OUT }, { name: "l/x", data: "x" }]],
    ["./d/l then d/l/sub/x", [{ name: "./d/l", type: "symlink", linkname: OUT }, { name: "d/l/sub/x", data: "x" }]],
    ["l then a directory l/sub/", [{ name: "l", type: "symlink", linkname: OUT }, { name: "l/sub/", type: "dir" }]],
    ["l then a hard link l/h", [{ name: "f", data: "f" }, { name: "l", type: "symlink", linkname: OUT }, { name: "l/h", type: "hardlink", linkname: "f" }]],
  ];
  for (let i = 0; i < 7; i++) {
    test(`no spelling writes through the archive's own symlink (case ${i + 1})`, async () => {
      const [name, entries] = through()[i];
      const before = await snapshot(dir);
      const outBefore = await snapshot(OUT);
      const res = await upload(path.join(dir, "spell"), makeTar(entries));
      const p = assertProblem(res, 400, "invalid_request", name);
      assert.match(p.detail, /written through the symlink/, name);
      await assertUnchanged(dir, before);
      await assertUnchanged(OUT, outBefore, "wrote outside through the symlink");
      await assertHealthWithin(d);
    });
  }

  test("a million tiny entries (a 1 MB-ish gzip) is refused before anything is extracted", async () => {
    // One header per entry, patched in place: name and checksum.
    const tmpl = tarEntry({ name: "f0000000" });
    const gz = zlib.createGzip({ level: 1 });
    const parts = [];
    gz.on("data", (c) => parts.push(c));
    const ended = new Promise((r) => gz.on("end", r));
    const block = Buffer.alloc(512 * 1000);
    for (let i = 0; i < 1000000; i++) {
      const h = block.subarray((i % 1000) * 512, (i % 1000) * 512 + 512);
      tmpl.copy(h);
      h.write(`f${String(i).padStart(7, "0")}`, 0, "latin1");
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (let k = 0; k < 512; k++) sum += h[k];
      h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
      if (i % 1000 === 999) gz.write(Buffer.from(block));
    }
    gz.end(Buffer.alloc(1024));
    await ended;
    const body = Buffer.concat(parts);
    const before = await snapshot(dir);
    const res = await upload(path.join(dir, "million"), body);
    const p = assertProblem(res, 413, "invalid_request");
    assert.match(p.detail, /more than 250000 entries/);
    await assertUnchanged(dir, before);
    await assertHealthWithin(d);
  });

  test("files declaring more than 64 GiB in all are refused before anything is extracted", async () => {
    // One header declaring 70 GiB (GNU base-256 size field), no data: refused on the header.
    const h = tarEntry({ name: "big" });
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h.writeBigUInt64BE(70n * 1024n ** 3n, 128);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    const before = await snapshot(dir);
    const res = await upload(path.join(dir, "huge"), h);
    const p = assertProblem(res, 413, "invalid_request");
    assert.match(p.detail, /more than \d+ bytes in all/);
    await assertUnchanged(dir, before);
    await assertHealthWithin(d);
  });

  test("hard links to a file outside the destination are refused: nothing extracted, the file not linked", async () => {
    const secret = path.join(OUT, "secret.txt");
    await fsp.writeFile(secret, "secret");
    const dest = path.join(dir, "hard");
    const cases = [
      ["an absolute link name", [{ name: "ok.txt", data: "ok" }, { name: "h", type: "hardlink", linkname: secret }]],
      ["a ../ link name", [{ name: "ok.txt", data: "ok" }, { name: "h", type: "hardlink", linkname: path.relative(dest, secret) }]],
      ["a ../ link name from a subdirectory", [{ name: "sub/", type: "dir" }, { name: "sub/h", type: "hardlink", linkname: `../${path.relative(dest, secret)}` }]],
    ];
    for (const [name, entries] of cases) {
      const before = await snapshot(dir);
      const outBefore = await snapshot(OUT);
      const res = await upload(dest, makeTar(entries));
      const p = assertProblem(res, 400, "invalid_request", name);
      assert.match(p.detail, /hard link/i, name);
      assert.equal(fs.existsSync(dest), false, `${name}: nothing was extracted`);
      await assertUnchanged(dir, before, `${name}: the destination's tree changed`);
      await assertUnchanged(OUT, outBefore, `${name}: the outside changed`);
      assert.equal(fs.statSync(secret).nlink, 1, `${name}: the outside file got a second link`);
      await assertHealthWithin(d, 0, name);
    }
  });

  // A hard link whose target is named through a symlink the archive itself creates
  // (`l -> OUT`, then `h` linking to `l/secret.txt`).
  const throughOwnSymlink = () => [
    { name: "ok.txt", data: "ok" },
    { name: "l", type: "symlink", linkname: OUT },
    { name: "h", type: "hardlink", linkname: "l/secret.txt" },
  ];

  test("a hard link to l/secret.txt through the archive's own symlink l -> outside never links the outside file", async () => {
    const secret = path.join(OUT, "secret.txt");
    await fsp.writeFile(secret, "secret");
    const outBefore = await snapshot(OUT);
    const res = await upload(path.join(dir, "hard-sym"), makeTar(throughOwnSymlink()));
    assert.ok(res.status >= 400 && res.status < 500, `refused: ${res.status} ${res.text}`);
    await assertUnchanged(OUT, outBefore, "the outside changed");
    assert.equal(fs.statSync(secret).nlink, 1, "the outside file got a second link");
    await assertHealthWithin(d);
    await fsp.rm(path.join(dir, "hard-sym"), { recursive: true, force: true });
  });

  // docs/api/fs.md promises this case is refused in the validation pass (400, nothing
  // created); before 2026-12-04 the validation missed it and extraction failed on the link
  // with 409, leaving ok.txt (the entries before it) in the destination.
  test(
    "a hard link through the archive's own symlink is refused before anything is extracted (400, docs/api/fs.md)",
    async () => {
      const before = await snapshot(dir);
      const res = await upload(path.join(dir, "hard-sym2"), makeTar(throughOwnSymlink()));
      try {
        assertProblem(res, 400, "invalid_request");
        assert.equal(fs.existsSync(path.join(dir, "hard-sym2")), false, "nothing was extracted");
        await assertUnchanged(dir, before);
      } finally {
        await fsp.rm(path.join(dir, "hard-sym2"), { recursive: true, force: true });
      }
    },
  );

  test("a hard link through a symlink already on disk in the destination is 409 before anything is extracted", async () => {
    const secret = path.join(OUT, "secret.txt");
    await fsp.writeFile(secret, "secret");
    const dest = path.join(dir, "hard-disk-sym");
    await fsp.mkdir(dest);
    await fsp.symlink(OUT, path.join(dest, "l"));
    const before = await snapshot(dir);
    const outBefore = await snapshot(OUT);
    try {
      const res = await upload(dest, makeTar([{ name: "ok.txt", data: "ok" }, { name: "h", type: "hardlink", linkname: "l/secret.txt" }]));
      const p = assertProblem(res, 409, "conflict");
      assert.match(p.detail, /hard link h -> l\/secret.txt goes through .*\/l, a symlink already on disk/);
      await assertUnchanged(dir, before);
      await assertUnchanged(OUT, outBefore, "the outside changed");
      assert.equal(fs.statSync(secret).nlink, 1, "the outside file got a second link");
      await assertHealthWithin(d);
    } finally {
      await fsp.rm(dest, { recursive: true, force: true });
    }
  });

  test("a 10 GB sparse entry stays sparse on disk", async () => {
    const src = await realTempDir("agentd-sparse-src-");
    const f = path.join(src, "sparse.img");
    await fsp.writeFile(f, "head");
    await fsp.truncate(f, 10 * 1024 ** 3);
    const fd = await fsp.open(f, "r+");
    await fd.write("tail", 10 * 1024 ** 3 - 4);
    await fd.close();
    const tar = execFileSync("tar", ["-S", "-C", src, "-cf", "-", "sparse.img"], { maxBuffer: 64 << 20 });
    assert.ok(tar.length < 1 << 20, `the archive is small (${tar.length} bytes)`);
    const dest = path.join(dir, "sparse");
    const res = await upload(dest, tar);
    assert.equal(res.status, 200, res.text);
    const st = fs.statSync(path.join(dest, "sparse.img"));
    assert.equal(st.size, 10 * 1024 ** 3);
    assert.ok(st.blocks * 512 < 16 << 20, `allocated ${st.blocks * 512} bytes`);
    const h = await fsp.open(path.join(dest, "sparse.img"));
    const b = Buffer.alloc(4);
    await h.read(b, 0, 4, 10 * 1024 ** 3 - 4);
    await h.close();
    assert.equal(b.toString(), "tail");
    await fsp.rm(dest, { recursive: true });
    await assertHealthWithin(d);
  });
});
