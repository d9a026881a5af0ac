// tests/tools/callcycles.mjs, the CI check that no source file calls one that calls it back
// (issue 13): it must name a cycle between two objects and pass a one-way pair.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { realTempDir } from "./harness.mjs";

const TOOL = new URL("../tools/callcycles.mjs", import.meta.url).pathname;

async function objects(files) {
  const dir = await realTempDir("agentd-cycles-");
  fs.mkdirSync(path.join(dir, "m"));
  for (const [name, src] of Object.entries(files)) {
    const c = path.join(dir, "m", `${name}.c`);
    fs.writeFileSync(c, src);
    const r = spawnSync("cc", ["-c", "-o", path.join(dir, "m", `${name}.o`), c], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  }
  return dir;
}

test("a call cycle between two files is named, with the symbols, and fails", async () => {
  const dir = await objects({
    a: "int b_fn(void);\nint a_fn(void) { return b_fn(); }\n",
    b: "int a_fn(void);\nint b_fn(void) { return 1; }\nint b_other(void) { return a_fn(); }\n",
  });
  const r = spawnSync("node", [TOOL, dir], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /call cycle between m\/a\.c, m\/b\.c/);
  assert.match(r.stdout, /m\/a\.c -> m\/b\.c: b_fn/);
  assert.match(r.stdout, /m\/b\.c -> m\/a\.c: a_fn/);
});

test("calls that go one way pass", async () => {
  const dir = await objects({
    a: "int b_fn(void);\nint a_fn(void) { return b_fn(); }\n",
    b: "int b_fn(void) { return 1; }\n",
  });
  const r = spawnSync("node", [TOOL, dir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /no call cycle between the 2 files/);
});
