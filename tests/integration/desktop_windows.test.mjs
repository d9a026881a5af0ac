// Desktop windows (spec 5.6, status.windows in 5.1) under a throwaway Xvfb + openbox. Managed
// windows come from tests/tools/desk_xwin (an ordinary application window with a known title and
// geometry), an unmanaged one from desk_xclient (override-redirect). Geometry is checked against
// xwininfo and xprop, independent X clients: agentd reports the window's root position plus the
// frame's left/top extents (what the reference reports through xdotool: a move to 10,20 under
// openbox reads back as 12,60), and its own width and height.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import { api, assertJson, assertProblem, postJson, request, sdkError, startServer, waitFor } from "./harness.mjs";
import { startDesktop, startXClient } from "./desktop_helpers.mjs";

const XWIN = path.resolve(
  process.env.AGENTD_XWIN || new URL("../../build/tests/desk_xwin", import.meta.url).pathname,
);

let d; // daemon with an active desktop
let idle; // daemon whose desktop is not started
let display;
const children = [];

/** Start desk_xwin; resolves { id, lines, stop() } once it printed "ready". */
async function startXWin(args) {
  const child = spawn(XWIN, args, { env: { ...process.env, DISPLAY: display }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines = [];
  let buf = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.on("data", (c) => (stderr += c));
  const ready = await waitFor(() => lines.find((l) => l.startsWith("ready ")), {
    timeout: 10000,
    interval: 5,
    what: `desk_xwin ${args.join(" ")} ready (stderr: ${stderr})`,
  });
  return { id: ready.split(" ")[1], lines, stop: () => child.kill("SIGKILL") };
}

function x11(cmd, args) {
  const r = spawnSync(cmd, args, { env: { ...process.env, DISPLAY: display }, encoding: "utf8", timeout: 10000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** xwininfo's view of a window: absolute position and size. */
function xwininfo(id) {
  const out = x11("xwininfo", ["-id", id]);
  const num = (label) => Number(new RegExp(`${label}:\\s+(-?\\d+)`).exec(out)[1]);
  return { x: num("Absolute upper-left X"), y: num("Absolute upper-left Y"), width: num("Width"), height: num("Height") };
}

/** _NET_FRAME_EXTENTS as { left, right, top, bottom } (zeros when absent). */
function extents(id) {
  const m = /= (\d+), (\d+), (\d+), (\d+)/.exec(x11("xprop", ["-id", id, "_NET_FRAME_EXTENTS"]));
  return m ? { left: +m[1], right: +m[2], top: +m[3], bottom: +m[4] } : { left: 0, right: 0, top: 0, bottom: 0 };
}

/** What agentd must report for a window, computed from xwininfo and xprop. */
function expected(id) {
  const g = xwininfo(id);
  const e = extents(id);
  return { x: g.x + e.left, y: g.y + e.top, width: g.width, height: g.height };
}

/** The top-level ancestor of a window (the manager's frame for a managed one), or null when it is one. */
function frameOf(id) {
  let cur = id;
  for (;;) {
    const tree = x11("xwininfo", ["-tree", "-id", cur]);
    const parent = String(Number.parseInt(/Parent window id: 0x([0-9a-f]+)/.exec(tree)[1], 16));
    const root = String(Number.parseInt(/Root window id: 0x([0-9a-f]+)/.exec(tree)[1], 16));
    if (parent === root) return cur === id ? null : cur;
    cur = parent;
  }
}

/** agentd's own fields of a window: its client area as xwininfo sees it, and its frame. */
function expectedClient(id) {
  const g = xwininfo(id);
  const frame = frameOf(id);
  return { clientX: g.x, clientY: g.y, clientWidth: g.width, clientHeight: g.height, ...(frame ? { frameId: frame } : {}) };
}

function activeWindow() {
  const m = /# 0x([0-9a-f]+)/.exec(x11("xprop", ["-root", "_NET_ACTIVE_WINDOW"]));
  return m ? String(Number.parseInt(m[1], 16)) : null;
}

const listWindows = async () => assertJson(await api(d, "GET", "/v1/desktop/windows")).windows;
const post = async (p, body) => assertJson(await (body ? postJson(d, p, body) : api(d, "POST", p)), 200, p);
const findWin = (wins, id) => wins.find((w) => w.id === id);

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

// The windows of the tests below, created by the first test.
const w = {};

describe("a fresh desktop", () => {
  test("status has no `windows` member and nothing is focused", async () => {
    const s = assertJson(await api(d, "GET", "/v1/desktop/status"));
    assert.equal(s.state, "active");
    assert.ok(!("windows" in s), JSON.stringify(s));
    assert.deepEqual(await listWindows(), []);
    const p = assertProblem(await api(d, "GET", "/v1/desktop/windows/focused"), 404, "no_focused_window");
    assert.equal(p.code, "no_focused_window");
    assert.equal(p.detail, "No window currently has focus");
  });
});

describe("listing", () => {
  before(async () => {
    w.main = await startXWin(["Wïndow Ä 世界 🎉", "100", "150", "300", "200"]);
    w.legacy = await startXWin(["--legacy-name", "Legacy", "420", "300", "200", "100"]);
    w.untitled = await startXWin(["", "50", "500", "200", "100"]);
    w.tiny = await startXWin(["tiny", "600", "60", "5", "5"]);
    w.plain = await startXClient(display, { x: 700, y: 500, w: 100, h: 120 });
    w.plain.id = w.plain.windowId;
    // Managed windows are framed by openbox asynchronously: wait until it has taken them all.
    await waitFor(() => /0x/.test(x11("xprop", ["-root", "_NET_CLIENT_LIST"])) && [w.main, w.legacy, w.untitled, w.tiny].every((x) => extents(x.id).top > 0), {
      what: "openbox framing the windows",
    });
    // The last window to map took the focus; give it to the override-redirect client explicitly.
    await post(`/v1/desktop/windows/${w.plain.id}/focus`);
  });

  test("titled, visible windows with the reference's geometry; no WM internals", async () => {
    const wins = await listWindows();
    const ids = wins.map((x) => x.id).sort();
    assert.deepEqual(ids, [w.main.id, w.legacy.id, w.plain.id].sort(), JSON.stringify(wins));
    const main = findWin(wins, w.main.id);
    assert.deepEqual(main, { id: w.main.id, title: "Wïndow Ä 世界 🎉", ...expected(w.main.id), isActive: false, ...expectedClient(w.main.id) });
    assert.ok(main.frameId, "a managed window names its frame");
    // openbox puts the frame where the client asked: the client is inside it at (left, top).
    const e = extents(w.main.id);
    // The client area is where the application draws: `top` pixels above the reference's y.
    assert.deepEqual([main.clientX, main.clientY], [main.x - e.left, main.y - e.top]);
    assert.deepEqual([main.x, main.y, main.width, main.height], [100 + 2 * e.left, 150 + 2 * e.top, 300, 200]);
    assert.equal(findWin(wins, w.legacy.id).title, "Legacy", "WM_NAME when there is no _NET_WM_NAME");
    assert.deepEqual(findWin(wins, w.plain.id), {
      id: w.plain.id, title: "desk_xclient", x: 700, y: 500, width: 100, height: 120, isActive: true,
      clientX: 700, clientY: 500, clientWidth: 100, clientHeight: 120,
    }, "an unmanaged window has no frame");
  });

  test("status.windows matches the list", async () => {
    const s = assertJson(await api(d, "GET", "/v1/desktop/status"));
    assert.deepEqual(s.windows, await listWindows());
  });

  test("focused: the override-redirect client holding the input focus", async () => {
    const f = assertJson(await api(d, "GET", "/v1/desktop/windows/focused"));
    assert.equal(f.id, w.plain.id);
    assert.equal(f.isActive, true);
  });
});

describe("focus", () => {
  test("a managed window: the manager activates it before the reply", async () => {
    const from = w.main.lines.length;
    const r = await post(`/v1/desktop/windows/${w.main.id}/focus`);
    assert.deepEqual(r, { id: w.main.id, title: "Wïndow Ä 世界 🎉", ...expected(w.main.id), isActive: true, ...expectedClient(w.main.id) });
    assert.equal(activeWindow(), w.main.id, "_NET_ACTIVE_WINDOW");
    await waitFor(() => w.main.lines.slice(from).includes("focus in"), { what: "FocusIn at the window" });
    const f = assertJson(await api(d, "GET", "/v1/desktop/windows/focused"));
    assert.equal(f.id, w.main.id);
    const wins = await listWindows();
    assert.deepEqual(
      wins.filter((x) => x.isActive).map((x) => x.id),
      [w.main.id],
      "exactly one active window",
    );
  });

  test("the active window is always listed, untitled or tiny", async () => {
    let r = await post(`/v1/desktop/windows/${w.untitled.id}/focus`);
    assert.equal(r.title, "");
    assert.equal(r.isActive, true);
    assert.ok(findWin(await listWindows(), w.untitled.id));
    r = await post(`/v1/desktop/windows/${w.tiny.id}/focus`);
    assert.deepEqual([r.width, r.height, r.isActive], [5, 5, true]);
    const wins = await listWindows();
    assert.ok(findWin(wins, w.tiny.id));
    assert.ok(!findWin(wins, w.untitled.id), "no longer active: hidden again");
  });
});

describe("move and resize", () => {
  test("move: the frame goes to x, y (spec: 10,20 reads back as 12,60 under openbox)", async () => {
    const e = extents(w.main.id);
    const r = await post(`/v1/desktop/windows/${w.main.id}/move`, { x: 10, y: 20 });
    assert.deepEqual([r.x, r.y, r.width, r.height], [10 + 2 * e.left, 20 + 2 * e.top, 300, 200]);
    if (e.left === 1 && e.top === 20) assert.deepEqual([r.x, r.y], [12, 60]);
    // Already there when the reply left: xwininfo agrees without waiting.
    assert.deepEqual(xwininfo(w.main.id), { x: 10 + e.left, y: 20 + e.top, width: 300, height: 200 });
    assert.deepEqual({ x: r.x, y: r.y, width: r.width, height: r.height }, expected(w.main.id));
  });

  test("move to negative coordinates", async () => {
    const e = extents(w.main.id);
    const r = await post(`/v1/desktop/windows/${w.main.id}/move`, { x: -50, y: -30 });
    assert.deepEqual([r.x, r.y], [-50 + 2 * e.left, -30 + 2 * e.top]);
    assert.deepEqual(xwininfo(w.main.id), { x: -50 + e.left, y: -30 + e.top, width: 300, height: 200 });
  });

  test("move to where it already is answers at once", async () => {
    const r1 = await post(`/v1/desktop/windows/${w.main.id}/move`, { x: 40, y: 50 });
    const t = Date.now();
    const r2 = await post(`/v1/desktop/windows/${w.main.id}/move`, { x: 40, y: 50 });
    assert.deepEqual(r2, r1);
    assert.ok(Date.now() - t < 900, "no settle timeout for a no-op move");
  });

  test("resize, and 0 keeps that side", async () => {
    let r = await post(`/v1/desktop/windows/${w.main.id}/resize`, { width: 400, height: 250 });
    assert.deepEqual([r.width, r.height], [400, 250]);
    assert.deepEqual(xwininfo(w.main.id), { ...xwininfo(w.main.id), width: 400, height: 250 });
    r = await post(`/v1/desktop/windows/${w.main.id}/resize`, { width: 0, height: 300 });
    assert.deepEqual([r.width, r.height], [400, 300]);
    r = await post(`/v1/desktop/windows/${w.main.id}/resize`, { width: 0, height: 0 });
    assert.deepEqual([r.width, r.height], [400, 300]);
    const g = xwininfo(w.main.id);
    assert.deepEqual([g.width, g.height], [400, 300]);
    // The client itself saw the new size.
    await waitFor(() => w.main.lines.some((l) => / 400 300$/.test(l)), { what: "ConfigureNotify 400x300 at the client" });
  });

  test("an unmanaged (override-redirect) window moves and resizes exactly", async () => {
    let r = await post(`/v1/desktop/windows/${w.plain.id}/move`, { x: 600, y: 400 });
    assert.deepEqual([r.x, r.y, r.width, r.height], [600, 400, 100, 120]);
    assert.deepEqual(xwininfo(w.plain.id), { x: 600, y: 400, width: 100, height: 120 });
    r = await post(`/v1/desktop/windows/${w.plain.id}/resize`, { width: 150, height: 90 });
    assert.deepEqual([r.x, r.y, r.width, r.height], [600, 400, 150, 90]);
    assert.deepEqual(xwininfo(w.plain.id), { x: 600, y: 400, width: 150, height: 90 });
  });
});

describe("unknown windows: 404 window_not_found", () => {
  const ids = () => [
    ["999999", "Window 999999 not found"],
    ["abc", "Window abc not found"],
    ["0", "Window 0 not found"],
    ["-5", "Window -5 not found"],
  ];
  for (const [op, body] of [
    ["focus", undefined],
    ["move", { x: 1, y: 2 }],
    ["resize", { width: 10, height: 10 }],
  ]) {
    test(op, async () => {
      for (const [id, detail] of ids()) {
        const p = assertProblem(await (body ? postJson(d, `/v1/desktop/windows/${id}/${op}`, body) : api(d, "POST", `/v1/desktop/windows/${id}/${op}`)), 404, "window_not_found", id);
        assert.equal(p.detail, detail);
        assert.equal(p.code, "window_not_found");
      }
    });
  }

  test("a frame's id (and a window inside one) names its client; the root does not", async () => {
    const frame = frameOf(w.main.id);
    assert.ok(frame && frame !== w.main.id);
    const tree = x11("xwininfo", ["-tree", "-id", w.main.id]);
    const root = String(Number.parseInt(/Root window id: 0x([0-9a-f]+)/.exec(tree)[1], 16));
    // A window of openbox's inside the frame (its title bar and the like): the first child of the frame.
    const inner = /^\s+0x([0-9a-f]+)/m.exec(x11("xwininfo", ["-children", "-id", frame]));
    for (const id of [frame, ...(inner ? [String(Number.parseInt(inner[1], 16))] : [])]) {
      const f = await post(`/v1/desktop/windows/${id}/focus`);
      assert.equal(f.id, w.main.id, `focus ${id}: the reply names the client`);
      assert.equal(f.frameId, frame);
      assert.equal(f.isActive, true);
      assert.equal(activeWindow(), w.main.id);
      const m = await post(`/v1/desktop/windows/${id}/move`, { x: 30, y: 40 });
      assert.equal(m.id, w.main.id);
      assert.deepEqual(xwininfo(frame).x, 30, "the frame went to x");
    }
    assertProblem(await api(d, "POST", `/v1/desktop/windows/${root}/focus`), 404, "window_not_found", root);
    assertProblem(await postJson(d, `/v1/desktop/windows/${root}/move`, { x: 0, y: 0 }), 404, "window_not_found", root);
  });

  test("the mouse reply's window (the frame under the pointer) is a window id the routes take", async () => {
    const wins = await listWindows();
    const main = findWin(wins, w.main.id);
    const pos = await post("/v1/desktop/mouse/move", { x: main.clientX + 5, y: main.clientY + 5 });
    assert.equal(pos.window, main.frameId, "xdotool's answer: the top-level window under the pointer");
    const f = await post(`/v1/desktop/windows/${pos.window}/focus`);
    assert.equal(f.id, w.main.id);
  });

  test("a window that went away", async () => {
    const gone = await startXWin(["short-lived", "10", "10", "100", "100"]);
    await waitFor(async () => findWin(await listWindows(), gone.id), { what: "the window listed" });
    gone.stop();
    await waitFor(async () => !findWin(await listWindows(), gone.id), { what: "the window gone from the list" });
    assertProblem(await api(d, "POST", `/v1/desktop/windows/${gone.id}/focus`), 404, "window_not_found");
  });
});

describe("bad input: problem+json 4xx", () => {
  const BAD = [
    ["move: missing y", "move", { x: 1 }, 422, "invalid_request"],
    ["move: missing x", "move", { y: 1 }, 422, "invalid_request"],
    ["move: x as string", "move", { x: "1", y: 2 }, 422, "invalid_request"],
    ["move: fractional y", "move", { x: 1, y: 2.5 }, 422, "invalid_request"],
    ["move: beyond i32", "move", { x: 3000000000, y: 2 }, 422, "invalid_request"],
    ["move: beyond X's 16 bits", "move", { x: 40000, y: 2 }, 400, "desktop_invalid_action"],
    ["resize: negative width", "resize", { width: -1, height: 2 }, 422, "invalid_request"],
    ["resize: fractional width", "resize", { width: 1.5, height: 2 }, 422, "invalid_request"],
    ["resize: missing height", "resize", { width: 10 }, 422, "invalid_request"],
    ["resize: height as bool", "resize", { width: 10, height: true }, 422, "invalid_request"],
    ["resize: beyond X's 16 bits", "resize", { width: 70000, height: 10 }, 400, "desktop_invalid_action"],
  ];
  for (const [name, op, body, status, kind] of BAD) {
    test(name, async () => {
      const before = xwininfo(w.main.id);
      assertProblem(await postJson(d, `/v1/desktop/windows/${w.main.id}/${op}`, body), status, kind);
      // The body is checked first, as the reference does, also for an unknown window.
      assertProblem(await postJson(d, `/v1/desktop/windows/999999/${op}`, body), status, kind);
      assert.deepEqual(xwininfo(w.main.id), before, "the window did not change");
    });
  }

  test("move needs a JSON body; focus takes none", async () => {
    assertProblem(await api(d, "POST", `/v1/desktop/windows/${w.main.id}/move`, { body: '{"x":1,"y":1}' }), 415, "invalid_request");
    assertProblem(await postJson(d, `/v1/desktop/windows/${w.main.id}/resize`, "{nope"), 400, "invalid_request");
    assertJson(await request(d, { method: "POST", path: `/v1/desktop/windows/${w.main.id}/focus`, headers: { "Content-Type": "application/json" }, body: "{}" }));
  });

  test("inactive desktop: 409 before anything else", async () => {
    for (const [method, p, body] of [
      ["GET", "/v1/desktop/windows"],
      ["GET", "/v1/desktop/windows/focused"],
      ["POST", "/v1/desktop/windows/123/focus"],
      ["POST", "/v1/desktop/windows/abc/focus"],
      ["POST", "/v1/desktop/windows/123/move", { x: 1, y: 1 }],
      ["POST", "/v1/desktop/windows/123/resize", { width: 1, height: 1 }],
    ]) {
      const res = body ? await postJson(idle, p, body) : await api(idle, method, p);
      const prob = assertProblem(res, 409, "desktop_runtime_inactive", p);
      assert.equal(prob.code, "desktop_runtime_inactive");
    }
    const s = assertJson(await api(idle, "GET", "/v1/desktop/status"));
    assert.ok(!("windows" in s));
  });
});

describe("official SDK", () => {
  test("list, focused, focus, move, resize and an unknown window", async () => {
    const sdk = await SandboxAgent.connect({ baseUrl: d.base });
    const { windows } = await sdk.listDesktopWindows();
    assert.ok(findWin(windows, w.legacy.id));
    const f = await sdk.focusDesktopWindow(w.legacy.id);
    assert.deepEqual([f.id, f.title, f.isActive], [w.legacy.id, "Legacy", true]);
    assert.equal((await sdk.getDesktopFocusedWindow()).id, w.legacy.id);
    const e = extents(w.legacy.id);
    const m = await sdk.moveDesktopWindow(w.legacy.id, { x: 200, y: 100 });
    assert.deepEqual([m.x, m.y], [200 + 2 * e.left, 100 + 2 * e.top]);
    const r = await sdk.resizeDesktopWindow(w.legacy.id, { width: 321, height: 123 });
    assert.deepEqual([r.width, r.height], [321, 123]);
    assert.deepEqual({ x: r.x, y: r.y, width: r.width, height: r.height }, expected(w.legacy.id));
    const err = await sdkError(() => sdk.focusDesktopWindow("999999"), 404, "window_not_found");
    assert.equal(err.problem.detail, "Window 999999 not found");
    await sdkError(() => sdk.moveDesktopWindow("nope", { x: 1, y: 1 }), 404, "window_not_found");
  });
});
