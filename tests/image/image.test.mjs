// The Docker image (images/Dockerfile), run as a user runs it: `docker run` with a token, then
// the official SDK (sandbox-agent@0.4.2) against the published port. tests/image/run.sh builds
// the images and runs this file; the figures it prints (t.diagnostic) go into the closing note.
//
//   AGENTD_IMAGE_RUNTIME  the runtime image (default agentd:runtime)
//   AGENTD_IMAGE_FULL     the full image (default agentd:full)
//   DOCKER                the docker CLI (default docker)

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { SandboxAgent } from "sandbox-agent";
import { waitFor } from "../integration/harness.mjs";
import { decodeImage } from "../integration/desktop_helpers.mjs";

const DOCKER = process.env.DOCKER || "docker";
const RUNTIME = process.env.AGENTD_IMAGE_RUNTIME || "agentd:runtime";
const FULL = process.env.AGENTD_IMAGE_FULL || "agentd:full";
const TOKEN = "image-test-token";

function docker(args, { input, timeout = 60000 } = {}) {
  const r = spawnSync(DOCKER, args, { input, timeout, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout?.toString() ?? "", stderr: r.stderr?.toString() ?? "" };
}

function dockerOk(args, opts) {
  const r = docker(args, opts);
  assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

const containers = new Set();
after(() => {
  for (const id of containers) docker(["rm", "-f", id]);
});

/**
 * `docker run -d` the image with its own CMD (plus `extra` arguments that replace it), port 2468
 * published on a free loopback port. Resolves once /v1/health answers 200, with the time that took
 * from `docker run` (the figure the issue asks for).
 */
async function runContainer(image, { env = { AGENTD_TOKEN: TOKEN }, cmd = [] } = {}) {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const t0 = performance.now();
  const id = dockerOk(["run", "-d", "-p", "127.0.0.1::2468", ...envArgs, image, ...cmd]);
  containers.add(id);
  const port = /:(\d+)\s*$/m.exec(dockerOk(["port", id, "2468/tcp"]))[1];
  const base = `http://127.0.0.1:${port}`;
  const headers = env.AGENTD_TOKEN ? { authorization: `Bearer ${env.AGENTD_TOKEN}` } : {};
  await waitFor(
    async () => {
      try {
        return (await fetch(`${base}/v1/health`, { headers })).status === 200;
      } catch {
        return false;
      }
    },
    { timeout: 20000, interval: 5, what: `${image} healthy` },
  );
  const healthyAt = Date.now();
  const healthyMs = performance.now() - t0;
  // The figure is from the container's start: dockerd's State.StartedAt (same clock).
  const startedAt = Date.parse(dockerOk(["inspect", "-f", "{{.State.StartedAt}}", id]));
  return {
    id,
    base,
    healthyMs,
    startedToHealthyMs: healthyAt - startedAt,
    exec: (args) => docker(["exec", id, ...args]),
    remove() {
      docker(["rm", "-f", id]);
      containers.delete(id);
    },
  };
}

/** Zombie processes in the container: "pid ppid comm" lines of every process in state Z. */
function zombies(c) {
  const r = c.exec(["sh", "-c", "for f in /proc/[0-9]*/stat; do cat $f 2>/dev/null; echo; done"]);
  return r.stdout
    .split("\n")
    .filter((l) => /\) Z /.test(l))
    .map((l) => {
      const rest = l.slice(l.lastIndexOf(")") + 2).split(" ");
      return `${l.split(" ")[0]} ${rest[1]} ${l.slice(l.indexOf("("), l.lastIndexOf(")") + 1)}`;
    });
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

/**
 * For the enclosing describe: a container of `image` and an SDK connected to it, handed to
 * `set({ c, sdk })` before its tests; both go after them.
 */
function containerForSuite(image, set) {
  let c;
  let sdk;
  before(async () => {
    c = await runContainer(image);
    sdk = await SandboxAgent.connect({ baseUrl: c.base, token: TOKEN });
    set({ c, sdk });
  });
  after(async () => {
    if (sdk) await sdk.dispose();
    c?.remove();
  });
}

describe("the runtime image", () => {
  let c;
  let sdk;
  containerForSuite(RUNTIME, (got) => ({ c, sdk } = got));

  test("healthy after docker run; runs as the non-root user sandbox in /home/sandbox; agentd is PID 1", async (t) => {
    t.diagnostic(`docker run -> healthy /v1/health: ${c.healthyMs.toFixed(0)} ms`);
    t.diagnostic(`container started -> healthy /v1/health: ${c.startedToHealthyMs} ms`);
    assert.deepEqual(await sdk.getHealth(), { status: "ok" });
    const r = await sdk.runProcess({ command: "sh", args: ["-c", 'id -un; id -u; echo "$HOME"; pwd; cat /proc/1/comm'] });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), ["sandbox", "1000", "/home/sandbox", "/home/sandbox", "agentd"]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(c.exec(["cat", "/proc/1/status"]).stdout)[1];
    t.diagnostic(`idle RSS of agentd in the container: ${(rss / 1024).toFixed(1)} MiB`);
    const health = c.exec(["agentd-health"]);
    assert.equal(health.status, 0, `HEALTHCHECK command: ${health.stderr}`);
  });

  test("the token is required on /v1 (no token: 401)", async () => {
    const res = await fetch(`${c.base}/v1/health`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("content-type"), /problem\+json/);
  });

  test("a file round trip: write 3 MB, list, read back the same bytes", async () => {
    const data = crypto.randomBytes(3 * 1024 * 1024);
    await sdk.writeFsFile({ path: "/home/sandbox/work/blob.bin" }, data);
    const entries = await sdk.listFsEntries({ path: "/home/sandbox/work" });
    assert.deepEqual(
      entries.map((e) => [e.name, e.size]),
      [["blob.bin", data.length]],
    );
    const back = Buffer.from(await sdk.readFsFile({ path: "/home/sandbox/work/blob.bin" }));
    assert.equal(crypto.createHash("sha256").update(back).digest("hex"), crypto.createHash("sha256").update(data).digest("hex"));
  });

  test("a process run and an interactive terminal over the WebSocket", async () => {
    const run = await sdk.runProcess({ command: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] });
    assert.deepEqual([run.stdout, run.stderr, run.exitCode], ["out\n", "err\n", 3]);

    const p = await sdk.createProcess({ command: "bash", tty: true });
    const term = sdk.connectProcessTerminal(p.id, { WebSocket });
    let out = "";
    let exit = null;
    let ready = false;
    term.onReady(() => {
      ready = true;
    });
    term.onData((b) => {
      out += Buffer.from(b).toString();
    });
    term.onExit((e) => {
      exit = e;
    });
    await waitFor(() => ready, { what: "terminal ready" });
    term.resize({ cols: 91, rows: 27 });
    term.sendInput("echo $((6*7)); stty size; exit 5\n");
    await waitFor(() => exit, { what: "terminal exit" });
    assert.match(out, /\b42\r?\n/);
    assert.match(out, /27 91/);
    assert.equal(exit.exitCode, 5);
  });

  test("desktop: start, launch xterm, screenshot shows its window, recording is an MP4", async (t) => {
    const t0 = performance.now();
    const st = await sdk.startDesktop({ width: 1024, height: 768 });
    t.diagnostic(`desktop start (Xvfb + openbox): ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(st.state, "active");
    const rec = await sdk.startDesktopRecording({ fps: 10 });
    const app = await sdk.launchDesktopApp({ app: "xterm", args: ["-T", "image-test", "-bg", "white"], wait: true });
    assert.ok(app.windowId, JSON.stringify(app));
    const { windows } = await sdk.listDesktopWindows();
    const w = windows.find((x) => x.title === "image-test");
    assert.ok(w, `xterm in ${JSON.stringify(windows)}`);

    // The middle of the xterm's client area (white background, away from its prompt at the top
    // left) turns white once xterm has painted; the root window around it is not white.
    const cx = w.clientX + Math.floor(w.clientWidth / 2);
    const cy = w.clientY + Math.floor(w.clientHeight / 2);
    let img;
    await waitFor(
      async () => {
        img = decodeImage(await sdk.takeDesktopScreenshot());
        return img.at(cx, cy).every((v) => v === 255);
      },
      { what: `xterm painted white at (${cx},${cy}) in ${JSON.stringify(w)}` },
    );
    assert.deepEqual([img.width, img.height], [1024, 768]);
    assert.notDeepEqual(img.at(2, 2), [255, 255, 255], "the root window is not white");

    // A recording stopped before its first frame ends `failed` (there is no video to keep):
    // ffmpeg's progress line on stderr ("frame=    N") says how many it has encoded.
    await waitFor(
      async () => {
        const { entries } = await sdk.getProcessLogs(rec.processId, { tail: 5 });
        const text = entries.map((e) => Buffer.from(e.data, "base64").toString()).join("");
        return /frame=\s*[1-9]/.test(text);
      },
      { what: "frames in the recording" },
    );
    const done = await sdk.stopDesktopRecording();
    assert.equal(done.status, "completed");
    const mp4 = Buffer.from(await sdk.downloadDesktopRecording(rec.id));
    assert.equal(mp4.subarray(4, 8).toString(), "ftyp");
    assert.ok(mp4.includes(Buffer.from("moov")), "finalised MP4 (moov box)");

    // The live stream lands with issue 10; until then its status says so (501 problem+json).
    await assert.rejects(sdk.getDesktopStreamStatus(), (e) => e.status === 501 && /stream/i.test(e.problem?.detail ?? ""));
    await sdk.stopDesktop();
  });

  test("the built-in mock agent: installAgent + a prompt turn through the SDK", async () => {
    await sdk.installAgent("mock");
    const session = await sdk.createSession({ agent: "mock", cwd: "/home/sandbox" });
    const chunks = [];
    session.onEvent((e) => {
      const u = e.payload?.params?.update;
      if (e.payload?.method === "session/update" && u?.sessionUpdate === "agent_message_chunk") chunks.push(u.content.text);
    });
    const res = await session.prompt([{ type: "text", text: "hello from the image" }]);
    assert.equal(res.stopReason, "end_turn");
    await waitFor(() => chunks.join("").includes("hello from the image"), { what: "the echo" });
    await sdk.destroySession(session.id);
  });

  test("agentd as PID 1 reaps orphans: killed process groups and exited parents leave no zombies", async () => {
    assert.deepEqual(zombies(c), [], "no zombies before");
    // A killed group: the shell and its two sleeps die; the sleeps are re-parented to PID 1.
    const p = await sdk.createProcess({ command: "sh", args: ["-c", "sleep 300 & sleep 300 & echo ready; wait"] });
    await waitFor(async () => (await sdk.getProcessLogs(p.id)).entries.length > 0, { what: "ready" });
    await sdk.killProcess(p.id, { waitMs: 2000 });
    // An exited parent: the sleep it leaves behind is adopted by PID 1, then killed from outside.
    const r = await sdk.runProcess({ command: "sh", args: ["-c", "(sleep 300 >/dev/null 2>&1 & echo $!)"] });
    const orphan = Number(r.stdout.trim());
    await waitFor(() => c.exec(["sh", "-c", `awk '{print $4}' /proc/${orphan}/stat`]).stdout.trim() === "1", {
      what: `${orphan} adopted by PID 1`,
    });
    assert.equal(c.exec(["sh", "-c", `kill -9 ${orphan}`]).status, 0);
    await waitFor(() => zombies(c).length === 0 && c.exec(["test", "-e", `/proc/${orphan}`]).status !== 0, {
      timeout: 5000,
      what: "every orphan reaped",
    });
  });
});

describe("starting the image", () => {
  test("without a token or --no-token the container exits 2 and says how to choose", () => {
    const r = docker(["run", "--rm", RUNTIME]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--token TOKEN \(or AGENTD_TOKEN\) or --no-token/);
  });

  test("with --no-token appended to the server command it serves without a token", async () => {
    const c = await runContainer(RUNTIME, { env: {}, cmd: ["server", "--host", "0.0.0.0", "--port", "2468", "--no-token"] });
    try {
      assert.equal((await fetch(`${c.base}/v1/health`)).status, 200);
    } finally {
      c.remove();
    }
  });

  test("docker stop: SIGTERM finalises an active recording and agentd exits 0 well within 10 s", async (t) => {
    const c = await runContainer(RUNTIME);
    const sdk = await SandboxAgent.connect({ baseUrl: c.base, token: TOKEN });
    try {
      await sdk.startDesktop({ width: 800, height: 600 });
      const rec = await sdk.startDesktopRecording({ fps: 10 });
      await sdk.launchDesktopApp({ app: "xterm", wait: true });
      const where = `/home/sandbox/.local/state/agentd/desktop/recordings/${rec.id}.mp4`;
      await waitFor(() => c.exec(["test", "-s", where]).status === 0, { what: `ffmpeg writing ${where}` });
      const t0 = performance.now();
      dockerOk(["stop", c.id], { timeout: 30000 });
      const stopMs = performance.now() - t0;
      t.diagnostic(`docker stop with an active recording and desktop: ${stopMs.toFixed(0)} ms`);
      assert.ok(stopMs < 10000, `docker stop took ${stopMs} ms (docker kills at 10 s)`);
      assert.equal(dockerOk(["inspect", "-f", "{{.State.ExitCode}}", c.id]), "0");
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agentd-image-rec-"));
      dockerOk(["cp", `${c.id}:${where}`, dir]);
      const mp4 = fs.readFileSync(path.join(dir, path.basename(where)));
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(mp4.subarray(4, 8).toString(), "ftyp");
      assert.ok(mp4.includes(Buffer.from("moov")), "the MP4 was finalised (moov box)");
    } finally {
      await sdk.dispose();
      c.remove();
    }
  });
});

describe("the full image", () => {
  let c;
  let sdk;
  containerForSuite(FULL, (got) => ({ c, sdk } = got));

  test("every agent that installs from npm is preinstalled, and its native CLI answers --version", async (t) => {
    const { agents } = await sdk.listAgents({ config: true });
    const byId = Object.fromEntries(agents.map((a) => [a.id, a]));
    for (const id of ["claude", "codex", "opencode", "pi"]) {
      const a = byId[id];
      assert.ok(a?.installed, `${id} installed: ${JSON.stringify(a)}`);
      assert.match(a.agentProcessVersion ?? "", /\d+\.\d+/, `${id}'s adapter version: ${JSON.stringify(a)}`);
      // codex-acp brings no `codex` CLI (the agent is built into the adapter): no native version.
      if (id !== "codex")
        assert.match(a.version ?? "", /\d+\.\d+/, `${id}'s native CLI reports a version: ${JSON.stringify(a)}`);
      t.diagnostic(`${id}: adapter ${a.agentProcessVersion}, CLI ${a.version ?? "(none)"}`);
    }
    assert.ok(byId.mock.installed);
    const sizes = dockerOk(["image", "inspect", "-f", "{{.Size}}", RUNTIME, FULL]).split("\n").map(Number);
    t.diagnostic(`image sizes: runtime ${mb(sizes[0])}, full ${mb(sizes[1])}`);
  });

  test("pi starts under the image's node (session/new is not a missing-binary or engine error)", async () => {
    const session = sdk.createSession({ agent: "pi", cwd: "/home/sandbox" });
    // No credentials in the test: pi answers session/new with its sign-in error, or creates the
    // session; either shows pi itself ran.
    const outcome = await session.then(
      () => "created",
      (e) => String(e?.message ?? e),
    );
    assert.doesNotMatch(outcome, /not found|ENOENT|Unsupported engine|requires Node/i, outcome);
  });
});
