// Launch and open (spec 5.8): apps as desktop-owned managed processes with DISPLAY set, PATH
// lookup and 404 app_not_found, `wait: true` answered as soon as the app's window maps (checked
// with xwininfo/xprop as independent X clients), xdg-open present (a fake one) and absent (503),
// and the official SDK's methods.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import { api, assertJson, assertProblem, pidGone, postJson, startServer, tempDir, waitFor } from "./harness.mjs";
import { displayNum, startDesktop } from "./desktop_helpers.mjs";

const daemons = [];
after(async () => {
  for (const d of daemons) await d.stop();
});

async function desktop(opts = {}) {
  const { d, status } = await startDesktop(opts);
  daemons.push(d);
  return { d, status };
}

const launch = (d, body) => postJson(d, "/v1/desktop/launch", body);

function x11(tool, display, args) {
  const r = spawnSync(tool, ["-display", display, ...args]);
  return { status: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The environment of a running pid as an object. */
function environOf(pid) {
  const env = {};
  for (const kv of fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0")) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

function which(name) {
  const r = spawnSync("sh", ["-c", `command -v ${name}`]);
  return r.status === 0 ? r.stdout.toString().trim() : null;
}

/** A directory of executable scripts { name: body }. */
async function fakeBin(scripts) {
  const dir = await tempDir("agentd-fakebin-");
  for (const [name, body] of Object.entries(scripts)) await fsp.writeFile(path.join(dir, name), body, { mode: 0o755 });
  return dir;
}

/** A PATH directory with every command of the current PATH except the excluded ones (symlinks). */
async function pathWithout(excluded) {
  const dir = await tempDir("agentd-path-");
  for (const src of (process.env.PATH || "").split(":")) {
    let names;
    try {
      names = await fsp.readdir(src);
    } catch {
      continue;
    }
    for (const n of names) {
      if (excluded.includes(n)) continue;
      try {
        await fsp.symlink(path.join(src, n), path.join(dir, n));
      } catch {
        /* an earlier PATH entry won */
      }
    }
  }
  return dir;
}

describe("launch", () => {
  let d, status;
  const launched = [];
  before(async () => {
    ({ d, status } = await desktop());
  });
  after(() => {
    for (const pid of launched) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  });

  test("xterm with wait: its window id as soon as it maps; a desktop-owned process with DISPLAY", async () => {
    const t0 = Date.now();
    const r = assertJson(await launch(d, { app: "xterm", wait: true }));
    const took = Date.now() - t0;
    launched.push(r.pid);
    assert.deepEqual(Object.keys(r), ["processId", "pid", "windowId"]);
    assert.match(r.processId, /^proc_\d+$/);
    assert.match(r.windowId, /^\d+$/);
    assert.ok(took < 4000, `launch took ${took} ms`);
    const info = x11("xwininfo", status.display, ["-id", r.windowId]);
    assert.equal(info.status, 0, info.err);
    assert.match(info.out, /Map State: IsViewable/);
    const prop = x11("xprop", status.display, ["-id", r.windowId, "_NET_WM_PID"]);
    assert.match(prop.out, new RegExp(`= ${r.pid}\\b`));

    const p = assertJson(await api(d, "GET", `/v1/processes/${r.processId}`));
    assert.equal(p.command, "xterm");
    assert.deepEqual(p.args, []);
    assert.equal(p.owner, "desktop");
    assert.equal(p.status, "running");
    assert.equal(p.pid, r.pid);
    const env = environOf(r.pid);
    assert.equal(env.DISPLAY, status.display);
    assert.equal(env.HOME, path.join(d.home, ".local/state/agentd/desktop/home"));
  });

  test("wait answers once the window has the focus: text typed right after reaches the app", async () => {
    const dir = await tempDir("agentd-launch-type-");
    const out = path.join(dir, "typed");
    // Another window has the focus first, as on a desktop in use.
    const other = assertJson(await launch(d, { app: "xterm", wait: true }));
    launched.push(other.pid);
    const r = assertJson(await launch(d, { app: "xterm", args: ["-fa", "DejaVu Sans Mono", "-e", "sh", "-c", `read line; printf '%s' "$line" > ${out}`], wait: true }));
    launched.push(r.pid);
    assert.match(r.windowId, /^\d+$/);
    const active = assertJson(await api(d, "GET", "/v1/desktop/windows/focused"));
    assert.equal(active.id, r.windowId, "the launched window is the focused one when launch answers");
    assertJson(await postJson(d, "/v1/desktop/keyboard/type", { text: "typed at once\n" }));
    const got = await waitFor(() => fsp.readFile(out, "utf8").catch(() => null), { what: "the line xterm's shell read" });
    assert.equal(got, "typed at once");
  });

  test("apps get LANG=C.UTF-8 when the daemon has no locale, and the daemon's locale otherwise", async () => {
    const bare = await desktop({ env: { LANG: "", LC_ALL: "", LC_CTYPE: "" } });
    const a = assertJson(await launch(bare.d, { app: "sleep", args: ["30"] }));
    launched.push(a.pid);
    assert.equal(environOf(a.pid).LANG, "C.UTF-8");
    const chosen = await desktop({ env: { LANG: "C", LC_ALL: "", LC_CTYPE: "" } });
    const b = assertJson(await launch(chosen.d, { app: "sleep", args: ["30"] }));
    launched.push(b.pid);
    assert.equal(environOf(b.pid).LANG, "C");
  });

  test("an absolute path with args; without wait only processId and pid", async () => {
    const xterm = which("xterm");
    assert.ok(xterm, "xterm is installed (images/install-deps.sh)");
    const r = assertJson(await launch(d, { app: xterm, args: ["-T", "agentd launch title"], wait: true }));
    launched.push(r.pid);
    const info = x11("xwininfo", status.display, ["-id", r.windowId]);
    assert.match(info.out, /"agentd launch title"/);
    const p = assertJson(await api(d, "GET", `/v1/processes/${r.processId}`));
    assert.equal(p.command, xterm);
    assert.deepEqual(p.args, ["-T", "agentd launch title"]);

    const nowait = assertJson(await launch(d, { app: "xterm", args: ["-T", "no wait"], wait: false }));
    launched.push(nowait.pid);
    assert.deepEqual(Object.keys(nowait), ["processId", "pid"]);
    const n2 = assertJson(await launch(d, { app: "xterm", args: ["-T", "no wait 2"], wait: null }));
    launched.push(n2.pid);
    assert.deepEqual(Object.keys(n2), ["processId", "pid"]);
  });

  test("unknown, empty, directory and non-executable apps: 404 app_not_found", async () => {
    const dir = await tempDir();
    const plain = path.join(dir, "not-executable");
    await fsp.writeFile(plain, "#!/bin/sh\n", { mode: 0o644 });
    for (const app of ["agentd-no-such-app", "", "/usr/bin", plain, "/nonexistent/xterm"]) {
      const p = assertProblem(await launch(d, { app }), 404, "app_not_found", app);
      assert.equal(p.detail, `Application '${app}' not found in PATH`);
      assert.equal(p.code, "app_not_found");
      assert.equal(p.title, "App Not Found");
    }
  });

  test("an app that exits at once: answered without windowId, without waiting the 5 s", async () => {
    const t0 = Date.now();
    const r = assertJson(await launch(d, { app: "true", wait: true }));
    assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
    assert.deepEqual(Object.keys(r), ["processId", "pid"]);
    assert.ok(r.pid > 0);
  });

  test("a windowless app that keeps running: answered after the 5 s bound without windowId", async () => {
    const t0 = Date.now();
    const r = assertJson(await launch(d, { app: "sleep", args: ["30"], wait: true }));
    const took = Date.now() - t0;
    launched.push(r.pid);
    assert.deepEqual(Object.keys(r), ["processId", "pid"]);
    assert.ok(took >= 4900 && took < 8000, `took ${took} ms`);
  });

  test("bad bodies: 422, no JSON content type 415", async () => {
    for (const body of [{}, { app: 5 }, { app: "xterm", args: "x" }, { app: "xterm", args: [1] }, { app: "xterm", wait: "yes" }, []]) {
      assertProblem(await launch(d, body), 422, "invalid_request", JSON.stringify(body));
    }
    assertProblem(await launch(d, "{"), 400, "invalid_request");
    const res = await api(d, "POST", "/v1/desktop/launch", { body: '{"app":"xterm"}' });
    assert.equal(res.status, 415);
  });
});

describe("launch: an app started through a wrapper", () => {
  test("the window of a child of the launched process matches (same process group)", async () => {
    const bin = await fakeBin({ "agentd-wrapped-xterm": '#!/bin/sh\nxterm -T wrapped &\nwait\n' });
    const { d, status } = await desktop({ env: { PATH: `${bin}:${process.env.PATH}` } });
    const r = assertJson(await launch(d, { app: "agentd-wrapped-xterm", wait: true }));
    try {
      assert.match(r.windowId, /^\d+$/);
      const prop = x11("xprop", status.display, ["-id", r.windowId, "_NET_WM_PID"]);
      const m = /= (\d+)/.exec(prop.out);
      assert.ok(m, prop.out);
      assert.notEqual(Number(m[1]), r.pid, "the window belongs to the wrapper's child");
      assert.match(x11("xwininfo", status.display, ["-id", r.windowId]).out, /"wrapped"/);
    } finally {
      process.kill(-r.pid, "SIGKILL");
    }
  });

  test("the desktop stopping ends a wait at once", async () => {
    const { d } = await desktop();
    const pending = launch(d, { app: "sleep", args: ["30"], wait: true });
    // The launch is waiting once its process is listed.
    const proc = await waitFor(async () => {
      const list = assertJson(await api(d, "GET", "/v1/processes?owner=desktop")).processes;
      return list.find((p) => p.command === "sleep");
    });
    const t0 = Date.now();
    assertJson(await api(d, "POST", "/v1/desktop/stop"));
    const r = assertJson(await pending);
    assert.ok(Date.now() - t0 < 2000, `answered ${Date.now() - t0} ms after the stop`);
    assert.equal(r.processId, proc.id);
    assert.equal(r.windowId, undefined);
    process.kill(-r.pid, "SIGKILL");
    await waitFor(() => pidGone(r.pid));
  });
});

describe("open", () => {
  test("xdg-open absent: 503 desktop_runtime_failed saying what to install", async () => {
    const dir = await pathWithout(["xdg-open"]);
    const { d } = await desktop({ env: { PATH: dir } });
    const p = assertProblem(await postJson(d, "/v1/desktop/open", { target: "https://example.com" }), 503, "desktop_runtime_failed");
    assert.equal(p.code, "desktop_runtime_failed");
    assert.match(p.detail, /^failed to open target: /);
    assert.match(p.detail, /xdg-open/);
    assert.match(p.detail, /xdg-utils/);
    assert.deepEqual(
      p.processes.map((x) => [x.name, x.running]),
      [
        ["Xvfb", true],
        ["openbox", true],
      ],
    );
    // Nothing was started.  (An Xvfb that lost its display to another desktop stays listed
    // as exited after the start fell back to a free display: only running ones are compared.)
    const list = assertJson(await api(d, "GET", "/v1/processes")).processes;
    assert.deepEqual(
      list.filter((x) => x.status === "running").map((x) => x.command),
      ["Xvfb", "openbox"],
    );
    assert.deepEqual(list.filter((x) => x.command !== "Xvfb" && x.command !== "openbox"), []);
  });

  test("xdg-open present: started with the target and DISPLAY as a desktop-owned process", async () => {
    const outDir = await tempDir();
    const out = path.join(outDir, "opened");
    const bin = await fakeBin({ "xdg-open": `#!/bin/sh\nprintf '%s|%s|%s' "$1" "$DISPLAY" "$#" > "${out}.tmp" && mv "${out}.tmp" "${out}"\n` });
    const { d, status } = await desktop({ env: { PATH: `${bin}:${process.env.PATH}` } });
    const r = assertJson(await postJson(d, "/v1/desktop/open", { target: "/tmp/some file.txt" }));
    assert.deepEqual(Object.keys(r), ["processId", "pid"]);
    const text = await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, "utf8"));
    assert.equal(text, `/tmp/some file.txt|${status.display}|1`);
    const p = assertJson(await api(d, "GET", `/v1/processes/${r.processId}`));
    assert.equal(p.command, "xdg-open");
    assert.deepEqual(p.args, ["/tmp/some file.txt"]);
    assert.equal(p.owner, "desktop");
    assertProblem(await postJson(d, "/v1/desktop/open", {}), 422, "invalid_request");
    assertProblem(await postJson(d, "/v1/desktop/open", { target: 1 }), 422, "invalid_request");
  });

  test("inactive desktop: 409 desktop_runtime_inactive for launch and open", async () => {
    const d = await startServer();
    daemons.push(d);
    for (const [p, body] of [
      ["/v1/desktop/launch", { app: "xterm" }],
      ["/v1/desktop/open", { target: "/tmp" }],
    ]) {
      const prob = assertProblem(await postJson(d, p, body), 409, "desktop_runtime_inactive", p);
      assert.equal(prob.detail, "Desktop runtime has not been started");
      assert.equal(prob.code, "desktop_runtime_inactive");
    }
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/processes")).processes, []);
  });
});

describe("official SDK", () => {
  test("launchDesktopApp and openDesktopTarget", async () => {
    const out = path.join(await tempDir(), "sdk-opened");
    const bin = await fakeBin({ "xdg-open": `#!/bin/sh\nprintf '%s' "$1" > "${out}.tmp" && mv "${out}.tmp" "${out}"\n` });
    const d = await startServer({ token: "launch-sdk", env: { PATH: `${bin}:${process.env.PATH}` } });
    daemons.push(d);
    const sdk = await SandboxAgent.connect({ baseUrl: d.base, token: "launch-sdk" });
    try {
      const s = await sdk.startDesktop({ width: 800, height: 600, displayNum: displayNum() });
      const r = await sdk.launchDesktopApp({ app: "xterm", args: ["-T", "sdk"], wait: true });
      assert.match(r.windowId, /^\d+$/);
      assert.match(x11("xwininfo", s.display, ["-id", r.windowId]).out, /"sdk"/);
      const o = await sdk.openDesktopTarget({ target: "https://example.com/x" });
      assert.match(o.processId, /^proc_\d+$/);
      assert.equal(await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, "utf8")), "https://example.com/x");
      await assert.rejects(sdk.launchDesktopApp({ app: "agentd-no-such-app" }), (e) => e.status === 404 && e.problem.code === "app_not_found");
      process.kill(-r.pid, "SIGKILL");
    } finally {
      await sdk.dispose?.();
    }
  });
});
