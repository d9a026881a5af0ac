// The listener binds exactly what --host names, and nothing else: the bound sockets are read
// back from /proc/net/tcp{,6}, and connections to the machine's other addresses are refused.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import dns from "node:dns/promises";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { startDaemon, request, AGENTD_BIN, freePort, waitFor } from "./harness.mjs";

/** Listening sockets on `port`, as [{ family: 4|6, addr }] from /proc/net/tcp{,6}. */
function listening(port) {
  const out = [];
  for (const [file, family] of [["/proc/net/tcp", 4], ["/proc/net/tcp6", 6]]) {
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== "0A") continue; // 0A: LISTEN
      const [hex, p] = f[1].split(":");
      if (Number.parseInt(p, 16) !== port) continue;
      out.push({ family, addr: family === 4 ? v4(hex) : v6(hex) });
    }
  }
  return out;
}
// /proc/net/tcp prints addresses as host-order 32-bit words.
const v4 = (hex) => [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
function v6(hex) {
  const bytes = [];
  for (let w = 0; w < 4; w++) for (const i of [3, 2, 1, 0]) bytes.push(hex.slice(w * 8 + i * 2, w * 8 + i * 2 + 2));
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(Number.parseInt(bytes[i] + bytes[i + 1], 16).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}

/** A non-loopback IPv4 address of this machine (what `ip -4 addr` lists), or null. */
function externalV4() {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list || []) if (a.family === "IPv4" && !a.internal) return a.address;
  return null;
}

/** Resolves "refused", "accepted" or another error code for a TCP connect to host:port. */
function tryConnect(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 });
    s.on("connect", () => {
      s.destroy();
      resolve("accepted");
    });
    s.on("timeout", () => {
      s.destroy();
      resolve("timeout");
    });
    s.on("error", (e) => resolve(e.code === "ECONNREFUSED" ? "refused" : e.code));
  });
}

const EXT = externalV4();
if (!EXT) console.log("# listener_bind: this machine has no non-loopback IPv4 address; the 'refused from outside' halves are skipped");

describe("--host binds exactly the address given", () => {
  const daemons = [];
  after(async () => {
    for (const d of daemons) await d.stop();
  });
  const start = async (host, extra = {}) => {
    const d = await startDaemon({ host, ...extra });
    daemons.push(d);
    return d;
  };

  test("127.0.0.1: one IPv4 loopback socket; the machine's other address is refused", async () => {
    const d = await start("127.0.0.1");
    assert.deepEqual(listening(d.port), [{ family: 4, addr: "127.0.0.1" }]);
    assert.equal((await request(d, { path: "/v1/health" })).status, 200);
    if (EXT) assert.equal(await tryConnect(EXT, d.port), "refused", `connect to ${EXT}:${d.port}`);
    assert.equal(await tryConnect("::1", d.port), "refused");
  });

  test("::1: one IPv6 loopback socket; 127.0.0.1 and the machine's other address are refused", async () => {
    const d = await start("::1");
    assert.deepEqual(listening(d.port), [{ family: 6, addr: "::1" }]);
    assert.equal((await request(d, { path: "/v1/health" })).status, 200);
    assert.equal(await tryConnect("127.0.0.1", d.port), "refused");
    if (EXT) assert.equal(await tryConnect(EXT, d.port), "refused");
  });

  test("localhost resolves to loopback only, and every loopback address it names is bound", async (t) => {
    // What getaddrinfo gives for localhost here (the daemon asks the same way).
    const names = [...new Set((await dns.lookup("localhost", { all: true })).map((a) => a.address))];
    const d = await start("localhost");
    const socks = listening(d.port);
    assert.ok(socks.length >= 1, JSON.stringify(socks));
    for (const s of socks) assert.ok(s.addr === "127.0.0.1" || s.addr === "::1", JSON.stringify(socks));
    assert.equal((await request(d, { path: "/v1/health" })).status, 200);
    if (EXT) assert.equal(await tryConnect(EXT, d.port), "refused");
    const dual = names.includes("127.0.0.1") && names.includes("::1");
    await t.test(
      "both 127.0.0.1 and ::1: two sockets, in /proc/net/tcp and /proc/net/tcp6, both accepting",
      { skip: !dual && `localhost resolves to ${names.join(", ")} only on this machine (getaddrinfo)` },
      async () => {
        const sorted = [...socks].sort((a, b) => a.family - b.family);
        assert.deepEqual(sorted, [{ family: 4, addr: "127.0.0.1" }, { family: 6, addr: "::1" }]);
        assert.equal(await tryConnect("127.0.0.1", d.port), "accepted");
        assert.equal(await tryConnect("::1", d.port), "accepted");
      },
    );
    if (!dual) {
      t.diagnostic(`localhost resolves to ${names.join(", ")} only here: the 127.0.0.1 + ::1 assertion is skipped`);
      // Exactly the addresses it resolves to, one socket each.
      assert.deepEqual(socks.map((s) => s.addr).sort(), [...names].sort(), JSON.stringify(socks));
    }
  });

  test("0.0.0.0 accepts on the machine's other address, and --no-token there logs one warning", async () => {
    const d = await start("0.0.0.0");
    assert.deepEqual(listening(d.port), [{ family: 4, addr: "0.0.0.0" }]);
    if (EXT) {
      const res = await request({ ...d, host: EXT }, { path: "/v1/health" });
      assert.equal(res.status, 200);
    }
    await waitFor(() => /--no-token/.test(d.logs()), { what: "the --no-token warning" });
    const warnings = d.logs().split("\n").filter((l) => / warn /.test(l) && /--no-token/.test(l));
    assert.equal(warnings.length, 1, d.logs());
  });

  test("no warning on loopback, nor on 0.0.0.0 with a token", async () => {
    const a = await start("127.0.0.1");
    const b = await start("0.0.0.0", { token: "T" });
    assert.equal((await request(a, { path: "/v1/health" })).status, 200);
    assert.equal((await request(b, { path: "/v1/health", headers: { authorization: "Bearer T" } })).status, 200);
    assert.doesNotMatch(a.logs(), /other machines can reach/);
    assert.doesNotMatch(b.logs(), /other machines can reach/);
  });

  test(":: is the IPv6 wildcard (and takes IPv4 too, as a dual-stack socket)", async () => {
    const d = await start("::");
    assert.deepEqual(listening(d.port), [{ family: 6, addr: "::" }]);
    assert.equal(await tryConnect("::1", d.port), "accepted");
    assert.equal(await tryConnect("127.0.0.1", d.port), "accepted");
  });
});

describe("an address that cannot be used exits 2 (a busy port 1) and names it", () => {
  const run = (host, port = "0") =>
    spawnSync(AGENTD_BIN, ["server", "--no-token", "--host", host, "--port", String(port)], {
      encoding: "utf8",
      timeout: 10000,
      env: { ...process.env, AGENTD_LOG: "warn" },
    });

  for (const host of ["no-such-host.invalid", "1.2.3.4.5", "not an address"]) {
    test(`unresolvable --host ${JSON.stringify(host)}`, () => {
      const r = run(host);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.includes(host), r.stderr);
      assert.match(r.stderr, /cannot resolve/);
    });
  }

  test("an address this machine does not have (EADDRNOTAVAIL)", () => {
    const r = run("203.0.113.77");
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /203\.0\.113\.77/);
    assert.match(r.stderr, /address not available/i);
  });

  test("a port in use exits 1 (as before) and names the address", async () => {
    const port = await freePort();
    const srv = net.createServer().listen(port, "127.0.0.1");
    await new Promise((r) => srv.on("listening", r));
    try {
      const r = run("127.0.0.1", port);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
      assert.match(r.stderr, /address already in use/i);
    } finally {
      srv.close();
    }
  });
});

// A name with both families, in a network namespace of its own (unshare: root, as CI runs)
// whose /etc/hosts gives localhost 127.0.0.1 and ::1, as Debian's and Docker's do: both are
// bound, on one port; and with IPv6 disabled there (a container without IPv6), ::1 is skipped
// with a warning and 127.0.0.1 serves, where a literal ::1 still exits 2.
describe("a host name with IPv4 and IPv6 addresses, in a namespace of its own", () => {
  const canUnshare = spawnSync("unshare", ["--net", "--mount", "true"]).status === 0;
  const inNamespace = (script) => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/agentd-netns-`);
    fs.writeFileSync(`${dir}/hosts`, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
    const r = spawnSync(
      "unshare",
      ["--net", "--mount", "sh", "-ec", `ip link set lo up; mount --bind ${dir}/hosts /etc/hosts; ${script}`],
      { encoding: "utf8", timeout: 20000, env: { ...process.env, AGENTD_LOG: "info", BIN: AGENTD_BIN, PF: `${dir}/port` } },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  };
  // Starts agentd, waits for its port file, prints both socket tables, stops it.
  const serve = (host) =>
    `"$BIN" server --no-token --host ${host} --port 0 --port-file "$PF" & p=$!; ` +
    `i=0; while [ ! -s "$PF" ] && [ $i -lt 200 ] && kill -0 $p 2>/dev/null; do sleep 0.05; i=$((i+1)); done; ` +
    `echo "port=$(cat "$PF" 2>/dev/null)"; cat /proc/net/tcp /proc/net/tcp6; kill $p; wait $p || true`;
  const sockets = (stdout) => {
    const port = Number(/port=(\d+)/.exec(stdout)?.[1]);
    const out = [];
    for (const line of stdout.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== "0A" || !f[1].includes(":")) continue;
      const [hex, p] = f[1].split(":");
      if (Number.parseInt(p, 16) === port) out.push(hex.length === 8 ? v4(hex) : v6(hex));
    }
    return out.sort();
  };

  test("localhost binds 127.0.0.1 and ::1 on one port", { skip: !canUnshare && "unshare --net --mount is not allowed here" }, () => {
    const r = inNamespace(serve("localhost"));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(sockets(r.stdout), ["127.0.0.1", "::1"], r.stdout);
  });

  test("with IPv6 disabled, localhost serves on 127.0.0.1 and warns about ::1; --host ::1 exits 2", { skip: !canUnshare && "unshare --net --mount is not allowed here" }, () => {
    const r = inNamespace(`sysctl -qw net.ipv6.conf.lo.disable_ipv6=1; ${serve("localhost")}; "$BIN" server --no-token --host ::1 --port 0 || echo "literal-exit=$?"`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(sockets(r.stdout), ["127.0.0.1"], r.stdout);
    assert.match(r.stderr, /warn +server +--host localhost: not listening on ::1 \(address not available\)/);
    assert.match(r.stdout, /literal-exit=2/);
    assert.match(r.stderr, /cannot listen on \[::1\]/);
  });
});
