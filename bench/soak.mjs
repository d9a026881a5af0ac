// bench/soak.mjs - a mixed workload for a while against one daemon, counting operations and
// errors, with the daemon's RSS at the start and the end and its exit status after SIGTERM (an
// ASan build exits non-zero on a leak or an error). Prints figures, asserts nothing.
//
//   node bench/soak.mjs                       # build/agentd, 60 s
//   AGENTD_BIN=build/asan/agentd SOAK_SECONDS=180 node bench/soak.mjs
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const BIN = process.env.AGENTD_BIN || "build/agentd";
const SECONDS = Number(process.env.SOAK_SECONDS || 60);
const WORKERS = Number(process.env.SOAK_WORKERS || 4);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agentd-soak-"));
const portFile = path.join(dir, "port");
let logs = "";
const proc = spawn(BIN, ["server", "--no-token", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile], {
  env: { ...process.env, HOME: dir, AGENTD_LOG: "warn", ASAN_OPTIONS: "detect_leaks=1" },
  stdio: ["ignore", "pipe", "pipe"],
});
proc.stdout.on("data", (c) => (logs += c));
proc.stderr.on("data", (c) => (logs += c));
const exited = new Promise((r) => proc.on("exit", (code, sig) => r({ code, sig })));
for (let i = 0; i < 1000 && !fs.existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 10));
const port = Number(fs.readFileSync(portFile, "utf8"));
const rss = () => Number((/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, "utf8")) || [0, 0])[1]);

function req(method, p, { body, headers = {}, chunked = false } = {}) {
  return new Promise((resolve) => {
    const r = http.request({ host: "127.0.0.1", port, method, path: p, headers, agent: false }, (res) => {
      const parts = [];
      res.on("data", (c) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
    });
    r.on("error", () => resolve({ status: 0, body: Buffer.alloc(0) }));
    if (body !== undefined && !chunked) r.setHeader("content-length", Buffer.byteLength(body));
    if (chunked) r.write(body);
    r.end(chunked ? undefined : body);
  });
}
const json = (method, p, v) => req(method, p, { body: JSON.stringify(v), headers: { "content-type": "application/json" } });
const q = encodeURIComponent;

function raw(bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let n = 0;
    s.on("data", (c) => (n += c.length));
    s.on("close", () => resolve(n));
    s.on("error", () => resolve(n));
    s.write(bytes);
  });
}

const ops = {};
const failed = {};
let errors = 0;
const expect = (name, ok) => {
  ops[name] = (ops[name] || 0) + 1;
  if (!ok) {
    errors++;
    failed[name] = (failed[name] || 0) + 1;
  }
};

async function worker(w) {
  const base = path.join(dir, `w${w}`);
  fs.mkdirSync(base, { recursive: true });
  const deadline = Date.now() + SECONDS * 1000;
  for (let i = 0; Date.now() < deadline; i++) {
    const f = path.join(base, `f${i % 8}`);
    const data = `soak ${w} ${i} `.repeat(1 + (i % 200));
    expect("put", (await req("PUT", `/v1/fs/file?path=${q(f)}`, { body: data })).status === 200);
    const got = await req("GET", `/v1/fs/file?path=${q(f)}`);
    expect("get", got.status === 200 && got.body.toString() === data);
    expect("put chunked", (await req("PUT", `/v1/fs/file?path=${q(f)}`, { body: data, chunked: true })).status === 200);
    expect("stat", (await req("GET", `/v1/fs/stat?path=${q(f)}`)).status === 200);
    const d = path.join(base, `d${i % 4}`);
    expect("mkdir", (await req("POST", `/v1/fs/mkdir?path=${q(d)}`)).status === 200);
    expect("delete", (await req("DELETE", `/v1/fs/entry?path=${q(d)}&recursive=true`)).status === 200);
    const run = await json("POST", "/v1/processes/run", { command: "echo", args: [`r${i}`] });
    expect("run", run.status === 200 && JSON.parse(run.body).stdout === `r${i}\n`);
    if (i % 10 === 0) {
      const p = await json("POST", "/v1/processes", { command: "sh", args: ["-c", "echo started; sleep 0.05"] });
      const id = p.status === 200 ? JSON.parse(p.body).id : null;
      expect("create", !!id);
      if (id) {
        const logs2 = await req("GET", `/v1/processes/${id}/logs?follow=true`);
        expect("follow", logs2.status === 200 && logs2.body.includes(Buffer.from("started\n").toString("base64")) && logs2.body.includes("event: exit"));
        expect("delete process", (await req("DELETE", `/v1/processes/${id}`)).status === 204);
      }
    }
    if (i % 5 === 0) {
      const n = await raw(`GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /v1/fs/stat?path=${q(base)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect("pipelined", n > 100);
      expect("bad request", (await req("POST", "/v1/processes/run", { body: "{", headers: { "content-type": "application/json" } })).status === 400);
    }
  }
}

const rss0 = rss();
const t0 = Date.now();
const samples = [];
const sampler = setInterval(() => samples.push((rss() / 1024).toFixed(1)), 15000);
await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
clearInterval(sampler);
const secs = (Date.now() - t0) / 1000;
const rss1 = rss();
proc.kill("SIGTERM");
const exit = await exited;
const total = Object.values(ops).reduce((a, b) => a + b, 0);
console.log(`binary ${BIN}, ${WORKERS} workers, ${secs.toFixed(0)} s`);
console.log(`operations ${total} (${(total / secs).toFixed(0)}/s), errors ${errors}`);
console.log(`RSS ${(rss0 / 1024).toFixed(1)} MiB at start, ${(rss1 / 1024).toFixed(1)} MiB at the end (every 15 s: ${samples.join(", ")})`);
console.log(`exit after SIGTERM: ${JSON.stringify(exit)}${/Sanitizer|runtime error/.test(logs) ? " (sanitizer report in the log)" : ""}`);
console.log(Object.entries(ops).map(([k, v]) => `${k} ${v}${failed[k] ? ` (${failed[k]} failed)` : ""}`).join(", "));
if (/Sanitizer|runtime error/.test(logs)) console.log(logs.slice(-4000));
fs.rmSync(dir, { recursive: true, force: true });
