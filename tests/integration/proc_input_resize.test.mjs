// Process API part 4: POST /v1/processes/{id}/input and /terminal/resize. API.md sections
// 4.10 and 4.11.
//
// Tests whose name ends in "(agentd)" check an agentd improvement over the reference
// (problem+json for framework errors) and are expected to fail when the file is run against
// the reference server (AGENTD_REF=1).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  api,
  assertJson,
  assertProblem,
  postJson,
  procCreate,
  procKillQuietly,
  procLogBytes,
  procLogs,
  procWaitExit,
  procWaitOutput,
  waitFor,
  startServer,
  PROC_CONFIG_DEFAULTS,
} from "./harness.mjs";

const start = startServer;

const DEFAULTS = PROC_CONFIG_DEFAULTS;

let d;
const cleanup = new Set();

before(async () => {
  d = await start();
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
const input = (id, body) => postJson(d, `/v1/processes/${id}/input`, body);
const resize = (id, body) => postJson(d, `/v1/processes/${id}/terminal/resize`, body);
const b64 = (s) => Buffer.from(s).toString("base64");

describe("POST input", () => {
  let cat;
  before(async () => {
    cat = await create({ command: "cat" });
  });

  test("default encoding is base64; bytesWritten counts decoded bytes; cat echoes to stdout", async () => {
    assert.deepEqual(assertJson(await input(cat.id, { data: b64("hello\n") })), { bytesWritten: 6 });
    await procWaitOutput(d, cat.id, "hello\n");
    assert.deepEqual(assertJson(await input(cat.id, { data: b64("null\n"), encoding: null })), { bytesWritten: 5 });
    assert.deepEqual(assertJson(await input(cat.id, { data: b64("b64\n"), encoding: "base64" })), { bytesWritten: 4 });
    await procWaitOutput(d, cat.id, "hello\nnull\nb64\n");
  });

  test("utf8 and text send the raw UTF-8 bytes", async () => {
    const before = procLogBytes((await procLogs(d, cat.id)).entries).length;
    assert.deepEqual(assertJson(await input(cat.id, { data: "wörld\n", encoding: "utf8" })), { bytesWritten: 7 });
    assert.deepEqual(assertJson(await input(cat.id, { data: "tëxt\n", encoding: "text" })), { bytesWritten: 6 });
    const all = await procWaitOutput(d, cat.id, "tëxt\n");
    assert.equal(Buffer.from(all).subarray(before).toString(), "wörld\ntëxt\n");
  });

  test("empty data writes nothing", async () => {
    assert.deepEqual(assertJson(await input(cat.id, { data: "" })), { bytesWritten: 0 });
    assert.deepEqual(assertJson(await input(cat.id, { data: "", encoding: "utf8" })), { bytesWritten: 0 });
  });

  test("binary bytes pass through exactly", async () => {
    const p = await create({ command: "cat" });
    const bytes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) bytes[i] = i;
    assert.deepEqual(assertJson(await input(p.id, { data: bytes.toString("base64") })), { bytesWritten: 256 });
    const got = await waitFor(async () => {
      const b = procLogBytes((await procLogs(d, p.id, "stream=stdout")).entries);
      return b.length >= 256 ? b : null;
    });
    assert.deepEqual(got, bytes);
  });

  test("exactly maxInputBytesPerRequest is accepted, one more byte → 413", async () => {
    const p = await create({ command: "cat" });
    const ok = Buffer.alloc(65536, 0x61);
    assert.deepEqual(assertJson(await input(p.id, { data: ok.toString("base64") })), { bytesWritten: 65536 });
    await waitFor(async () => procLogBytes((await procLogs(d, p.id)).entries).length === 65536, {
      what: "64 KiB echoed back",
    });
    const pr = assertProblem(await input(p.id, { data: Buffer.alloc(65537, 0x62).toString("base64") }), 413, "invalid_request");
    assert.equal(pr.title, "Payload Too Large");
    assert.match(pr.detail, /maxInputBytesPerRequest \(65536\)/);
    // nothing of the refused request was written
    assert.deepEqual(assertJson(await input(p.id, { data: "end\n", encoding: "utf8" })), { bytesWritten: 4 });
    const all = await procWaitOutput(d, p.id, "end\n");
    assert.equal(all.length, 65536 + 4);
  });

  test("the limit follows the config and counts decoded bytes", async () => {
    assertJson(await postJson(d, "/v1/processes/config", { ...DEFAULTS, maxInputBytesPerRequest: 16 }));
    try {
      assert.deepEqual(assertJson(await input(cat.id, { data: "x".repeat(15) + "\n", encoding: "utf8" })), { bytesWritten: 16 });
      assertProblem(await input(cat.id, { data: "é".repeat(9), encoding: "utf8" }), 413, "invalid_request", "18 bytes in 9 chars");
      assertProblem(await input(cat.id, { data: b64("y".repeat(17)) }), 413, "invalid_request");
      const p = assertProblem(await input(cat.id, { data: "z".repeat(17), encoding: "text" }), 413, "invalid_request");
      assert.match(p.detail, /\(16\)/);
    } finally {
      assertJson(await postJson(d, "/v1/processes/config", DEFAULTS));
    }
  });

  test("a tty process gets the bytes on its terminal (echoed into the pty log)", async () => {
    const p = await create({ command: "cat", tty: true });
    assert.deepEqual(assertJson(await input(p.id, { data: "abc\n", encoding: "utf8" })), { bytesWritten: 4 });
    await procWaitOutput(d, p.id, "abc\r\nabc\r\n", { what: "echo + cat output" });
  });

  test("bad encodings and bad base64 → 400 invalid_request", async () => {
    for (const encoding of ["hex", "UTF-8", "BASE64", "latin1", ""]) {
      const p = assertProblem(await input(cat.id, { data: "aGk=", encoding }), 400, "invalid_request", encoding);
      assert.match(p.detail, /encoding must be one of: base64, utf8, text/, encoding);
    }
    for (const data of ["hello\n", "!!!!", "aGVs bG8K", "aGVsbG8K\n"]) {
      assertProblem(await input(cat.id, { data }), 400, "invalid_request", JSON.stringify(data));
    }
  });

  test("exited process → 409 conflict; unknown → 404", async () => {
    const p = await create({ command: "true" });
    await procWaitExit(d, p.id);
    const c = assertProblem(await input(p.id, { data: b64("x") }), 409, "conflict");
    assert.match(c.detail, /not running/);
    const n = assertProblem(await input("proc_777777", { data: b64("x") }), 404, "not_found");
    assert.deepEqual(n.details, { id: "proc_777777", resource: "process" });
  });

  test("missing or mistyped data → 422 problem (agentd)", async () => {
    assertProblem(await input(cat.id, {}), 422, "invalid_request");
    assertProblem(await input(cat.id, { data: 5 }), 422, "invalid_request");
    assertProblem(await input(cat.id, { data: "aGk=", encoding: 1 }), 422, "invalid_request");
  });
});

describe("POST input with eof: true closes stdin (agentd)", () => {
  test("the data goes first, then the child reads end-of-file; later input is 409", async () => {
    // sh goes on after cat so that the process is still running for the later input.
    const p = await create({ command: "sh", args: ["-c", "cat; echo after-eof; read x || exit 3; echo never"] });
    assert.deepEqual(assertJson(await input(p.id, { data: "last line\n", encoding: "utf8", eof: true })), { bytesWritten: 10 });
    await procWaitOutput(d, p.id, "last line\nafter-eof\n");
    // `read` sees end-of-file too, so the shell ends on its own.
    const done = await procWaitExit(d, p.id);
    assert.equal(done.exitCode, 3);
    const c = assertProblem(await input(p.id, { data: b64("x") }), 409, "conflict");
    assert.match(c.detail, /not running/);
  });

  test("eof alone (no data) closes stdin; input after it → 409 while the process runs", async () => {
    const p = await create({ command: "sh", args: ["-c", "cat; echo closed; exec sleep 30"] });
    assert.deepEqual(assertJson(await input(p.id, { eof: true })), { bytesWritten: 0 });
    await procWaitOutput(d, p.id, "closed\n");
    const c = assertProblem(await input(p.id, { data: b64("x") }), 409, "conflict");
    assert.match(c.detail, /input is closed/);
    assertProblem(await input(p.id, { eof: true }), 409, "conflict");
    assert.equal(assertJson(await api(d, "GET", `/v1/processes/${p.id}`)).status, "running");
  });

  test("a large write then eof: every byte arrives before the end", async () => {
    const p = await create({ command: "sh", args: ["-c", "wc -c"] });
    const bytes = Buffer.alloc(65536, 0x7a);
    for (let i = 0; i < 3; i++) assertJson(await input(p.id, { data: bytes.toString("base64") }));
    assertJson(await input(p.id, { data: bytes.toString("base64"), eof: true }));
    await procWaitExit(d, p.id);
    assert.equal(procLogBytes((await procLogs(d, p.id, "stream=stdout")).entries).toString().trim(), String(4 * 65536));
  });

  test("a terminal has no end of input: 409 that names the EOF character, the process untouched", async () => {
    const p = await create({ command: "cat", tty: true });
    const c = assertProblem(await input(p.id, { data: "abc", encoding: "utf8", eof: true }), 409, "conflict");
    assert.match(c.detail, /end-of-file character/);
    assert.match(c.detail, /\\u0004/);
    // Nothing of the refused request reached the terminal, and it still takes input.
    assertJson(await input(p.id, { data: "ok\n", encoding: "utf8" }));
    const out = await procWaitOutput(d, p.id, "ok\r\nok\r\n");
    assert.equal(out.toString(), "ok\r\nok\r\n");
  });

  test("eof must be a boolean; eof: false keeps data required", async () => {
    const p = await create({ command: "cat" });
    for (const eof of ["yes", 1, {}]) {
      const pr = assertProblem(await input(p.id, { data: "", eof }), 422, "invalid_request", JSON.stringify(eof));
      assert.match(pr.detail, /eof/);
    }
    assertProblem(await input(p.id, { eof: false }), 422, "invalid_request");
    assert.equal(assertJson(await api(d, "GET", `/v1/processes/${p.id}`)).status, "running", "stdin still open");
    assert.deepEqual(assertJson(await input(p.id, { data: "still\n", encoding: "utf8" })), { bytesWritten: 6 });
    await procWaitOutput(d, p.id, "still\n");
  });
});

describe("POST terminal/resize", () => {
  test("resize changes what `stty size` reports inside the terminal", async () => {
    const sh = await create({ command: "sh", tty: true });
    assert.deepEqual(assertJson(await input(sh.id, { data: "stty size\n", encoding: "utf8" })), { bytesWritten: 10 });
    await procWaitOutput(d, sh.id, "24 80", { what: "initial 80x24" });
    assert.deepEqual(assertJson(await resize(sh.id, { cols: 100, rows: 33 })), { cols: 100, rows: 33 });
    assertJson(await input(sh.id, { data: b64("stty size\n") }));
    await procWaitOutput(d, sh.id, "33 100");
    assertJson(await input(sh.id, { data: "exit 4\n", encoding: "utf8" }));
    const done = await procWaitExit(d, sh.id);
    assert.equal(done.exitCode, 4);
  });

  test("0x0 and 65535x65535 are accepted and echoed", async () => {
    const p = await create({ command: "sleep", args: ["30"], tty: true });
    assert.deepEqual(assertJson(await resize(p.id, { cols: 0, rows: 0 })), { cols: 0, rows: 0 });
    assert.deepEqual(assertJson(await resize(p.id, { cols: 65535, rows: 65535 })), { cols: 65535, rows: 65535 });
    assertJson(await api(d, "POST", `/v1/processes/${p.id}/kill`));
  });

  test("pipe process → 409 conflict; exited tty → 409; unknown → 404", async () => {
    const pipe = await create({ command: "sleep", args: ["30"] });
    const c = assertProblem(await resize(pipe.id, { cols: 10, rows: 10 }), 409, "conflict");
    assert.match(c.detail, /not running in tty mode/);
    assertJson(await api(d, "POST", `/v1/processes/${pipe.id}/kill`));

    const tty = await create({ command: "true", tty: true });
    await procWaitExit(d, tty.id);
    assertProblem(await resize(tty.id, { cols: 10, rows: 10 }), 409, "conflict");

    assertProblem(await resize("proc_888888", { cols: 10, rows: 10 }), 404, "not_found");
  });

  test("out-of-range, negative or missing sizes → 422 problem (agentd)", async () => {
    const p = await create({ command: "sleep", args: ["30"], tty: true });
    for (const body of [{ cols: 65536, rows: 10 }, { cols: 10, rows: 70000 }, { cols: -1, rows: 10 }, { cols: 10 }, { rows: 10 }, { cols: "10", rows: 10 }, { cols: 1.5, rows: 10 }]) {
      assertProblem(await resize(p.id, body), 422, "invalid_request", JSON.stringify(body));
    }
    assertJson(await api(d, "POST", `/v1/processes/${p.id}/kill`));
  });
});
