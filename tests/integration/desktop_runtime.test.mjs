// The desktop runtime (spec 5.1, 5.2): status shapes, start/stop, Xvfb and openbox as
// desktop-owned managed processes, display numbers chosen with -displayfd, restart of a killed
// X server, missing dependencies; and the official SDK's desktop methods.

import { after, describe, test } from "node:test";
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import path from "node:path";
import { SandboxAgent, SandboxAgentError } from "sandbox-agent";
import { api, assertJson, assertProblem, pidGone, postJson, startServer, tempDir, waitFor } from "./harness.mjs";
import { decodeImage, displayNum, startDesktop, startXClient, assertColor, RED, GREEN } from "./desktop_helpers.mjs";

const XWIN = path.resolve(process.env.AGENTD_XWIN || new URL("../../build/tests/desk_xwin", import.meta.url).pathname);

const daemons = [];
const clients = [];
after(async () => {
  for (const c of clients) c.stop();
  for (const d of daemons) await d.stop();
});

async function daemon(opts) {
  const d = await startServer(opts);
  daemons.push(d);
  return d;
}

const status = async (d) => assertJson(await api(d, "GET", "/v1/desktop/status"));

describe("status and life cycle", () => {
  test("inactive status shape", async () => {
    const d = await daemon();
    const s = await status(d);
    assert.deepEqual(s, {
      state: "inactive",
      missingDependencies: [],
      processes: [],
      runtimeLogPath: path.join(d.home, ".local/state/agentd/desktop/desktop-runtime.log"),
    });
  });

  test("start: active status, helpers are desktop-owned managed processes, -displayfd", async () => {
    const d = await daemon();
    const n = displayNum();
    const t0 = Date.now();
    const s = assertJson(await postJson(d, "/v1/desktop/start", { width: 800, height: 600, dpi: 120, displayNum: n }));
    const took = Date.now() - t0;
    assert.equal(s.state, "active");
    assert.equal(s.display, `:${n}`, "a free displayNum is used as asked");
    assert.deepEqual(s.resolution, { width: 800, height: 600, dpi: 120 });
    assert.match(s.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
    assert.deepEqual(s.missingDependencies, []);
    assert.deepEqual(
      s.processes.map((p) => [p.name, p.running, typeof p.pid]),
      [
        ["Xvfb", true, "number"],
        ["openbox", true, "number"],
      ],
    );
    assert.equal(s.lastError, undefined);
    const list = assertJson(await api(d, "GET", "/v1/processes?owner=desktop")).processes;
    const xvfb = list.find((p) => p.command === "Xvfb");
    assert.ok(xvfb, JSON.stringify(list));
    assert.equal(xvfb.owner, "desktop");
    assert.equal(xvfb.pid, s.processes[0].pid);
    for (const a of ["-displayfd", "-nolisten", "tcp", "800x600x24", "-dpi", "120", `:${n}`]) assert.ok(xvfb.args.includes(a), a);
    assert.ok(list.some((p) => p.command === "openbox" && p.owner === "desktop" && p.status === "running"));
    const log = await fsp.readFile(s.runtimeLogPath, "utf8");
    assert.match(log, /desktop runtime active on/);
    // Start again with the same size, or none: the current status (as the reference).
    for (const body of [{ width: 800, height: 600 }, {}]) {
      const again = assertJson(await postJson(d, "/v1/desktop/start", body));
      assert.deepEqual(again, await status(d));
      assert.equal(again.startedAt, s.startedAt);
      assert.deepEqual(again.resolution, s.resolution);
    }
    // Another size is not silently kept at the old one (issue 14): 409, and nothing changes.
    const other = assertProblem(await postJson(d, "/v1/desktop/start", { width: 640, height: 480 }), 409, "conflict");
    assert.match(other.detail, /already running at 800x600.*\/v1\/desktop\/stop first.*640x480/);
    assert.equal((await status(d)).startedAt, s.startedAt);
    const info = assertJson(await api(d, "GET", "/v1/desktop/display/info"));
    assert.deepEqual(info, { display: `:${n}`, resolution: { width: 800, height: 600, dpi: 120 } });
    assert.ok(took < 5000, `start took ${took} ms`);
  });

  test("a displayNum held by another server: the X server picks a free one", async () => {
    const { d: a, status: sa } = await startDesktop();
    daemons.push(a);
    const b = await daemon();
    const n = Number(sa.display.slice(1));
    const sb = assertJson(await postJson(b, "/v1/desktop/start", { width: 640, height: 480, displayNum: n }));
    assert.equal(sb.state, "active");
    assert.notEqual(sb.display, sa.display);
    const shot = await api(b, "GET", "/v1/desktop/screenshot");
    assert.equal(decodeImage(shot.body).width, 640);
    await b.stop();
    daemons.splice(daemons.indexOf(b), 1);
  });

  test("kill Xvfb while active: back within 2 s and a screenshot succeeds", async () => {
    const { d, status: s } = await startDesktop();
    daemons.push(d);
    const oldPid = s.processes[0].pid;
    process.kill(oldPid, "SIGKILL");
    const t0 = Date.now();
    const back = await waitFor(
      async () => {
        const st = await status(d);
        return st.state === "active" && st.processes[0].pid !== oldPid ? st : null;
      },
      { timeout: 2000, interval: 10, what: "the desktop to come back" },
    );
    const took = Date.now() - t0;
    assert.equal(back.display, s.display, "same display number");
    assert.equal(back.startedAt, s.startedAt);
    assert.ok(back.processes.every((p) => p.running));
    const xc = await startXClient(back.display, { x: 0, y: 0, w: 100, h: 100 });
    clients.push(xc);
    const shot = await api(d, "GET", "/v1/desktop/screenshot/region?x=0&y=0&width=100&height=100");
    assert.equal(shot.status, 200);
    assertColor(decodeImage(shot.body), 10, 10, RED);
    const list = assertJson(await api(d, "GET", "/v1/processes?owner=desktop")).processes;
    assert.equal(list.filter((p) => p.command === "Xvfb" && p.status === "exited").length, 1);
    assert.equal(list.filter((p) => p.command === "Xvfb" && p.status === "running").length, 1);
    assert.ok(took < 2000, `${took} ms`);
  });

  test("kill openbox while active: it is restarted", async () => {
    const { d, status: s } = await startDesktop();
    daemons.push(d);
    const oldPid = s.processes[1].pid;
    process.kill(oldPid, "SIGKILL");
    await waitFor(
      async () => {
        const st = await status(d);
        return st.state === "active" && st.processes.length === 2 && st.processes[1].pid !== oldPid && st.processes[1].running;
      },
      { timeout: 3000, interval: 10, what: "openbox to come back" },
    );
  });

  test("start answers once openbox manages windows: apps mapped right after are mapped", async () => {
    // openbox sets its EWMH check window before it is done starting and loses a MapRequest made
    // in between (an xterm then waited 5 s, Xt's wmTimeout). start now waits until a probe
    // window is mapped by the manager, so ordinary windows mapped at once after it get mapped.
    for (let i = 0; i < 3; i++) {
      const { d, status: s } = await startDesktop();
      daemons.push(d);
      const child = spawn(XWIN, [`right after start ${i}`, "10", "10", "200", "100"], {
        env: { ...process.env, DISPLAY: s.display },
        stdio: ["ignore", "pipe", "pipe"],
      });
      clients.push({ stop: () => child.kill("SIGKILL") });
      let out = "";
      child.stdout.on("data", (c) => (out += c));
      // desk_xwin prints "ready" only once its window is mapped (and exposed).
      await waitFor(() => /^ready \d+/m.test(out), { timeout: 4000, interval: 5, what: "the window mapped by openbox (not lost)" });
      child.kill("SIGKILL");
      await postJson(d, "/v1/desktop/stop", {});
    }
  });

  test("stop: inactive, helpers exit, idempotent", async () => {
    const { d, status: s } = await startDesktop();
    daemons.push(d);
    const pids = s.processes.map((p) => p.pid);
    const st = assertJson(await api(d, "POST", "/v1/desktop/stop"));
    assert.equal(st.state, "inactive");
    assert.deepEqual(st.processes, []);
    await waitFor(() => pids.every(pidGone), { what: "Xvfb and openbox to exit" });
    await waitFor(async () => {
      const list = assertJson(await api(d, "GET", "/v1/processes?owner=desktop")).processes;
      return list.every((p) => p.status === "exited");
    });
    assert.equal(assertJson(await api(d, "POST", "/v1/desktop/stop")).state, "inactive");
    assertProblem(await api(d, "GET", "/v1/desktop/screenshot"), 409, "desktop_runtime_inactive");
    // And it starts again.
    const again = assertJson(await postJson(d, "/v1/desktop/start", { displayNum: displayNum() }));
    assert.equal(again.state, "active");
    assert.deepEqual(again.resolution, { width: 1440, height: 900, dpi: 96 }, "defaults");
  });

  test("missing Xvfb/openbox: install_required, start is 503 with the install command", async () => {
    const empty = await tempDir("agentd-nopath-");
    const d = await daemon({ env: { PATH: empty } });
    const s = await status(d);
    assert.equal(s.state, "install_required");
    assert.deepEqual(s.missingDependencies, ["Xvfb", "openbox"]);
    assert.equal(s.installCommand, "agentd install desktop --yes");
    assert.equal(s.lastError.code, "desktop_dependencies_missing");
    const res = await postJson(d, "/v1/desktop/start", {});
    const p = assertProblem(res, 503, "desktop_dependencies_missing");
    assert.equal(p.code, "desktop_dependencies_missing");
    assert.deepEqual(p.missingDependencies, ["Xvfb", "openbox"]);
    assert.equal(p.installCommand, s.installCommand);
    assert.equal((await status(d)).state, "install_required");
  });
});

describe("official SDK", () => {
  test("every desktop method implemented so far", async () => {
    const d = await daemon({ token: "desk-sdk" });
    const sdk = await SandboxAgent.connect({ baseUrl: d.base, token: "desk-sdk" });
    try {
      let err;
      try {
        await sdk.takeDesktopScreenshot();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof SandboxAgentError);
      assert.equal(err.status, 409);
      assert.equal(err.problem.type, "urn:sandbox-agent:error:desktop_runtime_inactive");
      assert.equal(err.message, "Desktop Runtime Inactive");

      assert.equal((await sdk.getDesktopStatus()).state, "inactive");
      const s = await sdk.startDesktop({ width: 640, height: 480, displayNum: displayNum() });
      assert.equal(s.state, "active");
      assert.deepEqual(await sdk.getDesktopDisplayInfo(), { display: s.display, resolution: s.resolution });
      const xc = await startXClient(s.display, { x: 0, y: 0, w: 640, h: 480 });
      clients.push(xc);

      const png = decodeImage(await sdk.takeDesktopScreenshot());
      assert.deepEqual([png.width, png.height], [640, 480]);
      assertColor(png, 10, 10, RED);
      const jpg = decodeImage(await sdk.takeDesktopScreenshot({ format: "jpeg", quality: 70, scale: 0.5 }));
      assert.deepEqual([jpg.width, jpg.height], [320, 240]);
      const region = decodeImage(await sdk.takeDesktopRegionScreenshot({ x: 320, y: 0, width: 20, height: 10, format: "webp" }));
      assert.deepEqual([region.width, region.height], [20, 10]);
      assertColor(region, 5, 5, GREEN, 40);

      assert.deepEqual(await sdk.moveDesktopMouse({ x: 10, y: 20 }), { x: 10, y: 20, screen: 0, window: xc.windowId });
      assert.deepEqual((await sdk.getDesktopMousePosition()).x, 10);
      let from = xc.lines.length;
      await sdk.clickDesktop({ x: 30, y: 40, button: "right", clickCount: 1 });
      await xc.next(/^release 3 30 40 /, { from });
      from = xc.lines.length;
      await sdk.mouseDownDesktop({ x: 50, y: 60 });
      await sdk.mouseUpDesktop({ x: 70, y: 80 });
      await xc.next(/^release 1 70 80 /, { from });
      from = xc.lines.length;
      const dr = await sdk.dragDesktopMouse({ startX: 1, startY: 2, endX: 300, endY: 200 });
      assert.deepEqual([dr.x, dr.y], [300, 200]);
      await xc.next(/^release 1 300 200 /, { from });
      from = xc.lines.length;
      await sdk.scrollDesktop({ x: 5, y: 5, deltaY: 2 });
      await xc.collect(/^press 5 /, 2, { from });
      from = xc.lines.length;
      assert.deepEqual(await sdk.typeDesktopText({ text: "sdk ✓ 中" }), { ok: true });
      await xc.collect(/^char /, 6, { from });
      assert.deepEqual(
        xc.lines
          .slice(from)
          .filter((l) => l.startsWith("char "))
          .map((l) => String.fromCodePoint(Number.parseInt(l.slice(5), 16)))
          .join(""),
        "sdk ✓ 中",
      );
      from = xc.lines.length;
      assert.deepEqual(await sdk.pressDesktopKey({ key: "Enter" }), { ok: true });
      await xc.next(/^key Return /, { from });
      from = xc.lines.length;
      await sdk.keyDownDesktop({ key: "ctrl" });
      await sdk.keyUpDesktop({ key: "ctrl" });
      await xc.next(/^keyup Control_L/, { from });

      const stopped = await sdk.stopDesktop();
      assert.equal(stopped.state, "inactive");
    } finally {
      await sdk.dispose();
    }
  });
});
