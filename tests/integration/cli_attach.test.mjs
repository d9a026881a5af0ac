// `agentd exec` and `agentd attach`: the command-line client of the terminal WebSocket and of
// the log stream, driven as a script would (pipes) and as a person would (tmux send-keys and
// capture-pane). Exit statuses: the process's, 128+N after signal N, 127 when the command
// cannot start, 255 when agentd cannot tell, 2 for bad flags.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { AGENTD_BIN, startDaemon, api, spawnCollect, procCreate, procWaitExit, procKillQuietly, tempDir, waitFor, sha256 } from "./harness.mjs";
import path from "node:path";
import fs from "node:fs";
import crypto from "node:crypto";

/** Runs the client to completion; input is written to its stdin (then closed), or it is ignored. */
function client(d, args, { input, token, env = {} } = {}) {
  const e = { ...process.env, AGENTD_ENDPOINT: d.base, ...env };
  delete e.AGENTD_TOKEN;
  if (token) e.AGENTD_TOKEN = token;
  return spawnCollect(AGENTD_BIN, args, { env: e, input }).done;
}

describe("agentd exec / attach", () => {
  let d;
  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    await d.stop();
  });

  test("exec without a terminal: stdout and stderr kept apart, exit code, record removed", async () => {
    const r = await client(d, ["exec", "--", "sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 7"]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout.toString(), "out\n");
    assert.equal(r.stderr, "err\n");
    const list = await api(d, "GET", "/v1/processes");
    assert.deepEqual(list.json().processes, [], "exec removes the record of its process");
  });

  test("exec passes the command's own flags, --cwd and -e through", async () => {
    const cwd = await tempDir("agentd-exec-cwd-");
    const r = await client(d, ["exec", "--cwd", cwd, "-e", "GREETING=hi there", "--", "sh", "-c", 'echo "$GREETING" "$(pwd)" "$1"', "sh", "-n"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `hi there ${cwd} -n\n`);
  });

  test("exec keeps output bytes exact (1 MiB of random bytes)", async () => {
    const r = await client(d, ["exec", "--", "sh", "-c",
      'f=$(mktemp); head -c 1048576 /dev/urandom > "$f"; cat "$f"; sha256sum < "$f" >&2; rm "$f"']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 1048576);
    assert.equal(sha256(r.stdout), r.stderr.split(" ")[0]);
  });

  test("exec -t: output through a terminal, stty sees a terminal, exit code", async () => {
    const r = await client(d, ["exec", "-t", "--", "sh", "-c", "test -t 0 && echo tty; stty size; exit 3"]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout.toString(), "tty\r\n24 80\r\n");
  });

  test("exec -t: piped input reaches the terminal and its end ends cat", async () => {
    const r = await client(d, ["exec", "-t", "--", "cat"], { input: "hello\n" });
    assert.equal(r.code, 0, r.stderr);
    // The terminal echoes the line, then cat writes it.
    assert.equal(r.stdout.toString(), "hello\r\nhello\r\n");
  });

  test("exec without -i or -t: the command's stdin is closed at once (cat ends)", async () => {
    const r = await client(d, ["exec", "--", "sh", "-c", "cat; echo ended"], { input: "not sent\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "ended\n");
  });

  test("exec -i: piped stdin reaches the command byte for byte and its end ends it", async () => {
    const bytes = crypto.randomBytes(300 * 1024 + 7);
    const r = await client(d, ["exec", "-i", "--", "sha256sum"], { input: bytes });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().split(" ")[0], sha256(bytes));
  });

  test("exec -i: stdin from a file, in requests no larger than maxInputBytesPerRequest", async () => {
    const dir = await tempDir("agentd-exec-i-");
    const file = path.join(dir, "in.bin");
    const bytes = crypto.randomBytes(10000);
    fs.writeFileSync(file, bytes);
    const cfg = (await api(d, "GET", "/v1/processes/config")).json();
    const set = (c) => api(d, "POST", "/v1/processes/config", { body: JSON.stringify(c), headers: { "content-type": "application/json" } });
    assert.equal((await set({ ...cfg, maxInputBytesPerRequest: 1000 })).status, 200);
    try {
      const fd = fs.openSync(file, "r");
      const r = await spawnCollect(AGENTD_BIN, ["exec", "-i", "--", "wc", "-c"], { env: { ...process.env, AGENTD_ENDPOINT: d.base }, stdin: fd }).done;
      fs.closeSync(fd);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString().trim(), "10000", "every byte, over 10 requests of at most 1000 bytes");
    } finally {
      assert.equal((await set(cfg)).status, 200);
    }
  });

  test("exec -i: a command that ends before its input does ends exec too", async () => {
    // `yes` never ends: exec must not wait for its stdin once head has exited.
    const yes = spawn("yes", [], { stdio: ["ignore", "pipe", "ignore"] });
    let r;
    try {
      r = await spawnCollect(AGENTD_BIN, ["exec", "-i", "--", "head", "-n", "2"], { env: { ...process.env, AGENTD_ENDPOINT: d.base }, stdin: yes.stdout }).done;
    } finally {
      yes.kill();
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "y\ny\n");
  });

  test("exec -t: the end of piped input ends bash as it would locally (issue 14)", { timeout: 30000 }, async () => {
    // bash only reads ^D as the end while readline listens; one sent while it runs `echo hi` is
    // swallowed by the line discipline, so exec types it again once bash shows its prompt.
    const r = await client(d, ["exec", "-t", "--", "bash", "--norc", "--noprofile"], { input: "echo hi\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^hi\r$/m);
    assert.deepEqual((await api(d, "GET", "/v1/processes")).json().processes, [], "nothing left running");
  });

  /** Starts `agentd exec ARGS` and resolves once its process runs: { child, proc, done }. */
  async function execRunning(args) {
    const e = { ...process.env, AGENTD_ENDPOINT: d.base };
    delete e.AGENTD_TOKEN;
    const { child, done, out, err } = spawnCollect(AGENTD_BIN, ["exec", ...args], { env: e, stdin: "pipe" });
    const proc = await waitFor(async () => {
      const l = (await api(d, "GET", "/v1/processes")).json().processes.filter((x) => x.status === "running");
      return l.length === 1 && l[0];
    }, { what: "the exec'd process running" });
    return { child, proc, done, out, err };
  }

  test("exec -t killed by SIGKILL: its process is hung up (SIGHUP), not left running", async () => {
    const { child, proc, done, out } = await execRunning(["-t", "--", "sh", "-c", "while :; do echo tick; sleep 0.2; done"]);
    // The terminal is open once output reaches the client.
    await waitFor(() => out().includes("tick"), { what: "output through the terminal" });
    child.kill("SIGKILL");
    await done;
    const gone = await waitFor(async () => {
      const p = (await api(d, "GET", `/v1/processes/${proc.id}`)).json();
      return p.status === "exited" && p;
    }, { what: "the process to be hung up" });
    assert.equal(gone.exitCode ?? null, null, "ended by a signal (SIGHUP), not an exit");
    await api(d, "DELETE", `/v1/processes/${proc.id}`);
  });

  test("exec -t on SIGTERM says it hangs up, exits 143, and the process goes", async () => {
    const { child, proc, done, out } = await execRunning(["-t", "--", "sh", "-c", "while :; do echo tick; sleep 0.2; done"]);
    await waitFor(() => out().includes("tick"), { what: "output through the terminal" });
    child.kill("SIGTERM");
    const r = await done;
    assert.equal(r.code, 143);
    assert.match(r.stderr, new RegExp(`hanging up ${proc.id}`));
    await waitFor(async () => (await api(d, "GET", `/v1/processes/${proc.id}`)).json().status === "exited", { what: "hung up" });
    await api(d, "DELETE", `/v1/processes/${proc.id}`);
  });

  test("exec without a terminal: Ctrl-C is the process's SIGINT (130), SIGTERM is passed on (143)", async () => {
    for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
      const { child, proc, done, out } = await execRunning(["--", "sh", "-c", "echo started; exec sleep 600"]);
      await waitFor(() => out().includes("started"), { what: "the client following the output" });
      child.kill(sig);
      const r = await done;
      assert.equal(r.code, code, `${sig}: ${r.stderr}`);
      assert.equal((await api(d, "GET", `/v1/processes/${proc.id}`)).status, 404, "exec removed its record");
    }
  });

  test("exec -it is -t (docker's spelling)", async () => {
    const r = await client(d, ["exec", "-it", "--", "cat"], { input: "hi\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "hi\r\nhi\r\n");
  });

  test("exit by a signal is 128+N, with and without a terminal", async () => {
    const a = await client(d, ["exec", "--", "sh", "-c", "kill -TERM $$"]);
    assert.equal(a.code, 143);
    const b = await client(d, ["exec", "-t", "--", "sh", "-c", "kill -KILL $$"]);
    assert.equal(b.code, 137);
  });

  test("a command that cannot start is 127 with agentd's reason", async () => {
    const r = await client(d, ["exec", "--", "no-such-binary-agentd"]);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /no-such-binary-agentd.*No such file or directory.*HTTP 502/);
  });

  test("attach --since 0 replays a finished terminal byte for byte, then its exit code", async () => {
    const p = await procCreate(d, { command: "sh", args: ["-c", "printf 'first\\n'; printf 'second\\n'; exit 5"], tty: true });
    await procWaitExit(d, p.id);
    const r = await client(d, ["attach", p.id, "--since", "0"]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout.toString(), "first\r\nsecond\r\n");
    const r2 = await client(d, ["attach", "--since", "7", p.id]);
    assert.equal(r2.stdout.toString(), "second\r\n", "--since is a byte offset");
    // attach leaves the record alone (it is not its process).
    assert.equal((await api(d, "GET", `/v1/processes/${p.id}`)).status, 200);
  });

  test("attach to a pipe process follows its output until it exits", async () => {
    const p = await procCreate(d, { command: "sh", args: ["-c", "echo one; read x; echo two; exit 4"], interactive: true });
    const done = client(d, ["attach", p.id]);
    await waitFor(async () => (await api(d, "GET", `/v1/processes/${p.id}/logs`)).json().entries.length > 0, { what: "first line" });
    await api(d, "POST", `/v1/processes/${p.id}/input`, { body: JSON.stringify({ data: "go\n", encoding: "utf8" }), headers: { "content-type": "application/json" } });
    const r = await done;
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout.toString(), "one\ntwo\n");
  });

  test("attach to an unknown process: 255 and the problem's detail", async () => {
    const r = await client(d, ["attach", "proc_424242"]);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /proc_424242.*HTTP 404/);
  });

  test("no daemon at the endpoint: 255 and the endpoint named", async () => {
    const r = await client(d, ["exec", "--", "true"], { env: { AGENTD_ENDPOINT: "http://127.0.0.1:1" } });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /cannot reach agentd at http:\/\/127\.0\.0\.1:1/);
    assert.match(r.stderr, /start it with `agentd server`/, "says what to do (issue 14)");
  });

  const bad = [
    [["exec"], /exec needs a command/],
    [["attach"], /attach needs a process id/],
    [["attach", "a", "b"], /unexpected argument 'b'/],
    [["attach", "proc_1", "--since", "x"], /--since expects a number/],
    [["attach", "proc_1", "--since", "-1"], /--since expects a number/],
    [["attach", "../x"], /not a process id/],
    [["attach", "proc_1", "--detach-key", "alt-x"], /--detach-key expects/],
    [["exec", "-e", "NOEQUALS", "--", "true"], /-e expects KEY=VALUE/],
    [["exec", "--since", "1", "--", "true"], /--since is for attach/],
    [["exec", "--bogus", "--", "true"], /unknown option '--bogus'/],
    [["attach", "--endpoint", "ftp://x", "proc_1"], /--endpoint expects/],
    [["exec", "--token"], /needs a value/],
  ];
  for (const [args, msg] of bad) {
    test(`bad usage: agentd ${args.join(" ")} exits 2`, () => {
      const r = spawnSync(AGENTD_BIN, args, { encoding: "utf8", timeout: 10000, stdio: ["ignore", "pipe", "pipe"] });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
    });
  }
});

describe("agentd exec against a daemon with a token", () => {
  let d;
  before(async () => {
    d = await startDaemon({ token: "s3cret" });
  });
  after(async () => {
    await d.stop();
  });

  test("without the token: 255 and the 401 explained; with --token or AGENTD_TOKEN: runs", async () => {
    const no = await client(d, ["exec", "--", "true"]);
    assert.equal(no.code, 255);
    assert.match(no.stderr, /HTTP 401/);
    const flag = await client(d, ["exec", "--token", "s3cret", "-t", "--", "sh", "-c", "exit 6"]);
    assert.equal(flag.code, 6, flag.stderr);
    const env = await client(d, ["exec", "--", "sh", "-c", "exit 8"], { token: "s3cret" });
    assert.equal(env.code, 8, env.stderr);
  });
});

// ---- as a person uses it: tmux ----------------------------------------------------------------

function tmux(...args) {
  return execFileSync("tmux", ["-L", `agentd-it-${process.pid}`, "-f", "/dev/null", ...args], { encoding: "utf8" });
}

function pane(target = "t") {
  return tmux("capture-pane", "-p", "-t", target);
}

describe("agentd exec -t in tmux", () => {
  let d;
  let dir;
  before(async () => {
    d = await startDaemon();
    dir = await tempDir("agentd-tmux-");
  });
  after(async () => {
    try {
      tmux("kill-server");
    } catch {
      /* already gone */
    }
    await d.stop();
  });

  test("typing, resize, detach, re-attach with scrollback, exit status", async () => {
    const status = path.join(dir, "status");
    const shell = `AGENTD_ENDPOINT=${d.base} ${AGENTD_BIN} exec -t -- sh; echo "client-exit=$?" > ${status}; exec sleep 600`;
    tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", shell);
    const procs = await waitFor(async () => {
      const l = (await api(d, "GET", "/v1/processes")).json().processes;
      return l.length === 1 && l[0];
    }, { what: "the exec'd process" });
    assert.equal(procs.tty, true);

    tmux("send-keys", "-t", "t", "echo $((6*7)); stty size", "Enter");
    await waitFor(() => /^42$/m.test(pane()) && /^30 100$/m.test(pane()), { what: "42 and 30 100 in the pane" });

    tmux("resize-window", "-t", "t", "-x", "120", "-y", "40");
    tmux("send-keys", "-t", "t", "stty size", "Enter");
    await waitFor(() => /^40 120$/m.test(pane()), { what: "the new size inside" });

    // Ctrl-] detaches; the process keeps running.
    tmux("send-keys", "-t", "t", "echo before-detach", "Enter");
    await waitFor(() => /^before-detach$/m.test(pane()), { what: "echo" });
    tmux("send-keys", "-t", "t", "C-]");
    await waitFor(async () => {
      try {
        return (await import("node:fs/promises")).readFile(status, "utf8");
      } catch {
        return null;
      }
    }, { what: "the client to exit" }).then((s) => assert.equal(s.trim(), "client-exit=0"));
    assert.match(pane(), /detached from proc_\d+/);
    assert.equal((await api(d, "GET", `/v1/processes/${procs.id}`)).json().status, "running");

    // Re-attach in a new window with the whole scrollback, then leave with a status.
    // The new window by its id: "t" alone may still name the first window for a moment (whose
    // screen shows before-detach too), and keys sent there reach `sleep`, not attach.
    const win = tmux("new-window", "-P", "-F", "#{window_id}", "-t", "t:", `AGENTD_ENDPOINT=${d.base} ${AGENTD_BIN} attach --since 0 ${procs.id}; echo "attach-exit=$?" > ${status}; exec sleep 600`).trim();
    await waitFor(() => /before-detach/.test(pane(win)), { what: "scrollback replayed" });
    tmux("send-keys", "-t", win, "exit 9", "Enter");
    await waitFor(async () => {
      const fsp = await import("node:fs/promises");
      const s = await fsp.readFile(status, "utf8").catch(() => "");
      return s.startsWith("attach-exit") && s;
    }, { what: "attach to exit" }).then((s) => assert.equal(s.trim(), "attach-exit=9"));
    await procKillQuietly(d, procs.id);
  });
});
