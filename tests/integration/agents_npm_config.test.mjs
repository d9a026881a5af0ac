// Agent installs use the machine's npm configuration (issue 18.2): a registry and its CA set in
// the global npmrc (as behind a TLS proxy) apply to `POST /v1/agents/{id}/install`, and a
// registry whose certificate is not trusted fails in seconds with npm's error code in the
// detail. The real npm against a registry of the test's own on loopback over HTTPS (a
// self-signed certificate made with openssl); the global npmrc is the one npm derives from
// NPM_CONFIG_PREFIX, as it derives /usr/etc/npmrc from its own install. Before, agentd ran
// `npm install --prefix P`, and with --prefix npm reads P/etc/npmrc instead: the registry and
// the CA were lost (and npm retried for 70 s).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import zlib from "node:zlib";
import { assertProblem, makeTar, postJson, realTempDir, startDaemon } from "./harness.mjs";

const PKG = "@zed-industries/claude-agent-acp";
const VERSION = "0.23.1"; /* claude's pinned version (adapters/agent_claude.c) */

/** An npm registry serving one package over HTTPS; `seen` lists the paths asked for. */
async function startRegistry(dir) {
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"], { stdio: "ignore" });
  const manifest = { name: PKG, version: VERSION, bin: { "claude-agent-acp": "bin/agent.js" } };
  const tgz = zlib.gzipSync(
    makeTar([
      { name: "package/package.json", data: JSON.stringify(manifest) },
      { name: "package/bin/agent.js", data: "#!/bin/sh\necho from-the-test-registry\n", mode: 0o755 },
    ]),
  );
  const seen = [];
  const server = https.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) }, (req, res) => {
    seen.push(req.url);
    const base = `https://127.0.0.1:${server.address().port}`;
    if (decodeURIComponent(req.url) === `/${PKG}`) {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          name: PKG,
          "dist-tags": { latest: VERSION },
          versions: {
            [VERSION]: {
              ...manifest,
              dist: {
                tarball: `${base}/tarballs/agent-${VERSION}.tgz`,
                shasum: crypto.createHash("sha1").update(tgz).digest("hex"),
                integrity: `sha512-${crypto.createHash("sha512").update(tgz).digest("base64")}`,
              },
            },
          },
        }),
      );
    } else if (req.url === `/tarballs/agent-${VERSION}.tgz`) {
      res.setHeader("content-type", "application/octet-stream");
      res.end(tgz);
    } else {
      res.statusCode = 404;
      res.end("{}");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `https://127.0.0.1:${server.address().port}/`, cert: path.join(dir, "cert.pem"), seen, close: () => new Promise((r) => server.close(r)) };
}

describe("installs follow the machine's npm configuration", () => {
  let reg;
  let dir;
  const daemons = [];
  before(async () => {
    dir = await realTempDir("agentd-registry-");
    reg = await startRegistry(dir);
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    await reg?.close();
  });

  /** A daemon whose npm's global prefix (hence global npmrc) is a directory of the test's. */
  async function daemonWithGlobalNpmrc(npmrc) {
    const gp = await realTempDir("agentd-npm-global-");
    fs.mkdirSync(path.join(gp, "etc"));
    fs.writeFileSync(path.join(gp, "etc/npmrc"), npmrc);
    const d = await startDaemon({
      home: await realTempDir("agentd-npm-home-"),
      env: { NPM_CONFIG_PREFIX: gp, XDG_DATA_HOME: "" },
      unsetEnv: ["npm_config_registry", "NPM_CONFIG_REGISTRY", "npm_config_cafile", "NPM_CONFIG_CAFILE", "npm_config_globalconfig", "NPM_CONFIG_GLOBALCONFIG", "npm_config_userconfig", "NPM_CONFIG_USERCONFIG"],
    });
    daemons.push(d);
    return d;
  }

  test("the registry and cafile of the global npmrc are used", async () => {
    const d = await daemonWithGlobalNpmrc(`registry=${reg.url}\ncafile=${reg.cert}\n`);
    const r = await postJson(d, "/v1/agents/claude/install", {}, { timeout: 120000 });
    assert.equal(r.status, 200, r.text);
    assert.ok(reg.seen.some((u) => decodeURIComponent(u) === `/${PKG}`), `the test registry was asked: ${JSON.stringify(reg.seen)}`);
    assert.ok(reg.seen.includes(`/tarballs/agent-${VERSION}.tgz`), JSON.stringify(reg.seen));
    const entry = r.json().artifacts[0].path;
    assert.equal(execFileSync(entry, { encoding: "utf8" }).trim(), "from-the-test-registry");
  });

  test("a registry whose certificate is not trusted fails in seconds, npm's error code in the detail", async () => {
    const d = await daemonWithGlobalNpmrc(`registry=${reg.url}\n`);
    const t0 = Date.now();
    const p = assertProblem(await postJson(d, "/v1/agents/claude/install", {}, { timeout: 120000 }), 500, "install_failed");
    const secs = (Date.now() - t0) / 1000;
    assert.match(p.detail, /\(npm error code [A-Z_]*(CERT|SIGNED)[A-Z_]*\)/, p.detail);
    // npm's defaults retried for about 70 s; agentd asks for one short retry.
    assert.ok(secs < 30, `failed after ${secs.toFixed(1)} s`);
  });
});
