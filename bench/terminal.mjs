#!/usr/bin/env node
// bench/terminal.mjs - terminal WebSocket throughput, agentd next to the reference.
//
// A tty process waits for one line of input, then writes N bytes (default 64 MiB) to its PTY
// and exits. One viewer (the `ws` package, as the SDK uses it) is attached before the output
// starts; the figure is the bytes received before the `exit` frame divided by the time from
// sending the line to the `exit` frame. Bytes received are printed too: the reference loses
// output at exit. A last row times `agentd exec -t -- head -c N /dev/zero` (create + attach +
// transfer + exit through the command-line client, output to /dev/null). Input: N/4 bytes
// POSTed to /v1/processes/{id}/input in 64 KiB base64 requests, one at a time, into `cat`
// (both servers), and `agentd exec -i -- wc -c` reading them from a file (agentd; the reference
// has no way to close a child's stdin).
//
// Prints figures, asserts nothing. Run by `make bench`, or: node bench/terminal.mjs [MiB]
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { startDaemon, startReference, REF_BIN, AGENTD_BIN, procCreate, postJson, tempDir } from "../tests/integration/harness.mjs";
import path from "node:path";
import fs from "node:fs";

const require = createRequire(new URL("../tests/package.json", import.meta.url));
const WebSocket = require("ws");

const MIB = Number(process.argv[2] || process.env.BENCH_TERMINAL_MIB || 64);
const N = MIB * 1024 * 1024;

async function viewer(d) {
  const p = await procCreate(d, {
    command: "sh",
    args: ["-c", `stty -echo; read x; head -c ${N} /dev/zero`],
    tty: true,
    interactive: true,
  });
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/v1/processes/${p.id}/terminal/ws`);
  ws.binaryType = "nodebuffer";
  let bytes = 0;
  let t0 = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ bytes, seconds: (performance.now() - t0) / 1000, note: "timed out" });
    }, 120000);
    ws.on("error", reject);
    ws.on("message", (data, binary) => {
      if (binary) {
        bytes += data.length;
        return;
      }
      const m = JSON.parse(data.toString());
      if (m.type === "ready") {
        t0 = performance.now();
        ws.send(JSON.stringify({ type: "input", data: "go\n" }));
      } else if (m.type === "exit") {
        clearTimeout(timer);
        resolve({ bytes, seconds: (performance.now() - t0) / 1000 });
        ws.close();
      }
    });
    ws.on("close", () => {
      clearTimeout(timer);
      resolve({ bytes, seconds: (performance.now() - t0) / 1000, note: "closed without exit" });
    });
  });
}

function cli(d) {
  const t0 = performance.now();
  const r = spawnSync(AGENTD_BIN, ["exec", "-t", "--", "head", "-c", String(N), "/dev/zero"], {
    env: { ...process.env, AGENTD_ENDPOINT: d.base },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return { status: r.status, seconds: (performance.now() - t0) / 1000 };
}

const IN = N / 4;

async function postInput(d) {
  const p = await procCreate(d, { command: "sh", args: ["-c", "cat > /dev/null"], interactive: true });
  const chunk = Buffer.alloc(65536, 0x61).toString("base64");
  const t0 = performance.now();
  for (let sent = 0; sent < IN; sent += 65536) {
    const r = await postJson(d, `/v1/processes/${p.id}/input`, { data: chunk });
    if (r.status !== 200) return { bytes: sent, seconds: (performance.now() - t0) / 1000, note: `HTTP ${r.status}` };
  }
  return { bytes: IN, seconds: (performance.now() - t0) / 1000 };
}

async function cliInput(d) {
  const file = path.join(await tempDir("agentd-bench-"), "in.bin");
  fs.writeFileSync(file, Buffer.alloc(IN, 0x62));
  const fd = fs.openSync(file, "r");
  const t0 = performance.now();
  const r = spawnSync(AGENTD_BIN, ["exec", "-i", "--", "wc", "-c"], {
    env: { ...process.env, AGENTD_ENDPOINT: d.base },
    stdio: [fd, "pipe", "pipe"],
  });
  const seconds = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  const counted = Number(String(r.stdout).trim());
  return { bytes: counted, seconds, note: r.status === 0 ? "" : `exit ${r.status}` };
}

const fmtIn = (r) => (r ? `${((r.bytes / r.seconds) / 1e6).toFixed(0)} MB/s, ${r.bytes}/${IN} bytes${r.note ? ` (${r.note})` : ""}` : "n/a");

const fmt = (r) => (r ? `${((r.bytes / r.seconds) / 1e6).toFixed(0)} MB/s, ${r.bytes}/${N} bytes${r.note ? ` (${r.note})` : ""}` : "n/a");

const rows = [];
const ag = await startDaemon();
const agRun = await viewer(ag);
const agCli = cli(ag);
const agIn = await postInput(ag);
const agCliIn = await cliInput(ag);
await ag.stop();
let refIn = null;
let refRun = null;
if (fs.existsSync(REF_BIN)) {
  const ref = await startReference();
  refRun = await viewer(ref).catch((e) => ({ bytes: 0, seconds: 1, note: e.message }));
  refIn = await postInput(ref).catch((e) => ({ bytes: 0, seconds: 1, note: e.message }));
  await ref.stop();
}
rows.push([`terminal WS, ${MIB} MiB, one viewer`, fmt(refRun), fmt(agRun)]);
rows.push([`agentd exec -t, ${MIB} MiB to /dev/null`, "-", agCli.status === 0 ? `${((N / agCli.seconds) / 1e6).toFixed(0)} MB/s (${agCli.seconds.toFixed(2)} s)` : `exit ${agCli.status}`]);
rows.push([`stdin, POST input 64 KiB x ${IN / 65536}`, fmtIn(refIn), fmtIn(agIn)]);
rows.push([`agentd exec -i, ${IN / 1048576} MiB file to wc -c`, "-", fmtIn(agCliIn)]);
const w = [40, 44, 44];
console.log(["metric", "reference", "agentd"].map((s, i) => s.padEnd(w[i])).join(" | "));
for (const r of rows) console.log(r.map((s, i) => s.padEnd(w[i])).join(" | "));
