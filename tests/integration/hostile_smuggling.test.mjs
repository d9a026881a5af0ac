// Hostile input, family 7: request smuggling. Framing that a lenient reader (a proxy in front of
// agentd, or agentd itself) could read two ways: Content-Length with Transfer-Encoding, repeated
// or malformed lengths, codings other than chunked, whitespace around header names, and chunk
// lines that are not strictly `HEX [;ext] CR LF`. Each case is built so that, read leniently,
// it smuggles a second request (`POST /v1/fs/mkdir`) after the first. Each is refused with one
// problem+json reply and `connection: close`, the daemon closes the connection, the smuggled
// request does not run, nothing changes on disk, and /v1/health answers within 100 ms from
// another connection. The spellings that are not ambiguous (odd case, whitespace around the
// value, whitespace before a chunk extension) are accepted and framed as chunked.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  startDaemon,
  rawExchange,
  parseResponses,
  assertHealthWithin,
  snapshot,
  assertUnchanged,
  realTempDir,
  q,
} from "./harness.mjs";

let d;
let dir;
before(async () => {
  d = await startDaemon();
  dir = await realTempDir("agentd-smuggle-");
});
after(async () => {
  if (d) await d.stop();
});

const H = "Host: 127.0.0.1\r\n";
// Each case smuggles its own mkdir, so that one that (wrongly) ran cannot mask another.
const victim = (name) => path.join(dir, `smuggled-${name.replace(/[^a-z0-9]+/gi, "-")}`);
const smuggle = (name) => `POST /v1/fs/mkdir?path=${q(victim(name))} HTTP/1.1\r\n${H}\r\n`;
// The chunk-size cases PUT a file, so that the body is really decoded (and nothing is written).
const put = (te = "chunked") => `PUT /v1/fs/file?path=${q(path.join(dir, "upload.txt"))} HTTP/1.1\r\n${H}Transfer-Encoding: ${te}\r\n\r\n`;

test("control: the smuggled request, sent on its own, does run", async () => {
  // Without this, "the smuggled request did not run" below could pass for the wrong reason.
  const r = await rawExchange(d, `${smuggle("control").slice(0, -2)}Connection: close\r\n\r\n`);
  assert.deepEqual(parseResponses(r.text).map((x) => x.status), [200], r.text);
  assert.ok(fs.statSync(victim("control")).isDirectory());
  fs.rmdirSync(victim("control"));
});

/** Sends bytes(name) and checks the one refusal and everything around it. */
async function assertRefused(name, bytes, status, detail) {
  const before = await snapshot(dir);
  const cwdBefore = await snapshot(d.cwd);
  const r = await rawExchange(d, bytes(name));
  const rs = parseResponses(r.text);
  assert.equal(rs.length, 1, `exactly one response: ${r.text}`);
  assert.equal(rs[0].status, status, r.text);
  assert.match(rs[0].head, /\r\nconnection: close/i);
  assert.match(rs[0].head, /content-type: application\/problem\+json/i);
  const p = JSON.parse(rs[0].body);
  assert.equal(p.type, "urn:sandbox-agent:error:invalid_request", rs[0].body);
  assert.equal(p.status, status);
  if (detail) assert.match(p.detail, detail);
  assert.ok(r.closedByPeer, "the connection is closed");
  assert.equal(fs.existsSync(victim(name)), false, "the smuggled request did not run");
  await assertUnchanged(dir, before);
  await assertUnchanged(d.cwd, cwdBefore, "the daemon's cwd changed");
  await assertHealthWithin(d, 0, name);
}

describe("ambiguous lengths and codings are refused and the connection closed", () => {
  const cases = [
    ["Content-Length with Transfer-Encoding", (n) => `POST /v1/health HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle(n)}`, 400, /both Content-Length and Transfer-Encoding/],
    ["Transfer-Encoding with Content-Length", (n) => `POST /v1/health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggle(n)}`, 400, /both Content-Length and Transfer-Encoding/],
    ["two equal Content-Lengths", (n) => `POST /v1/health HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\nok${smuggle(n)}`, 400, /Content-Length is given 2 times/],
    ["two different Content-Lengths", (n) => `POST /v1/health HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: 60\r\n\r\n${smuggle(n)}`, 400, /Content-Length is given 2 times/],
    ["a Content-Length list", (n) => `POST /v1/health HTTP/1.1\r\n${H}Content-Length: 0, 60\r\n\r\n${smuggle(n)}`, 400, /not a valid length/],
    ["a signed Content-Length", (n) => `POST /v1/health HTTP/1.1\r\n${H}Content-Length: +0\r\n\r\n${smuggle(n)}`, 400, /not a valid length/],
    ["Transfer-Encoding with a space before the colon", (n) => `POST /v1/health HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${smuggle(n)}`, 400, /whitespace before its colon/],
    ["Content-Length with a tab before the colon", (n) => `POST /v1/health HTTP/1.1\r\n${H}Content-Length\t: 0\r\n\r\n${smuggle(n)}`, 400, /whitespace before its colon/],
    ["a folded Transfer-Encoding", (n) => `POST /v1/health HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${smuggle(n)}`, 400, /folded/],
    ["two Transfer-Encoding lines", (n) => `POST /v1/health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle(n)}`, 400, /given 2 times/],
    // A list of codings is not implemented (501), chunked twice included: either way, nothing
    // after the head is read.
    ["Transfer-Encoding: gzip, chunked", (n) => `${put("gzip, chunked")}3\r\nabc\r\n0\r\n\r\n${smuggle(n)}`, 501, /`gzip, chunked` is not supported/],
    ["Transfer-Encoding: chunked, chunked", (n) => `${put("chunked, chunked")}3\r\nabc\r\n0\r\n\r\n${smuggle(n)}`, 501, /`chunked, chunked` is not supported/],
    ["Transfer-Encoding: xchunked", (n) => `POST /v1/health HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggle(n)}`, 501, /not supported/],
    ["Transfer-Encoding on HTTP/1.0", (n) => `POST /v1/health HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle(n)}`, 400, /HTTP\/1\.0/],
    ["a bare CR in a header", (n) => `POST /v1/health HTTP/1.1\r\nHost: x\rContent-Length: 0\r\n\r\n${smuggle(n)}`, 400, /CR without LF/],
  ];
  for (const [name, bytes, status, detail] of cases) test(name, () => assertRefused(name, bytes, status, detail));
});

describe("malformed chunk-size lines are refused and the connection closed", () => {
  // Any wording that names the chunk (the C change may reword the details).
  const bad = /chunk/i;
  const cases = [
    ["a chunk size that is not hex", (n) => `${put()}zz\r\n${smuggle(n)}`, bad],
    ["a chunk size with 16 hex digits", (n) => `${put()}1000000000000000\r\n${smuggle(n)}`, bad],
    // Read into a 64-bit counter without a bound, these wrap to 5 (and to 2^64 - 1).
    ["a chunk size that overflows 64 bits (2^64 + 5)", (n) => `${put()}10000000000000005\r\nhello\r\n0\r\n\r\n${smuggle(n)}`, bad],
    ["a chunk size of 2^64 - 1", (n) => `${put()}ffffffffffffffff\r\nhello\r\n0\r\n\r\n${smuggle(n)}`, bad],
    ["a chunk size with a sign", (n) => `${put()}-5\r\n${smuggle(n)}`, bad],
    ["chunk data longer than its size", (n) => `${put()}1\r\nxy\r\n0\r\n\r\n${smuggle(n)}`, bad],
    ["a chunk-size line longer than 4096 bytes (LIM_CHUNK_LINE_BYTES)", (n) => `${put()}5;${"e".repeat(5000)}\r\nhello\r\n0\r\n\r\n${smuggle(n)}`, /longer than 4096 bytes/],
  ];
  for (const [name, bytes, detail] of cases) test(name, () => assertRefused(name, bytes, 400, detail));

  // Strict chunk lines (since 2026-12-04; before, each of these was read leniently and the
  // smuggled request ran): after the hex digits only blanks then `;extension` (RFC 9112 7.1.1),
  // and CR LF, never a bare LF, ends every line of the coding.
  const strict = [
    ["chunk size `5 6` (a second number after whitespace)", (n) => `${put()}5 6\r\nhello\r\n0\r\n\r\n${smuggle(n)}`],
    ["chunk size `5 x` (a word after whitespace)", (n) => `${put()}5 x\r\nhello\r\n0\r\n\r\n${smuggle(n)}`],
    ["chunk size `5 ` (blanks not followed by an extension)", (n) => `${put()}5 \r\nhello\r\n0\r\n\r\n${smuggle(n)}`],
    ["bare-LF chunk lines `3\\nabc\\n0\\n\\n`", (n) => `${put()}3\nabc\n0\n\n${smuggle(n)}`],
    ["a bare-LF last chunk with a pipelined request after it", (n) => `${put()}3\r\nabc\r\n0\n\n${smuggle(n)}`],
    ["a bare LF after chunk data", (n) => `${put()}3\r\nabc\n0\r\n\r\n${smuggle(n)}`],
  ];
  for (const [name, bytes] of strict) test(name, () => assertRefused(name, bytes, 400, bad));
});

describe("unambiguous spellings are accepted and framed as chunked", () => {
  // If the daemon ignored the coding, the body would be read as the next request (400) and the
  // file would be empty: two 200s and the file's content show it was decoded as chunked.
  const cases = [
    ["Transfer-Encoding:   chunked   (whitespace around the value)", "Transfer-Encoding:   chunked  ", "3\r\nabc\r\n0\r\n\r\n", "abc"],
    ["Transfer-Encoding: ChUnKeD (any case)", "Transfer-Encoding: ChUnKeD", "3\r\nabc\r\n0\r\n\r\n", "abc"],
    ["whitespace before a chunk extension (`5 ;a=b`)", "Transfer-Encoding: chunked", "5 ;a=b\r\nhello\r\n0\r\n\r\n", "hello"],
  ];
  for (const [name, te, body, content] of cases) {
    test(name, async () => {
      const target = path.join(dir, `ok-${content}.txt`);
      const cwdBefore = await snapshot(d.cwd);
      const r = await rawExchange(
        d,
        `PUT /v1/fs/file?path=${q(target)} HTTP/1.1\r\n${H}${te}\r\n\r\n${body}GET /v1/health HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      );
      const rs = parseResponses(r.text);
      assert.deepEqual(rs.map((x) => x.status), [200, 200], r.text);
      assert.deepEqual(JSON.parse(rs[0].body), { path: target, bytesWritten: content.length });
      assert.equal(rs[1].body, '{"status":"ok"}', "the request after the body is parsed as one");
      assert.equal(fs.readFileSync(target, "utf8"), content);
      fs.rmSync(target);
      await assertUnchanged(d.cwd, cwdBefore, "the daemon's cwd changed");
      await assertHealthWithin(d, 0, name);
    });
  }
});
