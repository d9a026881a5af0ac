// Desktop clipboard (spec 5.7) under a throwaway Xvfb, against xclip as an independent X client in
// both directions: agentd owns the selection in-process (its own connection and thread) and
// serves it to xclip; xclip owns it and agentd reads it. UTF-8, values far above the server's
// maximum request (INCR both ways), each selection, empty text, an owner that never answers.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import { api, assertJson, assertProblem, postJson, q, sdkError, startServer, waitFor } from "./harness.mjs";
import { displayNum, startDesktop } from "./desktop_helpers.mjs";

const XWIN = path.resolve(
  process.env.AGENTD_XWIN || new URL("../../build/tests/desk_xwin", import.meta.url).pathname,
);

let d;
let idle;
let display;
const children = [];

before(async () => {
  idle = await startServer();
  let status;
  ({ d, status } = await startDesktop());
  display = status.display;
});

after(async () => {
  for (const c of children) c.kill("SIGKILL");
  if (d) await d.stop();
  if (idle) await idle.stop();
});

const UNICODE = "Grüße, café — 中文字符 日本語 한국어 🎉👩‍💻 ✓\ttab\nnew line";

const setClip = async (text, selection) =>
  assertJson(await postJson(d, "/v1/desktop/clipboard", selection === undefined ? { text } : { text, selection }), 200, "set");
const getClip = async (selection) =>
  assertJson(await api(d, "GET", `/v1/desktop/clipboard${selection === undefined ? "" : `?selection=${q(selection)}`}`), 200, "get");

/** xclip -o: what another X client reads (bytes). */
function xclipOut(selection, target) {
  const args = ["-o", "-selection", selection];
  if (target) args.push("-t", target);
  const r = spawnSync("xclip", args, { env: { ...process.env, DISPLAY: display }, timeout: 10000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `xclip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/**
 * xclip -i in the foreground (-quiet), owning `selection` with `bytes` until killed or until
 * another client takes the selection.
 */
function xclipIn(selection, bytes) {
  const child = spawn("xclip", ["-i", "-quiet", "-selection", selection], {
    env: { ...process.env, DISPLAY: display },
    stdio: ["pipe", "ignore", "pipe"],
  });
  children.push(child);
  child.stdin.end(bytes);
  return child;
}

/** Wait until agentd reads `text` from `selection` (xclip takes ownership asynchronously). */
async function agentdReads(selection, text) {
  let last;
  await waitFor(
    async () => {
      last = await getClip(selection);
      return last.text === text;
    },
    { interval: 10, what: `agentd reading ${selection} (last: ${JSON.stringify(last && last.text.slice(0, 80))})` },
  );
  return last;
}

describe("reading when nobody owns a selection", () => {
  test("empty text, the selection echoed", async () => {
    assert.deepEqual(await getClip(), { text: "", selection: "clipboard" });
    assert.deepEqual(await getClip("primary"), { text: "", selection: "primary" });
    assert.deepEqual(await getClip("secondary"), { text: "", selection: "secondary" });
  });
});

describe("agentd owns, xclip reads", () => {
  test("POST answers at once and xclip reads exactly the UTF-8 text", async () => {
    const t = Date.now();
    assert.deepEqual(await setClip(UNICODE), { ok: true });
    assert.ok(Date.now() - t < 2000, "no hang until someone else takes the selection");
    assert.equal(xclipOut("clipboard").toString("utf8"), UNICODE);
    assert.equal(xclipOut("clipboard", "UTF8_STRING").toString("utf8"), UNICODE);
    assert.equal(xclipOut("clipboard", "text/plain;charset=utf-8").toString("utf8"), UNICODE);
    // The read right after the write sees it (agentd answers from memory while it owns it).
    assert.deepEqual(await getClip(), { text: UNICODE, selection: "clipboard" });
  });

  test("TARGETS and the Latin-1 STRING target", async () => {
    await setClip("Grüße € 中");
    const targets = xclipOut("clipboard", "TARGETS").toString("utf8").split("\n").filter(Boolean);
    for (const t of ["TARGETS", "UTF8_STRING", "STRING", "TEXT", "TIMESTAMP"]) assert.ok(targets.includes(t), targets.join(","));
    assert.deepEqual([...xclipOut("clipboard", "STRING")], [...Buffer.from("Gr\xfc\xdfe ? ?", "latin1")]);
  });

  test("primary, secondary and both are separate selections", async () => {
    await setClip("in clipboard", "clipboard");
    await setClip("in primary", "primary");
    await setClip("in secondary", "secondary");
    assert.equal(xclipOut("clipboard").toString(), "in clipboard");
    assert.equal(xclipOut("primary").toString(), "in primary");
    assert.equal(xclipOut("secondary").toString(), "in secondary");
    assert.equal((await getClip("primary")).text, "in primary");
    assert.equal((await getClip()).text, "in clipboard");
    assert.deepEqual(await setClip("in both", "both"), { ok: true });
    assert.equal(xclipOut("clipboard").toString(), "in both");
    assert.equal(xclipOut("primary").toString(), "in both");
    assert.equal(xclipOut("secondary").toString(), "in secondary");
    assert.deepEqual(await getClip("both"), { text: "in both", selection: "both" });
    assert.deepEqual(await getClip("PRIMARY"), { text: "in both", selection: "primary" }, "names are case-insensitive");
  });

  test("empty text is a value too", async () => {
    await setClip("not empty");
    assert.deepEqual(await setClip(""), { ok: true });
    assert.equal(xclipOut("clipboard").length, 0);
    assert.deepEqual(await getClip(), { text: "", selection: "clipboard" });
  });

  test("1 MiB (INCR: far above the server's maximum request)", async () => {
    const big = Array.from({ length: 1 << 20 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join("");
    const t = Date.now();
    await setClip(big);
    const out = xclipOut("clipboard");
    assert.equal(out.length, big.length);
    assert.ok(out.equals(Buffer.from(big)), "same bytes");
    // Multi-byte text across INCR piece boundaries too.
    const uni = "é中🎉".repeat(60000);
    await setClip(uni);
    assert.equal(xclipOut("clipboard").toString("utf8"), uni);
    assert.ok(Date.now() - t < 10000);
  });
});

describe("xclip owns, agentd reads", () => {
  test("UTF-8 text, and agentd notices it lost the selection", async () => {
    await setClip("agentd's value");
    const x = xclipIn("clipboard", Buffer.from(UNICODE));
    const r = await agentdReads("clipboard", UNICODE);
    assert.deepEqual(r, { text: UNICODE, selection: "clipboard" });
    x.kill("SIGKILL");
  });

  test("primary is read from its own owner", async () => {
    await setClip("clip stays", "clipboard");
    const x = xclipIn("primary", Buffer.from("prïmary from xclip"));
    await agentdReads("primary", "prïmary from xclip");
    assert.equal((await getClip("clipboard")).text, "clip stays");
    x.kill("SIGKILL");
  });

  test("3 MiB by INCR from xclip", async () => {
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = 0x41 + (i % 26);
    const x = xclipIn("clipboard", big);
    const r = await agentdReads("clipboard", big.toString("latin1"));
    assert.equal(r.text.length, big.length);
    x.kill("SIGKILL");
  });

  test("an owner that only offers STRING (Latin-1) is converted to UTF-8", async () => {
    const child = spawn("xclip", ["-i", "-quiet", "-selection", "clipboard", "-t", "STRING"], {
      env: { ...process.env, DISPLAY: display },
      stdio: ["pipe", "ignore", "pipe"],
    });
    children.push(child);
    child.stdin.end(Buffer.from("Grüße", "latin1"));
    await agentdReads("clipboard", "Grüße");
    child.kill("SIGKILL");
  });

  test("agentd takes it back; the write after a read is seen at once", async () => {
    const x = xclipIn("clipboard", Buffer.from("xclip again"));
    await agentdReads("clipboard", "xclip again");
    await setClip("mine again");
    assert.equal((await getClip()).text, "mine again");
    assert.equal(xclipOut("clipboard").toString(), "mine again");
    // xclip lost the selection: it exits by itself.
    await new Promise((resolve) => (x.exitCode !== null ? resolve() : x.on("exit", resolve)));
  });

  test("an owner that never answers: 500 clipboard_failed after the timeout, then all is well", async () => {
    const child = spawn(XWIN, ["--silent-owner", "CLIPBOARD"], { env: { ...process.env, DISPLAY: display }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    await waitFor(() => out.includes("ready"), { what: "silent owner ready" });
    const t = Date.now();
    const p = assertProblem(await api(d, "GET", "/v1/desktop/clipboard"), 500, "clipboard_failed");
    assert.equal(p.code, "clipboard_failed");
    assert.match(p.detail, /did not answer/);
    assert.ok(Date.now() - t < 5000);
    // Other selections are unaffected meanwhile, and a write takes the clipboard back.
    await setClip("recovered");
    assert.equal((await getClip()).text, "recovered");
    child.kill("SIGKILL");
  });
});

describe("bad input and inactive desktop", () => {
  const BAD = [
    ["unknown selection (GET)", "GET", "/v1/desktop/clipboard?selection=foo", null, 400, "desktop_invalid_action"],
    ["empty selection (GET)", "GET", "/v1/desktop/clipboard?selection=", null, 400, "desktop_invalid_action"],
    ["unknown selection (POST)", "POST", "/v1/desktop/clipboard", { text: "x", selection: "both2" }, 400, "desktop_invalid_action"],
    ["missing text", "POST", "/v1/desktop/clipboard", {}, 422, "invalid_request"],
    ["text as number", "POST", "/v1/desktop/clipboard", { text: 5 }, 422, "invalid_request"],
    ["text null", "POST", "/v1/desktop/clipboard", { text: null }, 422, "invalid_request"],
    ["selection as number", "POST", "/v1/desktop/clipboard", { text: "x", selection: 5 }, 422, "invalid_request"],
  ];
  for (const [name, method, p, body, status, kind] of BAD) {
    test(name, async () => {
      await setClip("unchanged");
      const res = body ? await postJson(d, p, body) : await api(d, method, p);
      assertProblem(res, status, kind);
      assert.equal((await getClip()).text, "unchanged");
    });
  }

  test("selection null means the default", async () => {
    assert.deepEqual(assertJson(await postJson(d, "/v1/desktop/clipboard", { text: "dflt", selection: null })), { ok: true });
    assert.equal(xclipOut("clipboard").toString(), "dflt");
  });

  test("POST needs a JSON body", async () => {
    assertProblem(await api(d, "POST", "/v1/desktop/clipboard", { body: '{"text":"x"}' }), 415, "invalid_request");
    assertProblem(await postJson(d, "/v1/desktop/clipboard", "{bad"), 400, "invalid_request");
  });

  test("inactive: 409 desktop_runtime_inactive", async () => {
    for (const res of [await api(idle, "GET", "/v1/desktop/clipboard"), await postJson(idle, "/v1/desktop/clipboard", { text: "x" })]) {
      const p = assertProblem(res, 409, "desktop_runtime_inactive");
      assert.equal(p.code, "desktop_runtime_inactive");
    }
  });
});

describe("official SDK", () => {
  test("setDesktopClipboard / getDesktopClipboard", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    assert.deepEqual(await sdk.setDesktopClipboard({ text: UNICODE }), { ok: true });
    assert.deepEqual(await sdk.getDesktopClipboard(), { text: UNICODE, selection: "clipboard" });
    await sdk.setDesktopClipboard({ text: "p", selection: "primary" });
    assert.deepEqual(await sdk.getDesktopClipboard({ selection: "primary" }), { text: "p", selection: "primary" });
    assert.equal(xclipOut("primary").toString(), "p");
    await sdkError(() => sdk.getDesktopClipboard({ selection: "nope" }), 400, "desktop_invalid_action");
    const sdkIdle = await SandboxAgent.connect({ baseUrl: idle.base });
    await sdkError(() => sdkIdle.setDesktopClipboard({ text: "x" }), 409, "desktop_runtime_inactive");
  });
});

describe("life cycle", () => {
  test("stop releases the selections; a restarted desktop has a working clipboard", async () => {
    await setClip("before stop");
    assertJson(await api(d, "POST", "/v1/desktop/stop"));
    assertProblem(await api(d, "GET", "/v1/desktop/clipboard"), 409, "desktop_runtime_inactive");
    const s = assertJson(await postJson(d, "/v1/desktop/start", { width: 800, height: 600, displayNum: displayNum() }));
    display = s.display;
    assert.deepEqual(await getClip(), { text: "", selection: "clipboard" });
    await setClip("after restart");
    assert.equal(xclipOut("clipboard").toString(), "after restart");
  });
});

describe("the X server dies while the clipboard connects", () => {
  test("the daemon survives (XCB, not Xlib's exit on I/O errors) and the clipboard comes back", async () => {
    // The clipboard thread connects right after start returns: killing Xvfb at once hits its
    // connection setup (or its first requests) most of the time.
    const { d: e, status } = await startDesktop();
    try {
      let s = status;
      // Three rounds: the runtime allows five restarts a minute, and openbox may use some too.
      for (let round = 0; round < 3; round++) {
        const old = s.processes.find((p) => p.name === "Xvfb").pid;
        process.kill(old, "SIGKILL");
        s = await waitFor(
          async () => {
            const st = assertJson(await api(e, "GET", "/v1/desktop/status"));
            return st.state === "active" && st.processes.find((p) => p.name === "Xvfb").pid !== old ? st : null;
          },
          { timeout: 5000, interval: 5, what: `the desktop back (round ${round})` },
        );
      }
      // Its clipboard works once the new connection is up (it may answer 503 for a moment).
      await waitFor(async () => (await postJson(e, "/v1/desktop/clipboard", { text: "survived" })).status === 200, {
        what: "a clipboard write after the restarts",
      });
      assert.deepEqual(assertJson(await api(e, "GET", "/v1/desktop/clipboard")), { text: "survived", selection: "clipboard" });
    } finally {
      await e.stop();
    }
  });
});
