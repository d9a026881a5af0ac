// bench/desktop.mjs - desktop latency figures: median (and p90) of N calls per operation,
// client side over one keep-alive connection, for each server URL given on the command line.
//
//   node bench/desktop.mjs NAME=URL [NAME=URL...]
//
// Each server must have an active desktop with the test window mapped (bench/desktop.sh does
// that). Prints one table with a column per server.  Never asserts.

import http from "node:http";
import { spawn } from "node:child_process";

const N = Number(process.env.BENCH_N || 50);
const LOOP = Number(process.env.BENCH_LOOP || 100);
const servers = process.argv.slice(2).map((a) => {
  const i = a.indexOf("=");
  return { name: a.slice(0, i), base: new URL(a.slice(i + 1)) };
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(base, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        agent,
        headers: data ? { "content-type": "application/json", "content-length": data.length } : {},
      },
      (res) => {
        let n = 0;
        res.on("data", (c) => {
          n += c.length;
        });
        res.on("end", () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${method} ${path}: ${res.statusCode}`))));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function timeIt(fn, n) {
  const times = [];
  let bytes = 0;
  await fn(); // warm-up
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    bytes = await fn(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(n / 2)], p90: times[Math.floor(n * 0.9)], bytes };
}

const text100 = "The quick brown fox jumps over the lazy dog 0123456789. Pack my box with five dozen liquor jugs!!";
const ops = [
  ["PNG screenshot", (b) => call(b, "GET", "/v1/desktop/screenshot")],
  ["JPEG q70 screenshot", (b) => call(b, "GET", "/v1/desktop/screenshot?format=jpeg&quality=70")],
  ["WebP screenshot", (b) => call(b, "GET", "/v1/desktop/screenshot?format=webp")],
  ["JPEG scale 0.5", (b) => call(b, "GET", "/v1/desktop/screenshot?format=jpeg&scale=0.5")],
  ["mouse move", (b, i) => call(b, "POST", "/v1/desktop/mouse/move", { x: 200 + (i % 50), y: 300 })],
  ["click", (b, i) => call(b, "POST", "/v1/desktop/mouse/click", { x: 200 + (i % 50), y: 300 })],
  ["type 100 chars", (b) => call(b, "POST", "/v1/desktop/keyboard/type", { text: text100.slice(0, 100) })],
];

const rows = [];
for (const [name, fn] of ops) {
  const row = [name];
  for (const s of servers) {
    try {
      const r = await timeIt((i = 0) => fn(s.base, i), N);
      row.push(`${r.median.toFixed(2)} ms (p90 ${r.p90.toFixed(2)})${r.bytes > 100 ? ` ${Math.round(r.bytes / 1024)} KiB` : ""}`);
    } catch (e) {
      row.push(`n/a (${e.message})`);
    }
  }
  rows.push(row);
}
{
  const row = [`agent loop x${LOOP} (JPEG, click, type word)`];
  for (const s of servers) {
    try {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < LOOP; i++) {
        await call(s.base, "GET", "/v1/desktop/screenshot?format=jpeg&quality=70");
        await call(s.base, "POST", "/v1/desktop/mouse/click", { x: 200 + (i % 50), y: 300 });
        await call(s.base, "POST", "/v1/desktop/keyboard/type", { text: "word " });
      }
      row.push(`${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s total`);
    } catch (e) {
      row.push(`n/a (${e.message})`);
    }
  }
  rows.push(row);
}

// X change -> waitForChange answer: a second test window (XCLIENT) repaints on a stdin command
// while a screenshot request waits with ?waitForChangeMs&since; the time is from writing the
// command to the end of the answer (pipe, client drawing, XDamage, capture, encode, HTTP).
function get(base, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, etag: res.headers.etag }));
    });
    req.on("error", reject);
    req.end();
  });
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
for (const [label, query] of [
  ["change -> waitForChange, JPEG q70", "format=jpeg&quality=70"],
  ["change -> waitForChange, 100x100 PNG region", "x=1000&y=700&width=100&height=100"],
]) {
  const row = [label];
  for (const s of servers) {
    let xc;
    try {
      const route = query.startsWith("x=") ? "/v1/desktop/screenshot/region" : "/v1/desktop/screenshot";
      const display = await new Promise((resolve, reject) => {
        http.get({ host: s.base.hostname, port: s.base.port, path: "/v1/desktop/status", agent }, (res) => {
          let b = "";
          res.on("data", (c) => (b += c)).on("end", () => resolve(JSON.parse(b).display));
        }).on("error", reject);
      });
      const probe = await get(s.base, `${route}?${query}&waitForChangeMs=1`);
      // agentd's frame ETags ("<frame>-<instance>-<params>"); the reference has no waitForChangeMs.
      if (!/^"[0-9a-f]+-[0-9a-f]{8}-[0-9a-f]{8}"$/.test(probe.etag || "")) throw new Error("no waitForChangeMs");
      xc = spawn(process.env.XCLIENT || "build/tests/desk_xclient", ["1000", "700", "100", "100"], {
        env: { ...process.env, DISPLAY: display },
        stdio: ["pipe", "pipe", "ignore"],
      });
      let out = "";
      xc.stdout.on("data", (c) => (out += c));
      while (!out.includes("ready")) await pause(5);
      const times = [];
      for (let i = 0; i <= N; i++) {
        const { etag } = await get(s.base, `${route}?${query}`);
        const pending = get(s.base, `${route}?${query}&waitForChangeMs=5000&since=${encodeURIComponent(etag)}`);
        await pause(20); // let the request park (a bench may sleep; a test may not)
        const t0 = process.hrtime.bigint();
        xc.stdin.write(`fill ${(0x102030 + i * 0x050301).toString(16).slice(-6)}\n`);
        const r = await pending;
        if (r.status !== 200) throw new Error(`answer ${r.status}`);
        if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6); // the first warms up
      }
      times.sort((a, b) => a - b);
      row.push(`${times[Math.floor(N / 2)].toFixed(2)} ms (p90 ${times[Math.floor(N * 0.9)].toFixed(2)})`);
    } catch (e) {
      row.push(`n/a (${e.message})`);
    } finally {
      if (xc) xc.kill("SIGKILL");
    }
  }
  rows.push(row);
}

const header = ["operation (median of " + N + ")", ...servers.map((s) => s.name)];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
agent.destroy();
