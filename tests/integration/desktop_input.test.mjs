// Desktop input (spec 5.4, 5.5) checked end to end: agentd injects with XTEST, the test X client
// prints what it received. Clicks, drags and scrolls must arrive at the right coordinates; key
// names, aliases and chords must produce the right keysyms; `type` must deliver any Unicode
// text exactly (keysyms missing from the keymap are bound to spare keycodes).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { api, postJson, assertJson } from "./harness.mjs";
import { startDesktop, startXClient } from "./desktop_helpers.mjs";

let d;
let xc;

before(async () => {
  ({ d } = await startDesktop());
  const status = assertJson(await api(d, "GET", "/v1/desktop/status"));
  xc = await startXClient(status.display, { x: 100, y: 100, w: 400, h: 300 });
});

after(async () => {
  if (xc) xc.stop();
  if (d) await d.stop();
});

const post = async (p, body) => assertJson(await postJson(d, `/v1/desktop/${p}`, body), 200, `${p} ${JSON.stringify(body)}`);

/** Text typed since line index `from`, from the client's `char` lines. */
function typedSince(from) {
  return xc.lines
    .slice(from)
    .filter((l) => l.startsWith("char "))
    .map((l) => String.fromCodePoint(Number.parseInt(l.slice(5), 16)))
    .join("");
}

async function typedExactly(from, expected) {
  const n = [...expected].length;
  await xc.collect(/^char /, n, { from });
  // Nothing extra arrives after the expected text (a key left down would repeat or add more).
  const releases = xc.lines.slice(from).filter((l) => l.startsWith("keyup ")).length;
  assert.ok(releases >= n, "every key released");
  assert.equal(typedSince(from), expected);
}

describe("mouse", () => {
  test("move reports the position, the screen and the window under the pointer", async () => {
    const r = await post("mouse/move", { x: 150, y: 120 });
    assert.deepEqual(r, { x: 150, y: 120, screen: 0, window: xc.windowId });
    const p = assertJson(await api(d, "GET", "/v1/desktop/mouse/position"));
    assert.deepEqual(p, r);
  });

  test("moves beyond the screen are clamped by X", async () => {
    const r = await post("mouse/move", { x: 5000, y: 5000 });
    assert.equal(r.x, 1023);
    assert.equal(r.y, 767);
  });

  test("click at coordinates: press and release there, for each button", async () => {
    for (const [button, n] of [
      ["left", 1],
      ["middle", 2],
      ["right", 3],
    ]) {
      const from = xc.lines.length;
      const r = await post("mouse/click", { x: 160 + n, y: 130, button });
      assert.deepEqual(r, { x: 160 + n, y: 130, screen: 0, window: xc.windowId });
      await xc.next(new RegExp(`^release ${n} `), { from });
      assert.deepEqual(xc.lines.slice(from), [`press ${n} ${60 + n} 30 ${160 + n} 130`, `release ${n} ${60 + n} 30 ${160 + n} 130`]);
    }
  });

  test("clickCount 3 gives three clicks; default button is left", async () => {
    const from = xc.lines.length;
    await post("mouse/click", { x: 200, y: 200, clickCount: 3 });
    const presses = await xc.collect(/^press /, 3, { from });
    assert.deepEqual(presses, ["press 1 100 100 200 200", "press 1 100 100 200 200", "press 1 100 100 200 200"]);
    await xc.collect(/^release /, 3, { from });
  });

  test("drag: press at the start, release at the end", async () => {
    const from = xc.lines.length;
    const r = await post("mouse/drag", { startX: 110, startY: 110, endX: 480, endY: 380, button: "left" });
    assert.equal(r.x, 480);
    assert.equal(r.y, 380);
    await xc.next(/^release /, { from });
    assert.deepEqual(xc.lines.slice(from), ["press 1 10 10 110 110", "release 1 380 280 480 380"]);
  });

  test("down and up, with and without coordinates", async () => {
    const from = xc.lines.length;
    await post("mouse/down", { x: 300, y: 150, button: "right" });
    await xc.next(/^press 3 /, { from });
    const r = await post("mouse/up", { button: "right" });
    assert.deepEqual([r.x, r.y], [300, 150]);
    await xc.next(/^release 3 /, { from });
    assert.deepEqual(xc.lines.slice(from), ["press 3 200 50 300 150", "release 3 200 50 300 150"]);
    const from2 = xc.lines.length;
    await post("mouse/down", {});
    await post("mouse/up", { x: 310, y: 160 });
    await xc.next(/^release 1 /, { from: from2 });
    assert.deepEqual(xc.lines.slice(from2), ["press 1 200 50 300 150", "release 1 210 60 310 160"]);
  });

  test("scroll: wheel buttons 4/5 (vertical) and 6/7 (horizontal), one per step, at x,y", async () => {
    const cases = [
      [{ deltaY: 3 }, 5, 3],
      [{ deltaY: -2 }, 4, 2],
      [{ deltaX: 1 }, 7, 1],
      [{ deltaX: -4 }, 6, 4],
    ];
    for (const [delta, b, n] of cases) {
      const from = xc.lines.length;
      const r = await post("mouse/scroll", { x: 250, y: 260, ...delta });
      assert.deepEqual([r.x, r.y], [250, 260]);
      const presses = await xc.collect(/^press /, n, { from });
      assert.ok(presses.every((l) => l === `press ${b} 150 160 250 260`), JSON.stringify(presses));
      await xc.collect(/^release /, n, { from });
      assert.equal(xc.lines.slice(from).filter((l) => l.startsWith("press ")).length, n);
    }
  });
});

describe("keyboard", () => {
  test("type: ASCII, accents, CJK and emoji arrive exactly", async () => {
    for (const text of [
      "Hello, World! 0123456789 ~`!@#$%^&*()_+-=[]{}|;':\",./<>?",
      "café crème brûlée naïve Ångström ñ ß ø",
      "中文字符 日本語 한국어",
      "emoji 😀🎉👍 and ελληνικά Кириллица",
      "tab\tand\nnewline",
    ]) {
      const from = xc.lines.length;
      assert.deepEqual(await post("keyboard/type", { text }), { ok: true });
      await typedExactly(from, text);
    }
  });

  test("type 200 distinct non-keymap characters in one request", async () => {
    let text = "";
    for (let i = 0; i < 200; i++) text += String.fromCodePoint(0x4e00 + i * 7);
    const from = xc.lines.length;
    await post("keyboard/type", { text });
    await typedExactly(from, text);
  });

  test("type with delayMs", async () => {
    const from = xc.lines.length;
    await post("keyboard/type", { text: "slow é", delayMs: 3 });
    await typedExactly(from, "slow é");
  });

  const keyOf = (l) => l.split(" ")[1];

  test("press: keysym names and aliases", async () => {
    const cases = [
      ["Return", "Return"],
      ["Enter", "Return"],
      ["enter", "Return"],
      ["Escape", "Escape"],
      ["Esc", "Escape"],
      ["Tab", "Tab"],
      ["space", "space"],
      ["BackSpace", "BackSpace"],
      ["Backspace", "BackSpace"],
      ["Delete", "Delete"],
      ["Home", "Home"],
      ["End", "End"],
      ["PageUp", "Prior"],
      ["PageDown", "Next"],
      ["ArrowLeft", "Left"],
      ["ArrowRight", "Right"],
      ["ArrowUp", "Up"],
      ["ArrowDown", "Down"],
      ["Left", "Left"],
      ["F1", "F1"],
      ["f5", "F5"],
      ["F12", "F12"],
      ["a", "a"],
      ["Z", "Z"],
      ["é", "eacute"],
      ["+", "plus"],
      ["Control", "Control_L"],
      ["Shift_L", "Shift_L"],
    ];
    for (const [name, want] of cases) {
      const from = xc.lines.length;
      assert.deepEqual(await post("keyboard/press", { key: name }), { ok: true });
      const line = await xc.next(/^keyup /, { from });
      const presses = xc.lines.slice(from).filter((l) => l.startsWith("key "));
      assert.equal(keyOf(presses[presses.length - 1]), want, `${name}: ${JSON.stringify(xc.lines.slice(from))}`);
      assert.ok(line);
    }
  });

  test("chords: ctrl+shift+t presses in order with the modifiers held", async () => {
    const from = xc.lines.length;
    await post("keyboard/press", { key: "ctrl+shift+t" });
    await xc.next(/^keyup Control_L/, { from });
    const keys = xc.lines.slice(from).filter((l) => l.startsWith("key "));
    assert.deepEqual(keys, ["key Control_L 0", "key Shift_L 4", "key T 5"]);
    const ups = xc.lines.slice(from).filter((l) => l.startsWith("keyup "));
    assert.deepEqual(ups, ["keyup T", "keyup Shift_L", "keyup Control_L"]);
  });

  test("modifiers object: shift+a types A; ctrl and alt are held", async () => {
    let from = xc.lines.length;
    await post("keyboard/press", { key: "a", modifiers: { shift: true } });
    await xc.next(/^keyup Shift_L/, { from });
    assert.ok(xc.lines.slice(from).includes("key A 1"), JSON.stringify(xc.lines.slice(from)));
    from = xc.lines.length;
    await post("keyboard/press", { key: "c", modifiers: { ctrl: true, alt: true } });
    await xc.next(/^keyup Alt_L/, { from });
    // Released in reverse order: Control last (a later test must not see its keyup).
    await xc.next(/^keyup Control_L/, { from });
    const last = xc.lines.slice(from).filter((l) => l.startsWith("key ")).pop();
    assert.match(last, /^key c (12|\d+)$/);
    assert.equal(Number(last.split(" ")[2]) & 4, 4, "Control held");
    assert.equal(Number(last.split(" ")[2]) & 8, 8, "Mod1 (Alt) held");
  });

  test("down and up: a held key stays down until up", async () => {
    const from = xc.lines.length;
    await post("keyboard/down", { key: "Shift" });
    await post("keyboard/press", { key: "b" });
    await post("keyboard/up", { key: "Shift" });
    await xc.next(/^keyup Shift_L/, { from });
    const lines = xc.lines.slice(from);
    assert.deepEqual(lines.slice(0, 2), ["key Shift_L 0", "key B 1"]);
    assert.equal(lines[lines.length - 1], "keyup Shift_L");
  });
});
