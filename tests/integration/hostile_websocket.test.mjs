// Hostile input, family 4: WebSocket frames on the terminal socket. A frame declaring 2 GiB, a
// fragmented message that never ends, invalid UTF-8, unmasked client frames and every other
// frame RFC 6455 makes a server refuse: the socket is closed with the RFC's code and a reason,
// memory stays bounded, the daemon keeps answering others within 100 ms, and nothing changes on
// disk (the terminals' working directory and the daemon's cwd). Also the close handshake,
// ping/pong, and handshake faults answered as problems.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import {
  startDaemon,
  assertHealthWithin,
  procCreate,
  procKillQuietly,
  vmRssKb,
  waitFor,
  realTempDir,
  snapshot,
  assertUnchanged,
} from "./harness.mjs";

let d;
let proc;
let dir; // the terminals' working directory
let disk; // snapshots of dir and the daemon's cwd, taken once both terminals run
before(async () => {
  d = await startDaemon();
  dir = await realTempDir("agentd-ws-");
  proc = await procCreate(d, { command: "cat", tty: true, cwd: dir });
  disk = { dir: await snapshot(dir), cwd: await snapshot(d.cwd) };
});

/** Nothing the frames did reached the disk. */
async function assertDiskUnchanged() {
  await assertUnchanged(dir, disk.dir, "the terminals' working directory changed");
  await assertUnchanged(d.cwd, disk.cwd, "the daemon's cwd changed");
}
after(async () => {
  if (proc) await procKillQuietly(d, proc.id);
  if (d) await d.stop();
});

/** A client frame: masked unless told otherwise; `len` may lie about the payload's size. */
function frame(op, payload, { mask = true, fin = true, len } = {}) {
  const b = Buffer.from(payload);
  const n = len ?? b.length;
  let hdr;
  if (n < 126) hdr = Buffer.from([(fin ? 0x80 : 0) | op, (mask ? 0x80 : 0) | n]);
  else if (n < 65536) {
    hdr = Buffer.alloc(4);
    hdr[1] = (mask ? 0x80 : 0) | 126;
    hdr.writeUInt16BE(n, 2);
  } else {
    hdr = Buffer.alloc(10);
    hdr[1] = (mask ? 0x80 : 0) | 127;
    hdr.writeBigUInt64BE(BigInt(n), 2);
  }
  hdr[0] = (fin ? 0x80 : 0) | op;
  if (!mask) return Buffer.concat([hdr, b]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  return Buffer.concat([hdr, key, Buffer.from(b.map((x, i) => x ^ key[i % 4]))]);
}

/** Opens the terminal socket by hand; resolves { sock, frames(), closed() } once upgraded. */
function openRaw() {
  return new Promise((resolve, reject) => {
    const sock = net.connect(d.port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let upgraded = false;
    let closed = false;
    sock.on("error", () => {});
    sock.on("close", () => (closed = true));
    sock.on("connect", () =>
      sock.write(
        `GET /v1/processes/${proc.id}/terminal/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from("hostile-ws-key!!").toString("base64")}\r\n\r\n`,
      ),
    );
    sock.on("data", (c) => {
      data = Buffer.concat([data, c]);
      if (!upgraded && data.includes("\r\n\r\n")) {
        if (!data.toString("latin1").startsWith("HTTP/1.1 101")) return reject(new Error(data.toString()));
        upgraded = true;
        data = data.subarray(data.indexOf("\r\n\r\n") + 4);
        resolve({
          sock,
          closed: () => closed,
          /** Server frames so far: [{ op, payload }] (unmasked, lengths up to 64 KiB). */
          frames() {
            const out = [];
            for (let i = 0; i + 2 <= data.length; ) {
              let n = data[i + 1] & 0x7f;
              let h = 2;
              if (n === 126) {
                n = data.readUInt16BE(i + 2);
                h = 4;
              }
              if (i + h + n > data.length) break;
              out.push({ op: data[i] & 0x0f, payload: data.subarray(i + h, i + h + n) });
              i += h + n;
            }
            return out;
          },
        });
      }
    });
  });
}

const closeCode = (ws) => {
  const c = ws.frames().find((f) => f.op === 8);
  return c && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : null;
};
const closeReason = (ws) => ws.frames().find((f) => f.op === 8).payload.subarray(2).toString();

describe("hostile WebSocket frames", () => {
  test("a frame that declares 2 GiB is refused on its header with 1009", async () => {
    const ws = await openRaw();
    ws.sock.write(frame(2, "abc", { len: 2 ** 31 }));
    await waitFor(() => closeCode(ws) !== null, { what: "a close frame" });
    assert.equal(closeCode(ws), 1009);
    await waitFor(() => ws.closed(), { timeout: 15000, what: "the TCP connection to close" });
    await assertHealthWithin(d);
    await assertDiskUnchanged();
  });

  test("a fragmented message that never ends is cut off at the limit with 1009, memory bounded", async () => {
    const rss0 = vmRssKb(d.pid);
    const ws = await openRaw();
    const piece = Buffer.alloc(60000, 0x61);
    for (let i = 0; i < 400 && !ws.closed() && closeCode(ws) === null; i++) {
      if (!ws.sock.write(frame(i ? 0 : 2, piece, { fin: false }))) await new Promise((r) => ws.sock.once("drain", r));
    }
    await waitFor(() => closeCode(ws) !== null, { what: "a close frame" });
    assert.equal(closeCode(ws), 1009);
    assert.ok(vmRssKb(d.pid) - rss0 < 32 * 1024, "reassembly stayed bounded");
    ws.sock.destroy();
    await assertHealthWithin(d);
    await assertDiskUnchanged();
  });

  test("invalid UTF-8 in a text frame closes with 1007", async () => {
    const ws = await openRaw();
    ws.sock.write(frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    await waitFor(() => closeCode(ws) !== null, { what: "a close frame" });
    assert.equal(closeCode(ws), 1007);
    ws.sock.destroy();
    await assertHealthWithin(d);
    await assertDiskUnchanged();
  });

  test("a viewer that stops reading is cut off with 1008 and its connection dropped after the grace", async () => {
    const flood = await procCreate(d, { command: "yes", args: ["terminal flood"], tty: true, cwd: dir });
    /** Is the daemon's end of the connection from client port `cport` still established? */
    const established = (cport) =>
      execFileSync("ss", ["-tnH", "state", "established", `( sport = :${d.port} and dport = :${cport} )`], { encoding: "utf8" }).trim() !== "";
    /** A raw viewer; `read` false stops reading right after the upgrade. */
    const viewer = (read) =>
      new Promise((resolve) => {
        const sock = net.connect(d.port, "127.0.0.1");
        let head = "";
        const v = { sock, closed: false, bytes: 0 };
        sock.on("error", () => {});
        sock.on("close", () => (v.closed = true));
        sock.on("connect", () =>
          sock.write(
            `GET /v1/processes/${flood.id}/terminal/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
              `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from("stalled-viewer!!").toString("base64")}\r\n\r\n`,
          ),
        );
        const onData = (c) => {
          v.bytes += c.length;
          if (head !== null) {
            head += c.toString("latin1");
            if (head.includes("\r\n\r\n")) {
              head = null;
              if (!read) {
                sock.off("data", onData);
                sock.pause();
              }
              resolve(v);
            }
          }
        };
        sock.on("data", onData);
      });
    try {
      const stalled = await viewer(false);
      const active = await viewer(true);
      assert.ok(established(stalled.sock.localPort) && established(active.sock.localPort));
      // The active viewer keeps the PTY flowing; the stalled one falls out of the log, is told
      // 1008 (which it cannot read), and its connection goes after LIM_WS_CLOSE_GRACE_S.
      await waitFor(() => !established(stalled.sock.localPort), {
        timeout: 30000,
        interval: 100,
        what: "the daemon to drop the stalled viewer",
      });
      assert.ok(established(active.sock.localPort), "the reading viewer is still connected");
      assert.equal(active.closed, false);
      assert.ok(active.bytes > 10 << 20, `the reading viewer got ${active.bytes} bytes`);
      await assertHealthWithin(d);
      await assertDiskUnchanged();
      stalled.sock.destroy();
      active.sock.destroy();
    } finally {
      await procKillQuietly(d, flood.id);
    }
  });

  test("unmasked client frames are refused with 1002; other viewers are not disturbed", async () => {
    const bad = await openRaw();
    const good = await openRaw();
    bad.sock.write(frame(1, JSON.stringify({ type: "input", data: "from-unmasked\n" }), { mask: false }));
    good.sock.write(frame(1, JSON.stringify({ type: "input", data: "from-masked\n" })));
    await waitFor(() => closeCode(bad) !== null, { what: "a close frame for the unmasked viewer" });
    assert.equal(closeCode(bad), 1002);
    assert.match(closeReason(bad), /masked/);
    await waitFor(() => good.frames().some((f) => f.op === 2 && f.payload.includes("from-masked")), {
      what: "the masked viewer's echo",
    });
    // The unmasked input never reached the terminal.
    assert.ok(!good.frames().some((f) => f.op === 2 && f.payload.includes("from-unmasked")));
    await assertHealthWithin(d);
    await assertDiskUnchanged();
    bad.sock.destroy();
    good.sock.destroy();
  });

  // Each frame a server must refuse (RFC 6455 5.2, 5.4, 5.5, 7.4.1), with the code it sends.
  const PROTOCOL_FAULTS = [
    ["reserved bit RSV1 without an extension", () => Buffer.from([0xc1, 0x80, 1, 2, 3, 4]), 1002, /reserved/],
    ["opcode 3 (reserved)", () => frame(3, "x"), 1002, /opcode/],
    ["opcode 0xB (reserved control)", () => frame(0xb, "x"), 1002, /opcode/],
    ["a fragmented ping", () => frame(9, "x", { fin: false }), 1002, /fragmented/],
    ["a ping of 126 bytes", () => frame(9, Buffer.alloc(126)), 1002, /125/],
    ["a continuation with no message", () => frame(0, "x"), 1002, /continuation/],
    ["a new message inside a fragmented one", () => Buffer.concat([frame(2, "a", { fin: false }), frame(2, "b")]), 1002, /new message/],
    ["a close frame with a 1-byte payload", () => frame(8, Buffer.from([3])), 1002, /1-byte/],
    ["close code 1005 (reserved, never sent)", () => frame(8, Buffer.from([0x03, 0xed])), 1002, /close code/],
    ["close code 999", () => frame(8, Buffer.from([0x03, 0xe7])), 1002, /close code/],
    ["a close reason that is not UTF-8", () => frame(8, Buffer.from([0x03, 0xe8, 0xc3, 0x28])), 1007, /UTF-8/],
    ["an overlong UTF-8 slash in a text frame", () => frame(1, Buffer.from([0xc0, 0xaf])), 1007, /UTF-8/],
    ["a UTF-16 surrogate in a text frame", () => frame(1, Buffer.from([0xed, 0xa0, 0x80])), 1007, /UTF-8/],
  ];
  for (const [what, bytes, code, reason] of PROTOCOL_FAULTS) {
    test(`refused: ${what} -> ${code}`, async () => {
      const ws = await openRaw();
      ws.sock.write(bytes());
      await waitFor(() => closeCode(ws) !== null, { what: "a close frame" });
      assert.equal(closeCode(ws), code);
      assert.match(closeReason(ws), reason);
      // The daemon closes the TCP connection once the client answers (or after the grace).
      ws.sock.write(frame(8, Buffer.from([0x03, 0xe8])));
      await waitFor(() => ws.closed(), { what: "the TCP connection to close" });
      await assertHealthWithin(d);
      await assertDiskUnchanged();
    });
  }

  test("ping gets a pong with the same payload, also between the fragments of a message", async () => {
    const ws = await openRaw();
    ws.sock.write(frame(9, "are-you-there"));
    await waitFor(() => ws.frames().some((f) => f.op === 10), { what: "a pong" });
    assert.equal(ws.frames().find((f) => f.op === 10).payload.toString(), "are-you-there");
    // A text message in two fragments with a ping between them: the message still arrives whole.
    const msg = JSON.stringify({ type: "input", data: "split-message\n" });
    ws.sock.write(Buffer.concat([frame(1, msg.slice(0, 10), { fin: false }), frame(9, "mid"), frame(0, msg.slice(10))]));
    await waitFor(() => ws.frames().filter((f) => f.op === 10).length === 2, { what: "the second pong" });
    await waitFor(() => ws.frames().some((f) => f.op === 2 && f.payload.includes("split-message")), { what: "the echo" });
    assert.equal(closeCode(ws), null, "no close");
    ws.sock.destroy();
    await assertDiskUnchanged();
  });

  test("a client's close is echoed with its code and the daemon ends the TCP connection", async () => {
    const ws = await openRaw();
    ws.sock.write(frame(8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from("bye")])));
    await waitFor(() => closeCode(ws) !== null, { what: "the echoed close" });
    assert.equal(closeCode(ws), 4000);
    await waitFor(() => ws.closed(), { what: "the TCP connection to close" });
    // An empty close is answered with an empty close.
    const empty = await openRaw();
    empty.sock.write(frame(8, ""));
    await waitFor(() => empty.frames().some((f) => f.op === 8), { what: "the echoed close" });
    assert.equal(empty.frames().find((f) => f.op === 8).payload.length, 0);
    await waitFor(() => empty.closed(), { what: "the TCP connection to close" });
    await assertDiskUnchanged();
  });

  test("handshake faults are problems, not upgrades: version other than 13 -> 426, bad key -> 400", async () => {
    const ask = async (headers) => {
      const sock = net.connect(d.port, "127.0.0.1");
      let data = "";
      sock.on("data", (c) => (data += c.toString("latin1")));
      sock.on("error", () => {});
      await new Promise((r) => sock.on("connect", r));
      sock.write(
        `GET /v1/processes/${proc.id}/terminal/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${headers}\r\n`,
      );
      await waitFor(() => data.includes("\r\n\r\n") && data.includes("}"), { what: "the answer" });
      sock.destroy();
      return data;
    };
    const key = `Sec-WebSocket-Key: ${Buffer.from("sixteen-byte-key").toString("base64")}\r\n`;
    const v8 = await ask(`Sec-WebSocket-Version: 8\r\n${key}`);
    assert.match(v8, /^HTTP\/1\.1 426 /);
    assert.match(v8, /\r\nsec-websocket-version: 13\r\n/i);
    assert.match(v8, /Sec-WebSocket-Version: 13/);
    const noKey = await ask("Sec-WebSocket-Version: 13\r\n");
    assert.match(noKey, /^HTTP\/1\.1 400 /);
    assert.match(noKey, /Sec-WebSocket-Key/);
    const shortKey = await ask(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from("short").toString("base64")}\r\n`);
    assert.match(shortKey, /^HTTP\/1\.1 400 /);
    await assertHealthWithin(d);
    await assertDiskUnchanged();
  });
});
