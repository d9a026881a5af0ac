// bench/connections.mjs - how /v1/health answers while many connections are held: idle
// keep-alives plus SSE log followers, and slowloris (a header byte per second). Prints figures,
// asserts nothing. Run from the repo root after `make`: node bench/connections.mjs
//
// Environment: AGENTD_BIN (default build/agentd), BENCH_PROBES (default 50 health probes per
// scenario), BENCH_SLOW_SECONDS (default 5, how long each slowloris scenario runs).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const BIN = process.env.AGENTD_BIN || "build/agentd";
const PROBES = Number(process.env.BENCH_PROBES || 50);
const SLOW_S = Number(process.env.BENCH_SLOW_SECONDS || 5);

async function start(env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agentd-bench-conn-"));
  const portFile = path.join(dir, "port");
  const proc = spawn(BIN, ["server", "--no-token", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile], {
    env: { ...process.env, HOME: dir, AGENTD_LOG: "error", ...env },
    stdio: "ignore",
  });
  for (let i = 0; i < 500 && !fs.existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 10));
  const port = Number(fs.readFileSync(portFile, "utf8"));
  return { proc, port, dir };
}

function get(port, p, timeout = 2000) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host: "127.0.0.1", port, path: p, agent: false, timeout }, (res) => {
      res.resume();
      res.on("end", () => resolve({ ok: res.statusCode === 200, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ ok: false, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

async function probe(port, n = PROBES) {
  const ms = [];
  let fail = 0;
  for (let i = 0; i < n; i++) {
    const r = await get(port, "/v1/health");
    if (r.ok) ms.push(r.ms);
    else fail++;
  }
  ms.sort((a, b) => a - b);
  const q = (f) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(f * ms.length))].toFixed(2) : "n/a");
  return { p50: q(0.5), p99: q(0.99), max: ms.length ? ms.at(-1).toFixed(2) : "n/a", fail, n };
}

function openMany(port, n, hello) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    if (hello) s.write(hello);
    socks.push(s);
  }
  return socks;
}

const rows = [];
const row = (name, r) => rows.push(`| ${name} | ${r.p50} | ${r.p99} | ${r.max} | ${r.fail} of ${r.n} |`);

{
  const d = await start();
  row("idle daemon", await probe(d.port));
  const pr = await new Promise((resolve) => {
    const body = JSON.stringify({ command: "cat" });
    const req = http.request({ host: "127.0.0.1", port: d.port, method: "POST", path: "/v1/processes", headers: { "content-type": "application/json", "content-length": body.length } }, (res) => {
      let t = "";
      res.on("data", (c) => (t += c));
      res.on("end", () => resolve(JSON.parse(t)));
    });
    req.end(body);
  });
  const idle = openMany(d.port, 1000, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const sse = openMany(d.port, 200, `GET /v1/processes/${pr.id}/logs?follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 1000));
  row("1,000 idle keep-alive + 200 SSE followers", await probe(d.port));
  for (const s of [...idle, ...sse]) s.destroy();
  d.proc.kill("SIGTERM");
}

for (const n of [300, 1100]) {
  const d = await start();
  const socks = openMany(d.port, n, "GET /v1/health HTTP/1.1\r\n");
  const drip = setInterval(() => socks.forEach((s) => s.write("X")), 1000);
  const t0 = Date.now();
  const all = { fail: 0 };
  let r;
  while (Date.now() - t0 < SLOW_S * 1000) {
    r = await probe(d.port, 10);
    all.fail += r.fail;
  }
  clearInterval(drip);
  row(`slowloris, ${n} connections dribbling for ${SLOW_S} s (${all.fail} probes failed meanwhile)`, await probe(d.port));
  for (const s of socks) s.destroy();
  d.proc.kill("SIGTERM");
}

console.log("| scenario | health p50 ms | p99 ms | max ms | failed |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(r);
