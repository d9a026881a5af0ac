// `agentd install desktop`: the desktop runtime's packages through apt, dnf or apk. Nothing is
// really installed: PATH points at fake package managers that record their argv.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AGENTD_BIN, realTempDir } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SUDO = process.getuid() === 0 ? "" : "(?:sudo )?";

const EXPECTED = {
  apt: [
    "apt-get update",
    "apt-get install -y --no-install-recommends xvfb openbox ffmpeg fonts-dejavu-core",
  ],
  dnf: [
    "dnf install -y xorg-x11-server-Xvfb openbox ffmpeg-free dejavu-sans-fonts dejavu-sans-mono-fonts dejavu-serif-fonts",
  ],
  apk: ["apk add --no-cache xvfb openbox ffmpeg font-dejavu"],
};

const baseEnv = { ...process.env };
delete baseEnv.DEBIAN_FRONTEND;

function run(args, { env = {}, input } = {}) {
  return spawnSync(AGENTD_BIN, ["install", "desktop", ...args], {
    env: { ...baseEnv, ...env },
    encoding: "utf8",
    input: input ?? "",
    timeout: 20000,
  });
}

/** A directory with fake package managers (and sudo) that append their argv to `log`. */
async function fakes({ exitCode = 0, managers = ["apt-get", "dnf", "apk", "sudo"] } = {}) {
  const dir = await realTempDir("agentd-pm-");
  const log = path.join(dir, "calls.log");
  for (const name of managers) {
    const body =
      name === "sudo"
        ? `#!/bin/sh\nprintf 'sudo' >> "${log}"; printf ' %s' "$@" >> "${log}"; echo >> "${log}"\nexec "$@"\n`
        : `#!/bin/sh\nprintf "%s" "\${0##*/}" >> "${log}"; printf ' %s' "$@" >> "${log}"; echo " DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "${log}"\nexit ${exitCode}\n`;
    fs.writeFileSync(path.join(dir, name), body, { mode: 0o755 });
  }
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
  return { dir, calls };
}

const lines = (s) => s.trim().split("\n");

describe("agentd install desktop", () => {
  for (const pm of ["apt", "dnf", "apk"]) {
    test(`--print-only --package-manager ${pm} prints the ${pm} commands`, async () => {
      const { dir, calls } = await fakes();
      const r = run(["--print-only", "--package-manager", pm], { env: { PATH: dir } });
      assert.equal(r.status, 0, r.stderr);
      const got = lines(r.stdout);
      assert.equal(got.length, EXPECTED[pm].length, r.stdout);
      got.forEach((l, i) => assert.match(l, new RegExp(`^${SUDO}${EXPECTED[pm][i].replace(/[-.]/g, "\\$&")}$`)));
      assert.deepEqual(calls(), [], "print-only runs nothing");
    });
  }

  test("--no-fonts leaves the font out; the package manager is found on PATH", async () => {
    const { dir } = await fakes({ managers: ["apk"] });
    const r = run(["--print-only", "--no-fonts"], { env: { PATH: dir } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^(sudo )?apk add --no-cache xvfb openbox ffmpeg$/m);
    const d = await fakes({ managers: ["dnf"] });
    assert.match(run(["--print-only"], { env: { PATH: d.dir } }).stdout, /^(sudo )?dnf install -y xorg-x11-server-Xvfb /m);
  });

  test("one list: the apt packages are images/install-deps.sh --print-desktop", async () => {
    const script = spawnSync("sh", [path.join(ROOT, "images/install-deps.sh"), "--print-desktop"], {
      encoding: "utf8",
    });
    assert.equal(script.status, 0, script.stderr);
    const r = run(["--print-only", "--package-manager", "apt"]);
    const install = lines(r.stdout).find((l) => / install /.test(l));
    assert.equal(install.replace(/^(sudo )?apt-get install -y --no-install-recommends /, ""), script.stdout.trim());
  });

  test("nothing missing: no apt-get update, nothing run, exit 0 (issue 14)", async () => {
    const { dir, calls } = await fakes({ managers: ["apt-get", "sudo"] });
    for (const bin of ["Xvfb", "openbox", "ffmpeg"]) fs.writeFileSync(path.join(dir, bin), "#!/bin/sh\n", { mode: 0o755 });
    const r = run(["--yes", "--no-fonts"], { env: { PATH: dir } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /already installed.*nothing to do/);
    assert.deepEqual(calls(), []);
    // With one of them missing it installs as usual.
    fs.rmSync(path.join(dir, "ffmpeg"));
    const r2 = run(["--yes", "--no-fonts"], { env: { PATH: dir } });
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(calls().filter((l) => l.startsWith("apt-get")).length, 2);
  });

  test("--yes runs the package manager with the packages", async () => {
    const { dir, calls } = await fakes({ managers: ["apt-get", "sudo"] });
    const r = run(["--yes"], { env: { PATH: dir } });
    assert.equal(r.status, 0, r.stderr);
    const got = calls().filter((l) => !l.startsWith("sudo"));
    assert.deepEqual(got, [
      "apt-get update DEBIAN_FRONTEND=noninteractive",
      "apt-get install -y --no-install-recommends xvfb openbox ffmpeg fonts-dejavu-core DEBIAN_FRONTEND=noninteractive",
    ]);
    assert.match(r.stdout, /installed/);
    const d = await fakes({ managers: ["apk", "sudo"] });
    const r2 = run(["-y", "--package-manager", "apk", "--no-fonts"], { env: { PATH: d.dir } });
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(
      d.calls().filter((l) => !l.startsWith("sudo")),
      ["apk add --no-cache xvfb openbox ffmpeg DEBIAN_FRONTEND="],
    );
  });

  test("a failing package manager: exit 1, and apt stops after a failed update", async () => {
    const { dir, calls } = await fakes({ exitCode: 100, managers: ["apt-get", "sudo"] });
    const r = run(["--yes"], { env: { PATH: dir } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /apt-get exited with status 100/);
    assert.equal(calls().filter((l) => l.startsWith("apt-get")).length, 1);
  });

  test("no package manager on PATH: exit 1", async () => {
    const empty = await realTempDir("agentd-pm-");
    const r = run(["--yes"], { env: { PATH: empty } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no supported package manager/);
  });

  test("stdin not a terminal and no --yes: refuses with exit 2, runs nothing", async () => {
    const { dir, calls } = await fakes();
    const r = run([], { env: { PATH: dir } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs --yes when stdin is not a terminal/);
    assert.match(r.stderr, /apt-get install -y --no-install-recommends xvfb/);
    assert.deepEqual(calls(), []);
  });

  const script = spawnSync("sh", ["-c", "command -v script"]).status === 0;
  test("on a terminal it asks first: no installs nothing (exit 1), yes installs", { skip: !script && "no script(1)" }, async () => {
    for (const [answer, status, n] of [
      ["n", 1, 0],
      ["y", 0, 2],
    ]) {
      const { dir, calls } = await fakes({ managers: ["apt-get", "sudo"] });
      // script(1) gives agentd a pseudo-terminal as stdin; our answer goes through it.
      // PATH holds only the fakes: this machine's own Xvfb would make "nothing to do".
      const scriptBin = spawnSync("sh", ["-c", "command -v script"], { encoding: "utf8" }).stdout.trim();
      const r = spawnSync(scriptBin, ["-qec", `${AGENTD_BIN} install desktop`, "/dev/null"], {
        env: { ...baseEnv, PATH: dir, SHELL: "/bin/sh" },
        input: `${answer}\n`,
        encoding: "utf8",
        timeout: 20000,
      });
      assert.equal(r.status, status, r.stdout + r.stderr);
      assert.match(r.stdout, /Proceed\? \[y\/N\]/);
      assert.equal(calls().filter((l) => l.startsWith("apt-get")).length, n, r.stdout);
    }
  });

  for (const [args, msg] of [
    [["--bogus"], /unknown option '--bogus'/],
    [["--package-manager", "zypper"], /must be apt, dnf or apk/],
    [["--package-manager"], /needs a value/],
    [["extra"], /unexpected argument 'extra'/],
  ]) {
    test(`bad usage: install desktop ${args.join(" ")} exits 2`, () => {
      const r = run(args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
    });
  }

  test("bad usage: install with no or an unknown target exits 2", () => {
    for (const args of [["install"], ["install", "browser"]]) {
      const r = spawnSync(AGENTD_BIN, args, { encoding: "utf8" });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /install desktop/);
    }
  });

  test("--help exits 0", () => {
    const r = run(["--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--package-manager/);
  });
});
