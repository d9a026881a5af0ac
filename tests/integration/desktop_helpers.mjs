// Helpers for the desktop tests: a daemon with an active desktop (its own throwaway Xvfb),
// the test X client (tests/tools/desk_xclient.c) and an image decoder
// (tests/tools/desk_imgdecode.c) to check real pixels.

import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import assert from "node:assert/strict";
import { assertJson, postJson, startServer, waitFor } from "./harness.mjs";

export const XCLIENT = path.resolve(
  process.env.AGENTD_XCLIENT || new URL("../../build/tests/desk_xclient", import.meta.url).pathname,
);
export const IMGDECODE = path.resolve(
  process.env.AGENTD_IMGDECODE || new URL("../../build/tests/desk_imgdecode", import.meta.url).pathname,
);

/**
 * A display number unlikely to be taken: distinct within this test file (whose desktops stay up
 * until its end), from a random start so parallel runs rarely meet (agentd falls back to a free
 * display when one is taken, which tests of that fallback rely on).
 */
let nextDisplay = 200 + Math.floor(Math.random() * 400);
export const displayNum = () => nextDisplay++;

/** Start a daemon and its desktop; returns { d, status }. */
export async function startDesktop(opts = {}, body = {}) {
  const d = await startServer(opts);
  const status = assertJson(
    await postJson(d, "/v1/desktop/start", { width: 1024, height: 768, displayNum: displayNum(), ...body }),
    200,
    "desktop start",
  );
  assert.equal(status.state, "active");
  return { d, status };
}

/**
 * Start the test X client on `display` with a window at (x, y, w, h). Resolves once it printed
 * "ready": { windowId, lines, next(pred, timeout), fill([r, g, b]), stop() }.
 */
export async function startXClient(display, { x = 100, y = 100, w = 200, h = 100 } = {}) {
  const child = spawn(XCLIENT, [String(x), String(y), String(w), String(h)], {
    env: { ...process.env, DISPLAY: display },
    stdio: ["pipe", "pipe", "pipe"],
  });
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
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const client = {
    child,
    lines,
    /** The first line from index `from` matching pred (a RegExp or a function). */
    async next(pred, { from = 0, timeout = 5000 } = {}) {
      const test = pred instanceof RegExp ? (l) => pred.test(l) : pred;
      return waitFor(() => lines.slice(from).find(test), { timeout, interval: 5, what: `xclient line ${pred}` }).catch(
        (e) => {
          throw new Error(`${e.message}; lines: ${JSON.stringify(lines.slice(-40))} stderr: ${stderr}`);
        },
      );
    },
    /** Wait until the client printed at least n lines after `from` matching pred; returns them. */
    async collect(pred, n, { from = 0, timeout = 5000 } = {}) {
      const test = pred instanceof RegExp ? (l) => pred.test(l) : pred;
      return waitFor(
        () => {
          const got = lines.slice(from).filter(test);
          return got.length >= n ? got : null;
        },
        { timeout, interval: 5, what: `${n} xclient lines ${pred}` },
      ).catch((e) => {
        throw new Error(`${e.message}; lines: ${JSON.stringify(lines.slice(-60))}`);
      });
    },
    /** Paint the whole window in one colour ([r, g, b]); resolves once the X server drew it. */
    async fill(rgb) {
      const hex = rgb.map((v) => v.toString(16).padStart(2, "0")).join("");
      const from = lines.length;
      child.stdin.write(`fill ${hex}\n`);
      return client.next((l) => l === `filled ${hex}`, { from });
    },
    stop() {
      try {
        child.kill("SIGKILL");
      } catch {
        /* gone */
      }
    },
  };
  const ready = await client.next(/^ready /, { timeout: 10000 });
  client.windowId = ready.split(" ")[1];
  return client;
}

/** Decode PNG/JPEG/WebP bytes: { width, height, px (RGB Buffer), at(x, y) -> [r, g, b] }. */
export function decodeImage(bytes) {
  const r = spawnSync(IMGDECODE, [], { input: Buffer.from(bytes), maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`desk_imgdecode failed: ${r.stderr.toString()}`);
  const out = r.stdout;
  // "P6\n<w> <h>\n255\n"
  let pos = 0;
  const fields = [];
  while (fields.length < 4) {
    let end = out.indexOf(0x0a, pos);
    const line = out.subarray(pos, end).toString("latin1");
    for (const f of line.split(" ")) if (f) fields.push(f);
    pos = end + 1;
  }
  const width = Number(fields[1]);
  const height = Number(fields[2]);
  const px = out.subarray(pos);
  assert.equal(px.length, width * height * 3, "PPM size");
  return {
    width,
    height,
    px,
    at(x, y) {
      const i = (y * width + x) * 3;
      return [px[i], px[i + 1], px[i + 2]];
    },
  };
}

/** Assert a pixel is within tol of an [r, g, b] colour. */
export function assertColor(img, x, y, rgb, tol = 0, msg = "") {
  const got = img.at(x, y);
  const ok = got.every((v, i) => Math.abs(v - rgb[i]) <= tol);
  assert.ok(ok, `${msg} pixel (${x},${y}) is ${JSON.stringify(got)}, expected ${JSON.stringify(rgb)} ±${tol}`);
}

export const RED = [255, 0, 0];
export const GREEN = [0, 255, 0];
export const BLUE = [0, 0, 255];
export const WHITE = [255, 255, 255];
