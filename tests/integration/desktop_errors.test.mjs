// Bad desktop requests: every one is a problem+json 4xx (or the documented 409/503) with the
// right `type`, and nothing happens on the screen: the pointer does not move and the test
// X client receives no event.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { api, assertJson, assertProblem, postJson, request, startServer } from "./harness.mjs";
import { startDesktop, startXClient } from "./desktop_helpers.mjs";

let idle; // a daemon whose desktop is not started
let d; // a daemon with an active desktop
let xc;

before(async () => {
  idle = await startServer();
  ({ d } = await startDesktop());
  const status = assertJson(await api(d, "GET", "/v1/desktop/status"));
  xc = await startXClient(status.display, { x: 0, y: 0, w: 1024, h: 768 });
  assertJson(await postJson(d, "/v1/desktop/mouse/move", { x: 300, y: 200 }));
});

after(async () => {
  if (xc) xc.stop();
  if (d) await d.stop();
  if (idle) await idle.stop();
});

describe("inactive desktop: 409 desktop_runtime_inactive", () => {
  const calls = [
    ["GET", "/v1/desktop/display/info"],
    ["GET", "/v1/desktop/screenshot"],
    ["GET", "/v1/desktop/screenshot/region?x=0&y=0&width=10&height=10"],
    ["GET", "/v1/desktop/mouse/position"],
    ["POST", "/v1/desktop/mouse/move", { x: 1, y: 1 }],
    ["POST", "/v1/desktop/mouse/click", { x: 1, y: 1 }],
    ["POST", "/v1/desktop/mouse/scroll", { x: 1, y: 1, deltaY: 1 }],
    ["POST", "/v1/desktop/keyboard/type", { text: "a" }],
    ["POST", "/v1/desktop/keyboard/press", { key: "a" }],
  ];
  for (const [method, p, body] of calls) {
    test(`${method} ${p}`, async () => {
      const res = body ? await postJson(idle, p, body) : await api(idle, method, p);
      const prob = assertProblem(res, 409, "desktop_runtime_inactive");
      assert.equal(prob.code, "desktop_runtime_inactive");
      assert.equal(prob.detail, "Desktop runtime has not been started");
    });
  }
});

// [description, method, path, body, status, kind]
const BAD = [
  ["start: width 0", "POST", "/v1/desktop/start", { width: 0 }, 400, "desktop_invalid_action"],
  ["start: dpi 0", "POST", "/v1/desktop/start", { dpi: 0 }, 400, "desktop_invalid_action"],
  ["start: displayNum 0", "POST", "/v1/desktop/start", { displayNum: 0 }, 400, "desktop_invalid_action"],
  ["start: negative width", "POST", "/v1/desktop/start", { width: -5 }, 422, "invalid_request"],
  ["start: absurd width", "POST", "/v1/desktop/start", { width: 100000, height: 100000 }, 400, "desktop_invalid_action"],
  ["start: width as string", "POST", "/v1/desktop/start", { width: "800" }, 422, "invalid_request"],
  ["move: negative x", "POST", "/v1/desktop/mouse/move", { x: -1, y: 5 }, 400, "desktop_invalid_action"],
  ["move: negative y", "POST", "/v1/desktop/mouse/move", { x: 1, y: -5 }, 400, "desktop_invalid_action"],
  ["move: missing y", "POST", "/v1/desktop/mouse/move", { x: 10 }, 422, "invalid_request"],
  ["move: fractional x", "POST", "/v1/desktop/mouse/move", { x: 10.5, y: 3 }, 422, "invalid_request"],
  ["move: x beyond i32", "POST", "/v1/desktop/mouse/move", { x: 3000000000, y: 3 }, 422, "invalid_request"],
  ["move: x as string", "POST", "/v1/desktop/mouse/move", { x: "1", y: 3 }, 422, "invalid_request"],
  ["click: clickCount 0", "POST", "/v1/desktop/mouse/click", { x: 1, y: 5, clickCount: 0 }, 400, "desktop_invalid_action"],
  ["click: clickCount -1", "POST", "/v1/desktop/mouse/click", { x: 1, y: 5, clickCount: -1 }, 422, "invalid_request"],
  ["click: clickCount 1000", "POST", "/v1/desktop/mouse/click", { x: 1, y: 5, clickCount: 1000 }, 400, "desktop_invalid_action"],
  ["click: unknown button", "POST", "/v1/desktop/mouse/click", { x: 1, y: 5, button: "foo" }, 422, "invalid_request"],
  ["click: negative x", "POST", "/v1/desktop/mouse/click", { x: -1, y: 5 }, 400, "desktop_invalid_action"],
  ["down: only x", "POST", "/v1/desktop/mouse/down", { x: 3 }, 400, "desktop_invalid_action"],
  ["up: only y", "POST", "/v1/desktop/mouse/up", { y: 3 }, 400, "desktop_invalid_action"],
  ["down: unknown button", "POST", "/v1/desktop/mouse/down", { button: "back" }, 422, "invalid_request"],
  ["drag: negative end", "POST", "/v1/desktop/mouse/drag", { startX: 3, startY: 3, endX: -1, endY: 4 }, 400, "desktop_invalid_action"],
  ["drag: missing endY", "POST", "/v1/desktop/mouse/drag", { startX: 3, startY: 3, endX: 1 }, 422, "invalid_request"],
  ["scroll: no delta", "POST", "/v1/desktop/mouse/scroll", { x: 3, y: 3 }, 400, "desktop_invalid_action"],
  ["scroll: zero deltas", "POST", "/v1/desktop/mouse/scroll", { x: 3, y: 3, deltaX: 0, deltaY: 0 }, 400, "desktop_invalid_action"],
  ["scroll: huge delta", "POST", "/v1/desktop/mouse/scroll", { x: 3, y: 3, deltaY: 100000 }, 400, "desktop_invalid_action"],
  ["scroll: negative x", "POST", "/v1/desktop/mouse/scroll", { x: -3, y: 3, deltaY: 1 }, 400, "desktop_invalid_action"],
  ["type: empty text", "POST", "/v1/desktop/keyboard/type", { text: "" }, 400, "desktop_invalid_action"],
  ["type: missing text", "POST", "/v1/desktop/keyboard/type", {}, 422, "invalid_request"],
  ["type: negative delayMs", "POST", "/v1/desktop/keyboard/type", { text: "a", delayMs: -1 }, 422, "invalid_request"],
  ["type: huge delayMs", "POST", "/v1/desktop/keyboard/type", { text: "a", delayMs: 100000 }, 400, "desktop_invalid_action"],
  ["type: more than 60 s of typing in all", "POST", "/v1/desktop/keyboard/type", { text: "a".repeat(61), delayMs: 1000 }, 400, "desktop_invalid_action"],
  ["type: control character", "POST", "/v1/desktop/keyboard/type", { text: "a\u0001b" }, 400, "desktop_invalid_action"],
  ["press: blank key", "POST", "/v1/desktop/keyboard/press", { key: " " }, 400, "desktop_invalid_action"],
  ["press: unknown key", "POST", "/v1/desktop/keyboard/press", { key: "NoSuchKey" }, 400, "desktop_invalid_action"],
  ["press: unknown chord part", "POST", "/v1/desktop/keyboard/press", { key: "ctrl+bogus" }, 400, "desktop_invalid_action"],
  ["press: empty chord part", "POST", "/v1/desktop/keyboard/press", { key: "ctrl++shift" }, 400, "desktop_invalid_action"],
  ["press: too many chord keys", "POST", "/v1/desktop/keyboard/press", { key: "a+b+c+d+e+f+g+h+i+j" }, 400, "desktop_invalid_action"],
  ["press: modifiers not bool", "POST", "/v1/desktop/keyboard/press", { key: "a", modifiers: { ctrl: "x" } }, 422, "invalid_request"],
  ["press: modifiers not object", "POST", "/v1/desktop/keyboard/press", { key: "a", modifiers: 3 }, 422, "invalid_request"],
  ["down: empty key", "POST", "/v1/desktop/keyboard/down", { key: "" }, 400, "desktop_invalid_action"],
  ["up: missing key", "POST", "/v1/desktop/keyboard/up", {}, 422, "invalid_request"],
  ["up: unknown key", "POST", "/v1/desktop/keyboard/up", { key: "Hyperdrive" }, 400, "desktop_invalid_action"],
  ["screenshot: quality 0", "GET", "/v1/desktop/screenshot?format=jpeg&quality=0", null, 400, "desktop_invalid_action"],
  ["screenshot: quality 101", "GET", "/v1/desktop/screenshot?quality=101", null, 400, "desktop_invalid_action"],
  ["screenshot: quality abc", "GET", "/v1/desktop/screenshot?quality=abc", null, 400, "invalid_request"],
  ["screenshot: scale 2", "GET", "/v1/desktop/screenshot?scale=2", null, 400, "desktop_invalid_action"],
  ["screenshot: scale 0.05", "GET", "/v1/desktop/screenshot?scale=0.05", null, 400, "desktop_invalid_action"],
  ["screenshot: scale abc", "GET", "/v1/desktop/screenshot?scale=abc", null, 400, "invalid_request"],
  ["screenshot: scale nan", "GET", "/v1/desktop/screenshot?scale=nan", null, 400, "invalid_request"],
  ["screenshot: format gif", "GET", "/v1/desktop/screenshot?format=gif", null, 400, "invalid_request"],
  ["screenshot: showCursor 1", "GET", "/v1/desktop/screenshot?showCursor=1", null, 400, "invalid_request"],
  ["region: zero width", "GET", "/v1/desktop/screenshot/region?x=1&y=10&width=0&height=50", null, 400, "desktop_invalid_action"],
  ["region: zero height", "GET", "/v1/desktop/screenshot/region?x=1&y=10&width=5&height=0", null, 400, "desktop_invalid_action"],
  ["region: negative x", "GET", "/v1/desktop/screenshot/region?x=-1&y=10&width=100&height=50", null, 400, "desktop_invalid_action"],
  ["region: negative width", "GET", "/v1/desktop/screenshot/region?x=1&y=10&width=-100&height=50", null, 400, "desktop_invalid_action"],
  ["region: missing height", "GET", "/v1/desktop/screenshot/region?x=1&y=10&width=100", null, 400, "invalid_request"],
  ["region: x not a number", "GET", "/v1/desktop/screenshot/region?x=a&y=10&width=100&height=5", null, 400, "invalid_request"],
];

describe("bad inputs on an active desktop change nothing", () => {
  for (const [what, method, p, body, status, kind] of BAD) {
    test(what, async () => {
      const from = xc.lines.length;
      const res = body ? await postJson(d, p, body) : await api(d, method, p);
      const prob = assertProblem(res, status, kind);
      if (kind.startsWith("desktop_")) assert.equal(prob.code, kind);
      if (what.includes("unknown key") || what.includes("unknown chord")) assert.match(prob.detail, /NoSuchKey|bogus|Hyperdrive/);
      const pos = assertJson(await api(d, "GET", "/v1/desktop/mouse/position"));
      assert.deepEqual([pos.x, pos.y], [300, 200], "the pointer did not move");
      // A no-op round trip through the X thread: any event the bad request caused is delivered by now.
      assertJson(await postJson(d, "/v1/desktop/mouse/move", { x: 300, y: 200 }));
      assert.deepEqual(xc.lines.slice(from), [], "no input reached the client");
    });
  }

  test("at least 30 bad inputs are covered", () => {
    assert.ok(BAD.length >= 30, String(BAD.length));
  });

  test("JSON endpoints need a JSON body", async () => {
    let res = await api(d, "POST", "/v1/desktop/mouse/move", { body: '{"x":1,"y":1}' });
    assertProblem(res, 415, "invalid_request");
    res = await postJson(d, "/v1/desktop/keyboard/type", "{not json");
    assertProblem(res, 400, "invalid_request");
    res = await postJson(d, "/v1/desktop/mouse/click", "[1,2]");
    assertProblem(res, 422, "invalid_request");
  });

  test("routes of later milestones answer 501, never a fake success", async () => {
    for (const [method, p] of [
      ["GET", "/v1/desktop/stream/status"],
    ]) {
      const res = await request(d, { method, path: p, headers: { "Content-Type": "application/json" }, body: method === "POST" ? "{}" : undefined });
      assertProblem(res, 501, "invalid_request", p);
    }
  });
});
