// The command line: --version, --help, clear errors with exit status 2 for bad flags,
// AGENTD_TOKEN, and a clear failure when the port is taken.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { AGENTD_BIN, startDaemon, request, assertProblem, tempDir } from "./harness.mjs";

function run(args, env = {}) {
  const e = { ...process.env, ...env };
  if (!("AGENTD_TOKEN" in env)) delete e.AGENTD_TOKEN;
  return spawnSync(AGENTD_BIN, args, { env: e, encoding: "utf8", timeout: 10000 });
}

describe("agentd command line", () => {
  test("--version (and -V, -v, version) prints the version and the API it speaks", () => {
    for (const flag of ["--version", "-V", "-v", "version"]) {
      const r = run([flag]);
      assert.equal(r.status, 0, flag);
      assert.match(r.stdout, /^agentd \d+\.\d+\.\d+ \(sandbox-agent API 0\.4\.2\)/, flag);
    }
  });

  test("--help lists the server flags", () => {
    const r = run(["--help"]);
    assert.equal(r.status, 0);
    for (const flag of ["--host", "--port", "--token", "--no-token", "--cors-allow-origin",
      "--cors-allow-method", "--cors-allow-header", "--cors-allow-credentials", "--fs-root",
      "--allow-host"])
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    // exec's and attach's own options are in the top-level help too (issue 14).
    const exec = r.stdout.split("\n").filter((l) => /agentd (exec|attach)|^\s+\[--detach-key/.test(l)).join("\n");
    for (const flag of ["--cwd", "-e KEY=VALUE", "--detach-key", "--since", "--endpoint"])
      assert.ok(exec.includes(flag), `help shows ${flag} for exec/attach:\n${exec}`);
  });

  const bad = [
    [["server"], /--token TOKEN .* or --no-token/],
    [["server", "--token", "a", "--no-token"], /cannot be used together/],
    [["server", "--no-token", "--port", "abc"], /--port expects a number/],
    [["server", "--no-token", "--port", "70000"], /--port expects a number/],
    [["server", "--no-token", "--bogus"], /unknown option '--bogus'/],
    [["server", "--no-token", "--host"], /needs a value/],
    [["server", "--no-token", "extra"], /unexpected argument 'extra'/],
    [["server", "--token", ""], /must not be empty/],
    [["server", "--no-token", "--log-level", "loud"], /--log-level expects/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [[], /Usage:/],
  ];
  for (const [args, re] of bad) {
    test(`agentd ${args.join(" ") || "(no arguments)"} → exit 2 with a clear message`, () => {
      const r = run(args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
    });
  }

  test("--fs-root that does not exist fails at start", () => {
    const r = run(["server", "--no-token", "--port", "0", "--fs-root", "/nonexistent/agentd-root"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--fs-root \/nonexistent\/agentd-root: No such file or directory/);
  });

  test("a port in use is reported and the exit status is 1", async () => {
    const srv = net.createServer();
    await new Promise((res) => srv.listen(0, "127.0.0.1", res));
    const port = srv.address().port;
    try {
      const r = spawnSync(AGENTD_BIN, ["server", "--no-token", "--port", String(port)], {
        encoding: "utf8",
        timeout: 10000,
        env: { ...process.env, AGENTD_TOKEN: "" },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      srv.close();
    }
  });

  test("AGENTD_TOKEN sets the token when no flag is given", async () => {
    const d = await startDaemon({ envToken: "from-env" });
    try {
      assertProblem(await request(d, { path: "/v1/health" }), 401, "token_invalid");
      const ok = await request(d, { path: "/v1/health", headers: { authorization: "Bearer from-env" } });
      assert.equal(ok.status, 200);
    } finally {
      await d.stop();
    }
  });

  test("--no-token wins over AGENTD_TOKEN", async () => {
    const d = await startDaemon({ env: { AGENTD_TOKEN: "x" } });
    try {
      assert.equal((await request(d, { path: "/v1/health" })).status, 200);
    } finally {
      await d.stop();
    }
  });
});
