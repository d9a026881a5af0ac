// Process API part 3: GET /v1/processes/{id}/logs — stream filters, tail, since, base64
// entries, follow mode (SSE) and the log ring under 50 MB of output. API.md section 4.9.
//
// Tests whose name ends in "(agentd)" check an agentd improvement over the reference (the SSE
// stream ends with one `exit` event once the process exited) and are expected to fail when the
// file is run against the reference server (AGENTD_REF=1).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  api,
  assertJson,
  assertProblem,
  openSse,
  pidIsSanitized,
  postJson,
  procCreate,
  procKillQuietly,
  procLogBytes,
  procLogs,
  procWaitExit,
  procWaitOutput,
  vmRssKb,
  waitFor,
  startServer,
  PROC_CONFIG_DEFAULTS,
} from "./harness.mjs";

const start = startServer;

const ENTRY_KEYS = ["data", "encoding", "sequence", "stream", "timestampMs"];
const DEFAULTS = PROC_CONFIG_DEFAULTS;

let d;
const cleanup = new Set();

before(async () => {
  d = await start();
});

after(async () => {
  for (const id of cleanup) await procKillQuietly(d, id);
  if (d) await d.stop();
});

async function create(body) {
  const info = await procCreate(d, body);
  cleanup.add(info.id);
  return info;
}

/**
 * Create, wait for exit and for the output to contain `until` (the exit may be noticed before
 * the last output is read), return [info, all entries of the default view].
 */
async function finished(body, until) {
  const info = await create(body);
  await procWaitExit(d, info.id);
  if (until) await procWaitOutput(d, info.id, until);
  return [info, (await procLogs(d, info.id)).entries];
}

const seqs = (entries) => entries.map((e) => e.sequence);
const sendText = (id, text) => postJson(d, `/v1/processes/${id}/input`, { data: text, encoding: "utf8" });

/** Wait until the SSE stream has ended (the server closed it). */
const waitEnded = (s, timeout = 3000) => waitFor(() => s.ended, { timeout, what: "the SSE stream to end" });

describe("GET logs", () => {
  let info;
  let all;

  before(async () => {
    [info, all] = await finished({
      command: "sh",
      args: ["-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2; printf 'x\\000\\001\\377y'"],
    }, (t) => t.includes("err2") && t.includes("\uFFFDy"));
  });

  test("default view of a pipe process is combined stdout+stderr, base64 entries", async () => {
    const res = await procLogs(d, info.id);
    assert.equal(res.processId, info.id);
    assert.equal(res.stream, "combined");
    assert.deepEqual(Object.keys(res).sort(), ["entries", "processId", "stream"]);
    assert.ok(res.entries.length >= 2);
    let prev = 0;
    for (const e of res.entries) {
      assert.deepEqual(Object.keys(e).sort(), ENTRY_KEYS);
      assert.equal(e.encoding, "base64");
      assert.ok(["stdout", "stderr"].includes(e.stream), e.stream);
      assert.ok(Number.isInteger(e.sequence) && e.sequence > prev, `sequence ${e.sequence} after ${prev}`);
      prev = e.sequence;
      assert.ok(Math.abs(e.timestampMs - info.createdAtMs) < 60000, `timestampMs ${e.timestampMs}`);
      assert.equal(Buffer.from(e.data, "base64").toString("base64"), e.data, "canonical base64");
    }
    assert.equal(res.entries[0].sequence, 1, "sequences start at 1");
    assert.deepEqual(procLogBytes(res.entries, "stdout"), Buffer.from("out1\nout2\nx\x00\x01\xffy", "latin1"));
    assert.equal(procLogBytes(res.entries, "stderr").toString(), "err1\nerr2\n");
    assert.deepEqual(assertJson(await api(d, "GET", `/v1/processes/${info.id}/logs?stream=combined`)), res);
  });

  test("stream=stdout / stderr / pty filters", async () => {
    for (const stream of ["stdout", "stderr"]) {
      const res = await procLogs(d, info.id, `stream=${stream}`);
      assert.equal(res.stream, stream);
      assert.deepEqual(res.entries, all.filter((e) => e.stream === stream), stream);
    }
    assert.deepEqual(await procLogs(d, info.id, "stream=pty"), { processId: info.id, stream: "pty", entries: [] });
  });

  test("tail keeps the last N entries after filtering", async () => {
    assert.deepEqual((await procLogs(d, info.id, "tail=1")).entries, all.slice(-1));
    assert.deepEqual((await procLogs(d, info.id, "tail=2")).entries, all.slice(-2));
    assert.deepEqual((await procLogs(d, info.id, "tail=0")).entries, []);
    assert.deepEqual((await procLogs(d, info.id, "tail=100000")).entries, all);
    const stderr = all.filter((e) => e.stream === "stderr");
    assert.deepEqual((await procLogs(d, info.id, "stream=stderr&tail=1")).entries, stderr.slice(-1));
  });

  test("since keeps entries with a greater sequence", async () => {
    const first = all[0].sequence;
    const last = all.at(-1).sequence;
    assert.deepEqual((await procLogs(d, info.id, "since=0")).entries, all);
    assert.deepEqual((await procLogs(d, info.id, `since=${first}`)).entries, all.slice(1));
    assert.deepEqual((await procLogs(d, info.id, `since=${last}`)).entries, []);
    assert.deepEqual((await procLogs(d, info.id, "since=99999999999")).entries, []);
    assert.deepEqual((await procLogs(d, info.id, `since=${first}&tail=1`)).entries, all.slice(-1));
    const stdout = all.filter((e) => e.stream === "stdout" && e.sequence > first);
    assert.deepEqual((await procLogs(d, info.id, `since=${first}&stream=stdout`)).entries, stdout);
  });

  test("tty process: default view is pty, combined/stdout are empty", async () => {
    const [tty, entries] = await finished({ command: "sh", args: ["-c", "echo tty-out; echo tty-err >&2"], tty: true }, "tty-err");
    const res = await procLogs(d, tty.id);
    assert.equal(res.stream, "pty");
    assert.ok(entries.length >= 1);
    assert.ok(entries.every((e) => e.stream === "pty" && e.encoding === "base64"));
    const text = procLogBytes(entries).toString();
    assert.match(text, /tty-out\r\n/);
    assert.match(text, /tty-err\r\n/);
    for (const stream of ["combined", "stdout", "stderr"]) {
      assert.deepEqual((await procLogs(d, tty.id, `stream=${stream}`)).entries, [], stream);
    }
  });

  test("logs of a running process grow as it writes", async () => {
    const cat = await create({ command: "cat" });
    assert.deepEqual((await procLogs(d, cat.id)).entries, []);
    assertJson(await sendText(cat.id, "one\n"));
    await procWaitOutput(d, cat.id, "one\n");
    assertJson(await sendText(cat.id, "two\n"));
    const text = await procWaitOutput(d, cat.id, "two\n");
    assert.equal(text, "one\ntwo\n");
    assertJson(await api(d, "POST", `/v1/processes/${cat.id}/kill`));
  });

  test("unknown process → 404 not_found", async () => {
    const p = assertProblem(await api(d, "GET", "/v1/processes/proc_424242/logs"), 404, "not_found");
    assert.deepEqual(p.details, { id: "proc_424242", resource: "process" });
    assertProblem(await api(d, "GET", "/v1/processes/proc_424242/logs?follow=true"), 404, "not_found");
  });
});

describe("follow=true (SSE)", () => {
  test("replays the buffer, then pushes live entries as `event: log` with id = sequence", async () => {
    const info = await create({ command: "sh", args: ["-c", "echo first; read x; echo second; read y"] });
    await procWaitOutput(d, info.id, "first");
    const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true`);
    try {
      assert.equal(s.status, 200);
      assert.match(String(s.headers["content-type"]), /^text\/event-stream/);
      assert.equal(s.headers["cache-control"], "no-cache");
      const e1 = await s.next((e) => e.event === "log", { what: "replayed entry" });
      const entry1 = JSON.parse(e1.data);
      assert.deepEqual(Object.keys(entry1).sort(), ENTRY_KEYS);
      assert.equal(e1.id, String(entry1.sequence));
      assert.equal(JSON.stringify(entry1), e1.data, "compact JSON on one data line");
      assert.equal(Buffer.from(entry1.data, "base64").toString(), "first\n");
      assert.equal(entry1.stream, "stdout");

      assertJson(await sendText(info.id, "\n"));
      const e2 = await s.next((e) => e.event === "log" && Buffer.from(JSON.parse(e.data).data, "base64").includes("second"), {
        from: 1,
        what: "live entry",
      });
      assert.ok(Number(e2.id) > Number(e1.id));
      assert.equal(s.ended, false, "still open while the process runs");
    } finally {
      s.close();
      assertJson(await api(d, "POST", `/v1/processes/${info.id}/kill`));
    }
  });

  test("since, Last-Event-ID, tail and stream apply to the replay", async () => {
    const info = await create({ command: "sh", args: ["-c", "echo a; echo b >&2; echo c; echo d >&2; read x"] });
    await procWaitOutput(d, info.id, (t) => t.includes("c\n") && t.includes("d\n"));
    const all = (await procLogs(d, info.id)).entries;
    const last = all.at(-1).sequence;
    const replay = async (query, headers, expected) => {
      const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true${query}`, { headers });
      try {
        if (expected.length) await s.next((e) => e.event === "log" && Number(e.id) === expected.at(-1).sequence, { what: query });
        const logs = s.events.filter((e) => e.event === "log");
        assert.deepEqual(logs.map((e) => JSON.parse(e.data)), expected, `${query} ${JSON.stringify(headers)}`);
        assert.deepEqual(logs.map((e) => e.id), expected.map((e) => String(e.sequence)));
      } finally {
        s.close();
      }
    };
    await replay("", {}, all);
    await replay(`&since=${all[0].sequence}`, {}, all.slice(1));
    await replay("", { "Last-Event-ID": String(all[1].sequence) }, all.slice(2));
    await replay("&tail=1", {}, all.slice(-1));
    await replay("&stream=stderr", {}, all.filter((e) => e.stream === "stderr"));
    // nothing to replay: the stream opens and waits
    const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true&since=${last}`);
    assert.equal(s.status, 200);
    assertJson(await sendText(info.id, "\n"));
    await procWaitExit(d, info.id);
    s.close();
  });

  test("an exited process: replay, then one `exit` event, then the stream ends (agentd)", async () => {
    const [info, all] = await finished({ command: "sh", args: ["-c", "echo a; echo b >&2; exit 7"] }, (t) => t.includes("a") && t.includes("b"));
    const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true`);
    try {
      const exit = await s.next((e) => e.event === "exit", { timeout: 3000, what: "exit event" });
      assert.deepEqual(JSON.parse(exit.data), { exitCode: 7 });
      await waitEnded(s);
      const logs = s.events.filter((e) => e.event === "log");
      assert.deepEqual(logs.map((e) => JSON.parse(e.data)), all, "every entry before the exit event");
      assert.equal(s.events.at(-1).event, "exit", "exit is the last event");
      assert.equal(s.events.filter((e) => e.event === "exit").length, 1);
    } finally {
      s.close();
    }
  });

  test("a live process: entries, then `exit` with exitCode null and the signal after kill, then the end (agentd)", async () => {
    const info = await create({ command: "cat" });
    const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true`);
    try {
      assertJson(await sendText(info.id, "live\n"));
      await s.next((e) => e.event === "log", { what: "live entry" });
      assertJson(await api(d, "POST", `/v1/processes/${info.id}/kill`));
      const exit = await s.next((e) => e.event === "exit", { timeout: 3000, what: "exit event" });
      assert.deepEqual(JSON.parse(exit.data), { exitCode: null, signal: 9 });
      await waitEnded(s);
      const text = Buffer.concat(
        s.events.filter((e) => e.event === "log").map((e) => Buffer.from(JSON.parse(e.data).data, "base64")),
      ).toString();
      assert.equal(text, "live\n");
    } finally {
      s.close();
    }
  });

  test("tty: all pty output is delivered before the `exit` event (agentd)", async () => {
    const info = await create({ command: "sh", args: ["-c", "read x; echo tty-bye; exit 3"], tty: true });
    const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true`);
    try {
      assertJson(await sendText(info.id, "go\n"));
      const exit = await s.next((e) => e.event === "exit", { timeout: 5000, what: "exit event" });
      assert.deepEqual(JSON.parse(exit.data), { exitCode: 3 });
      await waitEnded(s);
      const text = Buffer.concat(
        s.events.filter((e) => e.event === "log").map((e) => Buffer.from(JSON.parse(e.data).data, "base64")),
      ).toString();
      assert.match(text, /tty-bye/);
    } finally {
      s.close();
    }
  });

  test("a filtered follow (since past the end) of an exited process still gets `exit` and ends (agentd)", async () => {
    const [info, all] = await finished({ command: "sh", args: ["-c", "echo z"] }, "z");
    const s = await openSse(d, `/v1/processes/${info.id}/logs?follow=true&since=${all.at(-1).sequence}`);
    try {
      const exit = await s.next((e) => e.event === "exit", { timeout: 3000, what: "exit event" });
      assert.deepEqual(JSON.parse(exit.data), { exitCode: 0 });
      await waitEnded(s);
      assert.equal(s.events.filter((e) => e.event === "log").length, 0);
    } finally {
      s.close();
    }
  });
});

describe("log ring under 50 MB of output", () => {
  test("the ring stays within maxLogBytesPerProcess, sequences keep counting, RSS stays low", async (t) => {
    const LIMIT = 1 << 20;
    assertJson(await postJson(d, "/v1/processes/config", { ...DEFAULTS, maxLogBytesPerProcess: LIMIT }));
    try {
      const info = await create({ command: "head", args: ["-c", String(50 << 20), "/dev/zero"] });
      let maxRss = 0;
      const done = await waitFor(
        async () => {
          maxRss = Math.max(maxRss, vmRssKb(d.pid) || 0);
          const rec = assertJson(await api(d, "GET", `/v1/processes/${info.id}`));
          return rec.status === "exited" ? rec : null;
        },
        { timeout: 20000, interval: 50, what: "50 MB writer to finish" },
      );
      assert.equal(done.exitCode, 0, "the writer was drained, not blocked or killed");

      const { entries } = await procLogs(d, info.id);
      maxRss = Math.max(maxRss, vmRssKb(d.pid) || 0);
      const bytes = procLogBytes(entries);
      assert.ok(bytes.length <= LIMIT, `ring holds ${bytes.length} bytes > ${LIMIT}`);
      assert.ok(bytes.length >= LIMIT / 2, `ring holds only ${bytes.length} bytes`);
      assert.ok(bytes.every((b) => b === 0), "data intact");
      for (let i = 1; i < entries.length; i++) {
        assert.equal(entries[i].sequence, entries[i - 1].sequence + 1, "the kept entries are contiguous");
      }
      assert.ok(entries[0].sequence > 1, "oldest entries were dropped");
      assert.ok(entries.at(-1).sequence > entries.length, "sequences kept counting");
      t.diagnostic(`ring ${bytes.length} bytes in ${entries.length} entries (seq ${entries[0].sequence}..${entries.at(-1).sequence}), daemon RSS peak ${maxRss} KiB`);
      assert.ok(maxRss > 0, "could read the daemon's VmRSS");
      // ASan's shadow memory and quarantine make RSS meaningless there; the ring bounds still hold
      if (pidIsSanitized(d.pid)) t.diagnostic("sanitizer build: RSS bound not checked");
      else assert.ok(maxRss < 64 * 1024, `daemon RSS peaked at ${maxRss} KiB`);

      // tail/since still work on a wrapped ring
      const lastSeq = entries.at(-1).sequence;
      assert.deepEqual((await procLogs(d, info.id, "tail=1")).entries.map((e) => e.sequence), [lastSeq]);
      assert.deepEqual((await procLogs(d, info.id, `since=${lastSeq - 1}`)).entries.map((e) => e.sequence), [lastSeq]);
      const res = await api(d, "DELETE", `/v1/processes/${info.id}`);
      assert.equal(res.status, 204);
      cleanup.delete(info.id);
    } finally {
      assertJson(await postJson(d, "/v1/processes/config", DEFAULTS));
    }
  });
});
