// A batch upload into a full disk must not lie: 507, and no partial file. The test mounts a
// small tmpfs of its own (root only; skipped with a message otherwise).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes, createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { startDaemon, request, assertProblem, assertHealthWithin, realTempDir, makeTar, q } from "./harness.mjs";

const root = process.getuid && process.getuid() === 0;
if (!root) console.log("# fs_full_disk: not root, cannot mount a tmpfs: skipped");

describe("upload-batch into a full disk", { skip: !root && "needs root to mount a tmpfs" }, () => {
  let d;
  let mnt;
  before(async () => {
    mnt = await realTempDir("agentd-fulldisk-");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
    d = await startDaemon();
  });
  after(async () => {
    if (d) await d.stop();
    if (mnt) execFileSync("umount", [mnt]);
  });

  const upload = (dest, tar) =>
    request(d, { method: "POST", path: `/v1/fs/upload-batch?path=${q(dest)}`, headers: { "Content-Type": "application/x-tar" }, body: tar });

  test("a 16 MiB file into 8 MiB: 507, no partial file, the earlier entries intact", async () => {
    const small = randomBytes(1000);
    const big = randomBytes(16 << 20);
    const dest = path.join(mnt, "dst");
    const res = await upload(dest, makeTar([{ name: "small.bin", data: small }, { name: "16m", data: big }]));
    const p = assertProblem(res, 507, "stream_error");
    assert.match(p.detail, /no space left to extract 16m/);
    assert.match(p.detail, /1 entries were extracted before it/);
    const names = await fsp.readdir(dest);
    assert.deepEqual(names, ["small.bin"], `left behind: ${names.join(", ")}`);
    assert.ok(fs.readFileSync(path.join(dest, "small.bin")).equals(small));
    await assertHealthWithin(d);
  });

  test("a file that fits is whole afterwards, and replacing it with one that does not keeps the old one", async () => {
    const dest = path.join(mnt, "dst2");
    const first = randomBytes(2 << 20);
    assert.equal((await upload(dest, makeTar([{ name: "f", data: first }]))).status, 200);
    const res = await upload(dest, makeTar([{ name: "f", data: randomBytes(12 << 20) }]));
    assertProblem(res, 507, "stream_error");
    const now = fs.readFileSync(path.join(dest, "f"));
    assert.equal(createHash("sha256").update(now).digest("hex"), createHash("sha256").update(first).digest("hex"));
    assert.deepEqual(await fsp.readdir(dest), ["f"]);
  });
});
