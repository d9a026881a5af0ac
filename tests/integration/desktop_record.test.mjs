// Desktop recordings (spec 5.9): ffmpeg x11grab to MP4 as a desktop-owned managed process,
// stopped with `q` on its stdin (SIGINT, then SIGKILL as fallbacks), checked with ffprobe and
// real pixels; fps clamping; conflicts and 404s; failing ffmpegs (fake ones on PATH) give
// `failed`; the desktop stopping finalises an active recording; the official SDK's methods.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { SandboxAgent } from "sandbox-agent";
import { api, assertJson, assertProblem, postJson, startServer, tempDir, waitFor } from "./harness.mjs";
import { assertColor, BLUE, decodeImage, displayNum, GREEN, RED, startDesktop, startXClient, WHITE } from "./desktop_helpers.mjs";

const daemons = [];
const clients = [];
after(async () => {
  for (const c of clients) c.stop();
  for (const d of daemons) await d.stop();
});

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/;
const recDir = (d) => path.join(d.home, ".local/state/agentd/desktop/recordings");

async function desktop(opts = {}) {
  const { d, status } = await startDesktop(opts);
  daemons.push(d);
  return { d, status };
}

const getRec = async (d, id) => assertJson(await api(d, "GET", `/v1/desktop/recordings/${id}`));
const startRec = async (d, body = {}) => assertJson(await postJson(d, "/v1/desktop/recording/start", body), 200, "recording start");
const stopRec = async (d) => assertJson(await api(d, "POST", "/v1/desktop/recording/stop"), 200, "recording stop");
const procInfo = async (d, id) => assertJson(await api(d, "GET", `/v1/processes/${id}`));

/** Everything a process wrote so far (stdout and stderr), as text. */
async function procOutput(d, id) {
  const logs = assertJson(await api(d, "GET", `/v1/processes/${id}/logs`));
  return logs.entries.map((e) => Buffer.from(e.data, "base64").toString("utf8")).join("");
}

/** Wait until ffmpeg reports at least n encoded frames on its stats line (no sleeps). */
async function waitFrames(d, procId, n = 3) {
  await waitFor(
    async () => {
      const m = [...(await procOutput(d, procId)).matchAll(/frame=\s*(\d+)/g)];
      return m.length && Number(m[m.length - 1][1]) >= n;
    },
    { timeout: 15000, interval: 50, what: `ffmpeg ${procId} to encode ${n} frames` },
  );
}

function ffprobe(file) {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height,pix_fmt", "-of", "json", file]);
  assert.equal(r.status, 0, `ffprobe failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.toString());
  return { duration: Number(j.format.duration), stream: j.streams[0] };
}

/** The first frame of an MP4 as a decoded image. */
function firstFrame(file) {
  const r = spawnSync("ffmpeg", ["-v", "error", "-i", file, "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `ffmpeg frame extraction failed: ${r.stderr}`);
  return decodeImage(r.stdout);
}

/** A directory holding executable scripts { name: body }, for PATH overrides. */
async function fakeBin(scripts) {
  const dir = await tempDir("agentd-fakebin-");
  for (const [name, body] of Object.entries(scripts)) {
    await fsp.writeFile(path.join(dir, name), body, { mode: 0o755 });
  }
  return dir;
}

/** A daemon with an active desktop whose `ffmpeg` is the given script. */
async function desktopWithFakeFfmpeg(script) {
  const dir = await fakeBin({ ffmpeg: script });
  return desktop({ env: { PATH: `${dir}:${process.env.PATH}` } });
}

describe("a recording, start to download", () => {
  let d, status, xc;
  before(async () => {
    ({ d, status } = await desktop());
    // A window with four known colours over the whole screen, mapped before the recording starts.
    xc = await startXClient(status.display, { x: 0, y: 0, w: 1024, h: 768 });
    clients.push(xc);
  });

  test("start: the record, ffmpeg as a desktop-owned process; stop: completed; ffprobe and pixels agree", async () => {
    const rec = await startRec(d);
    assert.deepEqual(Object.keys(rec), ["id", "status", "processId", "fileName", "bytes", "startedAt"]);
    assert.equal(rec.id, "rec_1");
    assert.equal(rec.status, "recording");
    assert.equal(rec.fileName, "rec_1.mp4");
    assert.equal(rec.bytes, 0);
    assert.match(rec.startedAt, RFC3339);
    assert.match(rec.processId, /^proc_\d+$/);

    const p = await procInfo(d, rec.processId);
    const file = path.join(recDir(d), "rec_1.mp4");
    assert.equal(p.command, "ffmpeg");
    assert.equal(p.owner, "desktop");
    assert.equal(p.status, "running");
    assert.deepEqual(p.args, [
      "-y",
      "-video_size",
      "1024x768",
      "-framerate",
      "30",
      "-f",
      "x11grab",
      "-i",
      status.display,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      file,
    ]);
    const listed = assertJson(await api(d, "GET", "/v1/processes?owner=desktop")).processes;
    assert.ok(listed.some((x) => x.id === rec.processId));

    await waitFrames(d, rec.processId, 5);
    // `bytes` is the file's current size (the MP4 header is on disk by now).
    const during = await waitFor(async () => {
      const r = await getRec(d, "rec_1");
      return r.bytes > 0 && r;
    });
    assert.equal(during.status, "recording");
    assert.equal(during.bytes, (await fsp.stat(file)).size);
    assert.equal(during.endedAt, undefined);
    // A download while recording gets the partial file.
    const partial = await api(d, "GET", "/v1/desktop/recordings/rec_1/download");
    assert.equal(partial.status, 200);
    assert.equal(partial.headers["content-type"], "video/mp4");
    assert.ok(partial.body.length > 0);
    assert.equal(partial.body.subarray(4, 8).toString("latin1"), "ftyp");

    const t0 = Date.now();
    const done = await stopRec(d);
    const took = Date.now() - t0;
    assert.deepEqual(Object.keys(done), ["id", "status", "processId", "fileName", "bytes", "startedAt", "endedAt"]);
    assert.equal(done.status, "completed");
    assert.equal(done.startedAt, rec.startedAt);
    assert.match(done.endedAt, RFC3339);
    assert.ok(done.endedAt >= done.startedAt);
    const size = (await fsp.stat(file)).size;
    assert.equal(done.bytes, size);
    // `q` on stdin: ffmpeg finished on its own (exit 0), well before the SIGINT fallback (3 s).
    const exited = await procInfo(d, rec.processId);
    assert.equal(exited.status, "exited");
    assert.equal(exited.exitCode, 0);
    assert.ok(took < 3000, `stop took ${took} ms`);
    assert.deepEqual(await getRec(d, "rec_1"), done);

    const res = await api(d, "GET", "/v1/desktop/recordings/rec_1/download");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "video/mp4");
    assert.equal(Number(res.headers["content-length"]), size);
    assert.ok(res.body.equals(await fsp.readFile(file)), "the download is the file");
    const out = path.join(await tempDir(), "got.mp4");
    await fsp.writeFile(out, res.body);
    const probe = ffprobe(out);
    assert.ok(probe.duration > 0, `duration ${probe.duration}`);
    assert.deepEqual(probe.stream, { codec_name: "h264", width: 1024, height: 768, pix_fmt: "yuv420p" });
    const img = firstFrame(out);
    assert.deepEqual([img.width, img.height], [1024, 768]);
    assertColor(img, 256, 192, RED, 40, "top left");
    assertColor(img, 768, 192, GREEN, 40, "top right");
    assertColor(img, 256, 576, BLUE, 40, "bottom left");
    assertColor(img, 768, 576, WHITE, 40, "bottom right");

    // HEAD: the headers only.
    const head = await api(d, "HEAD", "/v1/desktop/recordings/rec_1/download");
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers["content-length"]), size);
    assert.equal(head.body.length, 0);

    // Byte ranges (agentd; a browser's <video> seeks with them): parts are slices of the file.
    const whole = await fsp.readFile(file);
    assert.equal(res.headers["accept-ranges"], "bytes");
    const part = await api(d, "GET", "/v1/desktop/recordings/rec_1/download", { headers: { range: "bytes=100-1099" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers["content-range"], `bytes 100-1099/${size}`);
    assert.ok(part.body.equals(whole.subarray(100, 1100)));
    const tail = await api(d, "GET", "/v1/desktop/recordings/rec_1/download", { headers: { range: "bytes=-16" } });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(whole.subarray(size - 16)));
    const out416 = await api(d, "GET", "/v1/desktop/recordings/rec_1/download", { headers: { range: `bytes=${size}-` } });
    assertProblem(out416, 416, "invalid_request");
    assert.equal(out416.headers["content-range"], `bytes */${size}`);
  });

  test("list and get; conflicts; delete removes the file", async () => {
    const list = assertJson(await api(d, "GET", "/v1/desktop/recordings"));
    assert.deepEqual(
      list.recordings.map((r) => [r.id, r.status]),
      [["rec_1", "completed"]],
    );
    const rec = await startRec(d, { fps: 10 });
    assert.equal(rec.id, "rec_2");
    let p = assertProblem(await postJson(d, "/v1/desktop/recording/start", {}), 409, "conflict");
    assert.equal(p.detail, "conflict: a desktop recording is already active");
    assert.deepEqual(p.details, { message: "a desktop recording is already active" });
    p = assertProblem(await api(d, "DELETE", "/v1/desktop/recordings/rec_2"), 409, "conflict");
    assert.equal(p.detail, "conflict: stop the active desktop recording before deleting it");
    const both = assertJson(await api(d, "GET", "/v1/desktop/recordings")).recordings;
    assert.deepEqual(
      both.map((r) => [r.id, r.status]),
      [
        ["rec_1", "completed"],
        ["rec_2", "recording"],
      ],
    );
    await waitFrames(d, rec.processId, 2);
    assert.equal((await stopRec(d)).status, "completed");
    p = assertProblem(await api(d, "POST", "/v1/desktop/recording/stop"), 409, "conflict");
    assert.equal(p.detail, "conflict: no desktop recording is active");

    const del = await api(d, "DELETE", "/v1/desktop/recordings/rec_1");
    assert.equal(del.status, 204);
    assert.equal(del.body.length, 0);
    assert.equal(fs.existsSync(path.join(recDir(d), "rec_1.mp4")), false, "the file is gone");
    assert.deepEqual(
      assertJson(await api(d, "GET", "/v1/desktop/recordings")).recordings.map((r) => r.id),
      ["rec_2"],
    );
    for (const [method, suffix] of [
      ["GET", ""],
      ["GET", "/download"],
      ["DELETE", ""],
    ]) {
      const np = assertProblem(await api(d, method, `/v1/desktop/recordings/rec_1${suffix}`), 404, "not_found", `${method} ${suffix}`);
      assert.deepEqual(np.details, { id: "rec_1", resource: "desktop_recording" });
      assert.equal(np.detail, "not found: desktop_recording rec_1");
    }
    // Ids are never reused.
    const next = await startRec(d);
    assert.equal(next.id, "rec_3");
    await waitFrames(d, next.processId, 1);
    await stopRec(d);
  });

  test("fps: default 30, clamped to 1..60; wrong types are 422, no body 415", async () => {
    for (const [fps, want] of [
      [0, "1"],
      [1, "1"],
      [12, "12"],
      [60, "60"],
      [500, "60"],
      [4294967295, "60"],
      [null, "30"],
    ]) {
      const rec = await startRec(d, fps === null ? { fps: null } : { fps });
      const p = await procInfo(d, rec.processId);
      assert.equal(p.args[p.args.indexOf("-framerate") + 1], want, `fps ${fps}`);
      await waitFrames(d, rec.processId, 1);
      const done = await stopRec(d);
      assert.equal(done.status, "completed", `fps ${fps}: ${JSON.stringify(done)}`);
    }
    for (const body of [{ fps: -1 }, { fps: 2.5 }, { fps: "30" }, { fps: 4294967296 }, []]) {
      assertProblem(await postJson(d, "/v1/desktop/recording/start", body), 422, "invalid_request", JSON.stringify(body));
    }
    const res = await api(d, "POST", "/v1/desktop/recording/start");
    assert.equal(res.status, 415);
    // None of them started anything.
    assert.equal(
      assertJson(await api(d, "GET", "/v1/desktop/recordings")).recordings.filter((r) => r.status === "recording").length,
      0,
    );
  });
});

describe("inactive desktop", () => {
  test("start is a generic 409 conflict; list works; stop is 409; unknown ids 404", async () => {
    const d = await startServer();
    daemons.push(d);
    const p = assertProblem(await postJson(d, "/v1/desktop/recording/start", {}), 409, "conflict");
    assert.equal(p.detail, "conflict: Desktop runtime has not been started");
    assert.deepEqual(p.details, { message: "Desktop runtime has not been started" });
    assert.deepEqual(assertJson(await api(d, "GET", "/v1/desktop/recordings")), { recordings: [] });
    assertProblem(await api(d, "POST", "/v1/desktop/recording/stop"), 409, "conflict");
    for (const id of ["rec_1", "rec_0", "nope", "rec_1.mp4"]) {
      const np = assertProblem(await api(d, "GET", `/v1/desktop/recordings/${id}`), 404, "not_found");
      assert.deepEqual(np.details, { id, resource: "desktop_recording" });
    }
    // Nothing was created under HOME.
    assert.equal(fs.existsSync(recDir(d)), false);
  });
});

describe("the desktop stopping", () => {
  test("finalises the active recording before the X server goes", async () => {
    const { d } = await desktop();
    const rec = await startRec(d);
    await waitFrames(d, rec.processId, 3);
    const s = assertJson(await api(d, "POST", "/v1/desktop/stop"));
    assert.equal(s.state, "inactive");
    // By the time stop answered, the recording is final.
    const done = await getRec(d, rec.id);
    assert.equal(done.status, "completed");
    assert.match(done.endedAt, RFC3339);
    assert.equal((await procInfo(d, rec.processId)).exitCode, 0);
    assert.ok(ffprobe(path.join(recDir(d), rec.fileName)).duration > 0);
    assertProblem(await postJson(d, "/v1/desktop/recording/start", {}), 409, "conflict");
    // Still listed and downloadable after the desktop stopped.
    const res = await api(d, "GET", `/v1/desktop/recordings/${rec.id}/download`);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, done.bytes);
  });

  test("agentd's SIGTERM with a recording active: ffmpeg finishes the MP4, then a clean exit", async () => {
    const { d } = await desktop();
    const rec = await startRec(d);
    await waitFrames(d, rec.processId, 1);
    const r = await d.stop("SIGTERM");
    assert.equal(r.code, 0);
    const { duration } = ffprobe(path.join(recDir(d), rec.fileName));
    assert.ok(duration > 0, `duration ${duration}`);
  });
});

describe("failures are `failed`, not `completed`", () => {
  test("ffmpeg exits 1 at once: failed, with endedAt; nothing left to stop", async () => {
    const { d } = await desktopWithFakeFfmpeg("#!/bin/sh\necho 'fake ffmpeg: cannot open display' >&2\nexit 1\n");
    const rec = await startRec(d);
    assert.equal(rec.status, "recording");
    const done = await waitFor(async () => {
      const r = await getRec(d, rec.id);
      return r.status !== "recording" && r;
    });
    assert.equal(done.status, "failed");
    assert.match(done.endedAt, RFC3339);
    assert.equal(done.bytes, 0);
    assert.equal((await procInfo(d, rec.processId)).exitCode, 1);
    assertProblem(await api(d, "POST", "/v1/desktop/recording/stop"), 409, "conflict");
    // The next one may start.
    assert.equal((await startRec(d)).id, "rec_2");
  });

  test("ffmpeg exits 0 on `q` but wrote no MP4: failed", async () => {
    const { d } = await desktopWithFakeFfmpeg(
      '#!/bin/sh\nfor a; do out="$a"; done\nprintf "this is not an mp4" > "$out"\nhead -c 1 >/dev/null\nexit 0\n',
    );
    const rec = await startRec(d);
    await waitFor(async () => (await getRec(d, rec.id)).bytes > 0);
    const done = await stopRec(d);
    assert.equal(done.status, "failed");
    assert.equal(done.bytes, "this is not an mp4".length);
    assert.equal((await procInfo(d, rec.processId)).exitCode, 0);
    // The file stays downloadable (what there is).
    const res = await api(d, "GET", `/v1/desktop/recordings/${rec.id}/download`);
    assert.equal(res.text, "this is not an mp4");
  });

  test("ffmpeg ignores `q`: SIGINT after the bound; exit 255 with a good file is completed", async () => {
    // A real, complete MP4 the fake puts in place when it gets SIGINT, as ffmpeg does.
    const good = path.join(await tempDir(), "good.mp4");
    const gen = spawnSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "0.5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", good]);
    assert.equal(gen.status, 0, gen.stderr.toString());
    const { d } = await desktopWithFakeFfmpeg(
      `#!/bin/sh\nfor a; do out="$a"; done\ntrap 'cp "${good}" "$out"; exit 255' INT\necho started\nwhile :; do sleep 0.05; done\n`,
    );
    const rec = await startRec(d);
    await waitFor(async () => /started/.test(await procOutput(d, rec.processId)));
    const t0 = Date.now();
    const done = await stopRec(d);
    const took = Date.now() - t0;
    assert.equal(done.status, "completed", JSON.stringify(done));
    assert.equal((await procInfo(d, rec.processId)).exitCode, 255);
    assert.equal(done.bytes, (await fsp.stat(good)).size);
    assert.ok(took >= 2500, `SIGINT came after ${took} ms`);
  });

  test("ffmpeg ignores `q` and SIGINT: killed after the second bound, failed", async () => {
    const { d } = await desktopWithFakeFfmpeg(
      '#!/bin/sh\nfor a; do out="$a"; done\nprintf "partial" > "$out"\ntrap "" INT\necho started\nwhile :; do sleep 0.05; done\n',
    );
    const rec = await startRec(d);
    await waitFor(async () => /started/.test(await procOutput(d, rec.processId)));
    const done = await stopRec(d);
    assert.equal(done.status, "failed");
    const p = await procInfo(d, rec.processId);
    assert.equal(p.status, "exited");
    assert.equal(p.exitCode, undefined, "killed by a signal");
  });
});

describe("official SDK", () => {
  test("startDesktopRecording, stop, list, get, download, delete", async () => {
    const d = await startServer({ token: "rec-sdk" });
    daemons.push(d);
    const sdk = await SandboxAgent.connect({ baseUrl: d.base, token: "rec-sdk" });
    try {
      assert.deepEqual(await sdk.listDesktopRecordings(), { recordings: [] });
      await sdk.startDesktop({ width: 640, height: 480, displayNum: displayNum() });
      const rec = await sdk.startDesktopRecording({ fps: 15 });
      assert.equal(rec.status, "recording");
      await waitFrames(d, rec.processId, 3);
      const done = await sdk.stopDesktopRecording();
      assert.equal(done.status, "completed");
      assert.deepEqual(await sdk.getDesktopRecording(rec.id), done);
      assert.deepEqual(await sdk.listDesktopRecordings(), { recordings: [done] });
      const bytes = await sdk.downloadDesktopRecording(rec.id);
      assert.equal(bytes.length, done.bytes);
      const out = path.join(await tempDir(), "sdk.mp4");
      await fsp.writeFile(out, bytes);
      const probe = ffprobe(out);
      assert.ok(probe.duration > 0);
      assert.deepEqual([probe.stream.width, probe.stream.height], [640, 480]);
      await sdk.deleteDesktopRecording(rec.id);
      assert.deepEqual(await sdk.listDesktopRecordings(), { recordings: [] });
      await assert.rejects(sdk.getDesktopRecording(rec.id), (e) => e.status === 404);
    } finally {
      await sdk.dispose?.();
    }
  });
});
