// Desktop screenshots (spec 5.3) on real pixels: a test X client maps a window with four known
// colours under agentd's own Xvfb; PNG, JPEG and WebP replies are decoded and checked, with
// region clipping, area-averaged scaling, the cursor crosshair and agentd's extra headers.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { api, postJson, assertJson } from "./harness.mjs";
import { startDesktop, startXClient, decodeImage, assertColor, RED, GREEN, BLUE, WHITE } from "./desktop_helpers.mjs";

let d;
let xc;

before(async () => {
  ({ d } = await startDesktop());
  const status = assertJson(await api(d, "GET", "/v1/desktop/status"));
  // Window at (100,100) 200x100: red (100..199,100..149), green (200..299,100..149),
  // blue (100..199,150..199), white (200..299,150..199).
  xc = await startXClient(status.display, { x: 100, y: 100, w: 200, h: 100 });
});

after(async () => {
  if (xc) xc.stop();
  if (d) await d.stop();
});

async function shot(query = "", region = false) {
  const res = await api(d, "GET", `/v1/desktop/screenshot${region ? "/region" : ""}${query ? `?${query}` : ""}`);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  return { res, img: decodeImage(res.body) };
}

describe("full screen", () => {
  test("PNG: size, exact pixels, headers", async () => {
    const { res, img } = await shot();
    assert.equal(res.headers["content-type"], "image/png");
    assert.equal(img.width, 1024);
    assert.equal(img.height, 768);
    assertColor(img, 150, 125, RED);
    assertColor(img, 250, 125, GREEN);
    assertColor(img, 150, 175, BLUE);
    assertColor(img, 250, 175, WHITE);
    assertColor(img, 100, 100, RED, 0, "top-left corner of the window");
    assertColor(img, 299, 199, WHITE, 0, "bottom-right corner of the window");
    assert.equal(res.headers["x-desktop-width"], "1024");
    assert.equal(res.headers["x-desktop-height"], "768");
    assert.equal(res.headers["x-desktop-scale"], "1");
    assert.match(res.headers["x-desktop-cursor-x"], /^\d+$/);
    assert.match(res.headers["x-desktop-cursor-y"], /^\d+$/);
    assert.match(res.headers.etag, /^"[0-9a-f]{1,16}-[0-9a-f]{8}-[0-9a-f]{8}"$/);
    assert.equal(Number(res.headers["content-length"]), res.body.length);
  });

  test("JPEG and WebP decode to the same picture (lossy tolerance), quality changes the size", async () => {
    for (const format of ["jpeg", "webp"]) {
      const { res, img } = await shot(`format=${format}&quality=90`);
      assert.equal(res.headers["content-type"], `image/${format}`);
      assert.equal(img.width, 1024);
      assert.equal(img.height, 768);
      assertColor(img, 150, 125, RED, 40, format);
      assertColor(img, 250, 125, GREEN, 40, format);
      assertColor(img, 150, 175, BLUE, 40, format);
      assertColor(img, 250, 175, WHITE, 40, format);
      const low = await api(d, "GET", `/v1/desktop/screenshot?format=${format}&quality=5`);
      assert.equal(low.status, 200);
      assert.ok(low.body.length < res.body.length, `${format}: q5 ${low.body.length} >= q90 ${res.body.length}`);
    }
  });

  test("scale 0.5 halves both sides; flat areas keep their exact colour", async () => {
    const { res, img } = await shot("scale=0.5");
    assert.equal(img.width, 512);
    assert.equal(img.height, 384);
    assert.equal(res.headers["x-desktop-scale"], "0.5");
    assert.equal(res.headers["x-desktop-width"], "1024", "the screen size, not the image size");
    assertColor(img, 75, 62, RED);
    assertColor(img, 125, 62, GREEN);
    assertColor(img, 75, 87, BLUE);
    assertColor(img, 125, 87, WHITE);
  });

  test("scale rounds like the reference (0.33 of 1024x768 is 338x253)", async () => {
    const { img } = await shot("scale=0.33&format=jpeg");
    assert.deepEqual([img.width, img.height], [338, 253]);
    const small = await shot("scale=0.1");
    assert.deepEqual([small.img.width, small.img.height], [102, 77]);
  });
});

describe("regions", () => {
  test("exact geometry and pixels", async () => {
    const { img } = await shot("x=150&y=120&width=100&height=50", true);
    assert.deepEqual([img.width, img.height], [100, 50]);
    assertColor(img, 0, 0, RED);
    assertColor(img, 49, 29, RED);
    assertColor(img, 50, 0, GREEN);
    assertColor(img, 10, 30, BLUE);
    assertColor(img, 99, 49, WHITE);
  });

  test("clipped at the screen edge; wholly outside is 1x1", async () => {
    let { img } = await shot("x=1000&y=700&width=100&height=100", true);
    assert.deepEqual([img.width, img.height], [24, 68]);
    ({ img } = await shot("x=2000&y=10&width=100&height=100", true));
    assert.deepEqual([img.width, img.height], [1, 1]);
    ({ img } = await shot("x=0&y=767&width=5000&height=5000", true));
    assert.deepEqual([img.width, img.height], [1024, 1]);
  });

  test("region scale rounds half up (101x51 at 0.5 is 51x26)", async () => {
    const { img } = await shot("x=10&y=10&width=101&height=51&scale=0.5", true);
    assert.deepEqual([img.width, img.height], [51, 26]);
  });

  test("area averaging: two pixels become their mean", async () => {
    // (198,110)-(201,111): red red | green green -> at 0.5: red, green
    let { img } = await shot("x=198&y=110&width=4&height=2&scale=0.5", true);
    assert.deepEqual([img.width, img.height], [2, 1]);
    assertColor(img, 0, 0, RED);
    assertColor(img, 1, 0, GREEN);
    // (199,110)-(200,111): one red column, one green column -> the mean
    ({ img } = await shot("x=199&y=110&width=2&height=2&scale=0.5", true));
    assert.deepEqual([img.width, img.height], [1, 1]);
    assertColor(img, 0, 0, [128, 128, 0], 1);
    // 2x2 over all four quadrants (199..200, 149..150)
    ({ img } = await shot("x=199&y=149&width=2&height=2&scale=0.5", true));
    assertColor(img, 0, 0, [128, 128, 128], 1);
  });
});

describe("cursor", () => {
  test("showCursor draws the crosshair at the pointer; headers give the pointer", async () => {
    assertJson(await postJson(d, "/v1/desktop/mouse/move", { x: 250, y: 175 }));
    const plain = await shot("x=230&y=155&width=40&height=40", true);
    assertColor(plain.img, 20, 20, WHITE, 0, "no crosshair without showCursor");
    assert.equal(plain.res.headers["x-desktop-cursor-x"], "250");
    assert.equal(plain.res.headers["x-desktop-cursor-y"], "175");
    const { img, res } = await shot("x=230&y=155&width=40&height=40&showCursor=true", true);
    assert.equal(res.headers["x-desktop-cursor-x"], "250");
    for (const [x, y] of [
      [20, 20],
      [10, 20],
      [30, 20],
      [20, 10],
      [20, 30],
    ])
      assertColor(img, x, y, RED, 0, "crosshair");
    assertColor(img, 5, 5, WHITE, 0, "off the crosshair");
    assertColor(img, 9, 20, WHITE, 0, "beyond the arm");
  });
});

describe("etag", () => {
  test("same screen, same ETag; a change gives a new one", async () => {
    const a = await shot("x=100&y=100&width=200&height=100", true);
    const b = await shot("x=100&y=100&width=200&height=100", true);
    assert.equal(a.res.headers.etag, b.res.headers.etag);
    const c = await shot("x=100&y=100&width=200&height=100&format=jpeg", true);
    assert.notEqual(a.res.headers.etag, c.res.headers.etag, "format is part of the tag");
    const e = await shot("x=100&y=100&width=200&height=100&showCursor=true", true);
    assert.ok(e.img);
  });
});
