// Waiting for a screen change (agentd's own, beyond the reference):
// GET /v1/desktop/screenshot?waitForChangeMs=N&since=<ETag> returns as soon as the screen differs
// from the frame named by the ETag (XDamage), or 304 with the same ETag after N ms. The test X
// client repaints its window on a "fill" command; the daemon logs at debug level each request it
// parks, which is how the tests know a waiter is parked (no sleeps).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { api, assertProblem, postJson, assertJson, request, startServer, waitFor } from "./harness.mjs";
import { startDesktop, startXClient, decodeImage, assertColor } from "./desktop_helpers.mjs";

const ETAG = /^"[0-9a-f]{1,16}-[0-9a-f]{8}-[0-9a-f]{8}"$/;
const PARKED = /screenshot parked until a change/g;

let d;
let xc;
let colour = 0;

/** A colour never used before in this run (every fill is a visible change). */
function nextColour() {
  colour++;
  return [(colour * 37) % 256, (colour * 91 + 50) % 256, (colour * 53 + 100) % 256];
}

const parkedCount = () => (d.logs().match(PARKED) || []).length;

before(async () => {
  ({ d } = await startDesktop({ env: { AGENTD_LOG: "debug" } }));
  const status = assertJson(await api(d, "GET", "/v1/desktop/status"));
  xc = await startXClient(status.display, { x: 100, y: 100, w: 200, h: 100 });
  await settle(d);
});

after(async () => {
  if (xc) xc.stop();
  if (d) await d.stop();
});

async function shot(query = "") {
  const res = await api(d, "GET", `/v1/desktop/screenshot${query ? `?${query}` : ""}`);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(res.headers.etag, ETAG);
  return res;
}

/** Starts a GET now; the promise carries `settled` once it resolved. */
function start(p, opts) {
  const pr = api(d, "GET", p, opts);
  pr.settled = false;
  pr.then(
    () => {
      pr.settled = true;
    },
    () => {
      pr.settled = true;
    },
  );
  return pr;
}

const since = (etag) => encodeURIComponent(etag);

describe("waitForChangeMs and since", () => {
  test("nothing changes: 304 with the same ETag after N ms, no body", async () => {
    const etag = (await shot()).headers.etag;
    const t0 = Date.now();
    const res = await api(d, "GET", `/v1/desktop/screenshot?waitForChangeMs=300&since=${since(etag)}`);
    const waited = Date.now() - t0;
    assert.equal(res.status, 304, res.text);
    assert.equal(res.headers.etag, etag);
    assert.equal(res.body.length, 0);
    assert.ok(waited >= 250, `answered after ${waited} ms, before the 300 ms were up`);
    // Without since: the frame current when the request came.
    const res2 = await api(d, "GET", "/v1/desktop/screenshot?waitForChangeMs=300");
    assert.equal(res2.status, 304);
    assert.equal(res2.headers.etag, etag);
    // since alone is a conditional GET: 304 at once.
    const res3 = await api(d, "GET", `/v1/desktop/screenshot?since=${since(etag)}`);
    assert.equal(res3.status, 304);
    assert.equal(res3.headers.etag, etag);
  });

  test("a wait longer than lws's 5 s pending timeout still gets its 304", async () => {
    const etag = (await shot()).headers.etag;
    const res = await api(d, "GET", `/v1/desktop/screenshot?waitForChangeMs=5600&since=${since(etag)}`, {
      timeout: 20000,
    });
    assert.equal(res.status, 304);
    assert.equal(res.headers.etag, etag);
  });

  test("a change wakes the waiter with the new picture", async () => {
    const etag = (await shot()).headers.etag;
    const before = parkedCount();
    const pending = start(`/v1/desktop/screenshot?waitForChangeMs=20000&since=${since(etag)}`);
    await waitFor(() => parkedCount() > before, { timeout: 5000, interval: 5, what: "the request parked" });
    assert.equal(pending.settled, false);
    const rgb = nextColour();
    await xc.fill(rgb);
    const res = await pending;
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.notEqual(res.headers.etag, etag);
    assert.match(res.headers.etag, ETAG);
    const img = decodeImage(res.body);
    assertColor(img, 150, 125, rgb, 0, "the window after the fill");
    assertColor(img, 299, 199, rgb, 0, "the window after the fill");
  });

  test("a stale since returns at once with the current frame", async () => {
    const old = (await shot()).headers.etag;
    const rgb = nextColour();
    await xc.fill(rgb);
    const cur = await shot();
    assert.notEqual(cur.headers.etag, old);
    const t0 = Date.now();
    const res = await api(d, "GET", `/v1/desktop/screenshot?waitForChangeMs=30000&since=${since(old)}`);
    assert.equal(res.status, 200);
    assert.ok(Date.now() - t0 < 15000, "did not wait for the timeout");
    assert.equal(res.headers.etag, cur.headers.etag, "the frame has not changed since");
    assertColor(decodeImage(res.body), 150, 125, rgb);
    // An ETag of another agentd run (another instance) names no frame of this one.
    const [f, , p] = cur.headers.etag.slice(1, -1).split("-");
    const inst = cur.headers.etag.slice(1, -1).split("-")[1];
    const other = `"${f}-${((Number.parseInt(inst, 16) ^ 1) >>> 0).toString(16).padStart(8, "0")}-${p}"`;
    const res2 = await api(d, "GET", `/v1/desktop/screenshot?waitForChangeMs=30000&since=${since(other)}`);
    assert.equal(res2.status, 200);
    assert.equal(res2.headers.etag, cur.headers.etag);
    // W/ and unquoted forms are accepted.
    for (const form of [`W/${cur.headers.etag}`, cur.headers.etag.slice(1, -1)]) {
      const r = await api(d, "GET", `/v1/desktop/screenshot?since=${since(form)}`);
      assert.equal(r.status, 304, form);
    }
  });

  test("since works across parameters: the ETag names the frame, the parameters only tag it", async () => {
    const png = (await shot()).headers.etag;
    const jpeg = (await shot("format=jpeg&quality=50")).headers.etag;
    assert.notEqual(png, jpeg, "two encodings of one frame have two ETags");
    assert.equal(png.split("-")[0], jpeg.split("-")[0], "the same frame");
    const res = await api(d, "GET", `/v1/desktop/screenshot?format=jpeg&quality=50&since=${since(png)}`);
    assert.equal(res.status, 304);
    assert.equal(res.headers.etag, jpeg, "the 304 carries this request's ETag of that frame");
  });

  test("regions: only a change inside the region counts", async () => {
    const region = "x=600&y=500&width=50&height=50";
    const etag = (await api(d, "GET", `/v1/desktop/screenshot/region?${region}`)).headers.etag;
    await xc.fill(nextColour()); // the window is at (100,100)-(300,200): outside
    const res = await api(d, "GET", `/v1/desktop/screenshot/region?${region}&waitForChangeMs=300&since=${since(etag)}`);
    assert.equal(res.status, 304, res.text);
    assert.equal(res.headers.etag, etag);
    // The same since on a region over the window: changed, at once.
    const rgb = nextColour();
    await xc.fill(rgb);
    const res2 = await api(
      d,
      "GET",
      `/v1/desktop/screenshot/region?x=120&y=120&width=10&height=10&waitForChangeMs=30000&since=${since(etag)}`,
    );
    assert.equal(res2.status, 200);
    const img = decodeImage(res2.body);
    assert.deepEqual([img.width, img.height], [10, 10]);
    assertColor(img, 5, 5, rgb);
    // Parked on a region over the window, woken by the fill.
    const etag3 = res2.headers.etag;
    const before = parkedCount();
    const pending = start(
      `/v1/desktop/screenshot/region?x=120&y=120&width=10&height=10&waitForChangeMs=20000&since=${since(etag3)}`,
    );
    await waitFor(() => parkedCount() > before, { timeout: 5000, interval: 5, what: "the request parked" });
    const rgb3 = nextColour();
    await xc.fill(rgb3);
    const res3 = await pending;
    assert.equal(res3.status, 200);
    assertColor(decodeImage(res3.body), 5, 5, rgb3);
  });

  test("without since: the next change after the request", async () => {
    const before = parkedCount();
    const pending = start("/v1/desktop/screenshot?waitForChangeMs=20000&format=jpeg");
    await waitFor(() => parkedCount() > before, { timeout: 5000, interval: 5, what: "the request parked" });
    const rgb = nextColour();
    await xc.fill(rgb);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "image/jpeg");
    assertColor(decodeImage(res.body), 150, 125, rgb, 30);
  });

  test("many concurrent waiters are all woken; they do not hold up other desktop calls", async () => {
    const etag = (await shot()).headers.etag;
    const before = parkedCount();
    const queries = [];
    for (let i = 0; i < 12; i++) {
      const extra = ["", "&format=jpeg", "&format=webp", "&scale=0.5"][i % 4];
      queries.push(`/v1/desktop/screenshot?waitForChangeMs=20000&since=${since(etag)}${extra}`);
    }
    queries.push(`/v1/desktop/screenshot/region?x=100&y=100&width=200&height=100&waitForChangeMs=20000&since=${since(etag)}`);
    const pending = queries.map((p) => start(p));
    await waitFor(() => parkedCount() - before >= queries.length, {
      timeout: 5000,
      interval: 5,
      what: `${queries.length} requests parked`,
    });
    // The X thread is free: input and plain screenshots go through while they wait.
    assertJson(await postJson(d, "/v1/desktop/mouse/move", { x: 700, y: 600 }));
    const plain = await shot();
    assert.equal(plain.headers.etag, etag, "a pointer move is not a screen change");
    assert.ok(
      pending.every((p) => !p.settled),
      "the waiters are still waiting",
    );
    const rgb = nextColour();
    await xc.fill(rgb);
    const results = await Promise.all(pending);
    for (const [i, res] of results.entries()) {
      assert.equal(res.status, 200, `${queries[i]}: ${res.status}`);
      assert.notEqual(res.headers.etag, etag);
    }
    assertColor(decodeImage(results[0].body), 150, 125, rgb);
    assertColor(decodeImage(results[12].body), 50, 25, rgb);
  });

  test("a waiter whose client goes away is dropped", async () => {
    const before = parkedCount();
    await assert.rejects(api(d, "GET", "/v1/desktop/screenshot?waitForChangeMs=20000", { timeout: 300 }));
    assert.ok(parkedCount() > before);
    // The daemon goes on (the leak check is the sanitizer run's clean exit).
    await shot();
  });

  test("bad values are 400 problems", async () => {
    const bad = [
      ["waitForChangeMs=-1", "invalid_request"],
      ["waitForChangeMs=abc", "invalid_request"],
      ["waitForChangeMs=1.5", "invalid_request"],
      ["waitForChangeMs=", "invalid_request"],
      ["waitForChangeMs=60001", "desktop_invalid_action"],
      ["waitForChangeMs=99999999999", "invalid_request"],
      ["waitForChangeMs=1&waitForChangeMs=2", "invalid_request"],
      ["since=abc", "invalid_request"],
      ["since=", "invalid_request"],
      ["since=1-2-3", "invalid_request"],
      [`since=${since('"1-0000000g-00000000"')}`, "invalid_request"],
      [`since=${since('"11111111111111111-00000000-00000000"')}`, "invalid_request"],
    ];
    for (const [query, kind] of bad) {
      for (const route of ["screenshot", "screenshot/region?x=0&y=0&width=5&height=5&"]) {
        const sep = route.endsWith("&") ? "" : "?";
        const res = await api(d, "GET", `/v1/desktop/${route}${sep}${query}`);
        assertProblem(res, 400, kind, `${route} ${query}`);
      }
    }
    // At the bound is fine (answered by a change or a stale since, not waited out here).
    const res = await api(d, "GET", "/v1/desktop/screenshot?waitForChangeMs=60000&since=%220-00000000-00000000%22");
    assert.equal(res.status, 200);
  });
});

/** Waits until d's screen stays unchanged for 200 ms (a fresh desktop paints for a while). */
async function settle(dd) {
  return waitFor(
    async () => {
      const etag = (await api(dd, "GET", "/v1/desktop/screenshot")).headers.etag;
      const r = await api(dd, "GET", `/v1/desktop/screenshot?waitForChangeMs=200&since=${since(etag)}`);
      return r.status === 304 ? etag : null;
    },
    { timeout: 10000, interval: 1, what: "a quiet screen" },
  );
}

describe("life cycle", () => {
  test("inactive desktop: 409 like the other routes", async () => {
    const d2 = await startServer();
    try {
      const res = await api(d2, "GET", "/v1/desktop/screenshot?waitForChangeMs=100");
      assertProblem(res, 409, "desktop_runtime_inactive");
      const res2 = await api(d2, "GET", "/v1/desktop/screenshot?since=%221-00000000-00000000%22");
      assertProblem(res2, 409, "desktop_runtime_inactive");
    } finally {
      await d2.stop();
    }
  });

  test("an X server restart is a change: a parked waiter gets the new server's screen", async () => {
    const { d: d4, status: st } = await startDesktop({ env: { AGENTD_LOG: "debug" } });
    try {
      const etag = await settle(d4);
      const base = (d4.logs().match(PARKED) || []).length;
      const pending = api(d4, "GET", `/v1/desktop/screenshot?waitForChangeMs=20000&since=${since(etag)}`, {
        timeout: 25000,
      });
      await waitFor(() => (d4.logs().match(PARKED) || []).length > base, {
        timeout: 5000,
        interval: 5,
        what: "the request parked",
      });
      process.kill(st.processes.find((p) => p.name === "Xvfb").pid, "SIGKILL");
      const res = await pending;
      // The new server's first frame, or 503 when the capture raced the restart.
      if (res.status === 200) {
        assert.notEqual(res.headers.etag, etag);
        assert.equal(res.headers.etag.split("-")[1], etag.split("-")[1], "same instance");
      } else assertProblem(res, 503, "desktop_runtime_failed");
      await waitFor(async () => (await api(d4, "GET", "/v1/desktop/screenshot")).status === 200, {
        timeout: 5000,
        what: "screenshots after the restart",
      });
    } finally {
      await d4.stop();
    }
  });

  test("stopping the desktop answers parked waiters 409; SIGTERM with waiters parked exits 0", async () => {
    const { d: d3 } = await startDesktop({ env: { AGENTD_LOG: "debug" } });
    try {
      const parked = () => (d3.logs().match(PARKED) || []).length;
      const etag = await settle(d3);
      let base = parked();
      const p1 = api(d3, "GET", `/v1/desktop/screenshot?waitForChangeMs=30000&since=${since(etag)}`);
      await waitFor(() => parked() > base, { timeout: 5000, interval: 5, what: "the request parked" });
      assertJson(await postJson(d3, "/v1/desktop/stop", {}));
      assertProblem(await p1, 409, "desktop_runtime_inactive");
      assertJson(await postJson(d3, "/v1/desktop/start", { width: 640, height: 480 }));
      const etag2 = since(await settle(d3));
      base = parked();
      const p2 = request(d3, { path: `/v1/desktop/screenshot?waitForChangeMs=30000&since=${etag2}`, timeout: 20000 }).catch(
        (e) => e,
      );
      const p3 = request(d3, {
        path: `/v1/desktop/screenshot/region?x=1&y=1&width=2&height=2&waitForChangeMs=30000&since=${etag2}`,
        timeout: 20000,
      }).catch((e) => e);
      await waitFor(() => parked() >= base + 2, { timeout: 5000, interval: 5, what: "two more requests parked" });
      const t0 = Date.now();
      await d3.stop(); // throws unless the exit is clean (0, no sanitizer report)
      assert.ok(Date.now() - t0 < 10000);
      for (const r of await Promise.all([p2, p3])) if (!(r instanceof Error)) assert.ok(r.status >= 400, `${r.status}`);
    } finally {
      await d3.stop().catch(() => {});
    }
  });
});
