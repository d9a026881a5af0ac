// Where endpoints live (issue 13): every route entry sits in the file that defines its handler
// (a static handle_* function), each such file exports one table, every table of a module is
// handed on by that module's <prefix>_register(), main.c calls every register function, and no
// method and path is routed twice. Read from the sources, so a new endpoint that breaks the
// layout fails here rather than in review.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const MODULES = ["fs", "process", "adapters", "desktop"];
const ENTRY = /\{(HTTP_[A-Z]+), "([^"]+)", ([A-Za-z0-9_]+)/g;

const read = (rel) => fs.readFileSync(path.join(ROOT, rel), "utf8");
const sources = (dir) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith(".c"))
    .map((f) => `${dir}/${f}`);

function entriesOf(rel) {
  return [...read(rel).matchAll(ENTRY)].map((m) => ({ method: m[1], path: m[2], handler: m[3], file: rel }));
}

test("each route entry is beside its handler: a static handle_* in the same file", () => {
  let n = 0;
  for (const dir of [...MODULES, "agentd"])
    for (const rel of sources(dir)) {
      const text = read(rel);
      for (const e of entriesOf(rel)) {
        n++;
        assert.match(e.handler, /^handle_/, `${rel}: ${e.method} ${e.path} -> ${e.handler}: handlers are named handle_*`);
        assert.match(
          text,
          new RegExp(`^static void ${e.handler}\\(struct http_req \\*req\\)\\n\\{`, "m"),
          `${rel}: ${e.method} ${e.path}: ${e.handler} must be defined (static) in this file`,
        );
      }
    }
  assert.ok(n >= 60, `${n} route entries found`);
});

test("every table a module exports is handed on by its register function, which main.c calls", () => {
  const main = read("agentd/main.c");
  for (const dir of MODULES) {
    const tables = [];
    const registers = [];
    for (const rel of sources(dir)) {
      const text = read(rel);
      for (const m of text.matchAll(/^(?:static )?const struct route_table ([a-z_]+) = ROUTE_TABLE\(/gm)) tables.push({ name: m[1], file: rel });
      for (const m of text.matchAll(/^void ([a-z]+_register)\(route_add_fn add\)\n\{([^}]*)\}/gm)) registers.push({ name: m[1], body: m[2], file: rel });
      if (entriesOf(rel).length)
        assert.equal((text.match(/= ROUTE_TABLE\(/g) || []).length, 1, `${rel}: a file with route entries exports exactly one table`);
    }
    assert.equal(registers.length, 1, `${dir}/: one <prefix>_register(route_add_fn add), found ${registers.map((r) => r.name)}`);
    const [reg] = registers;
    for (const t of tables) assert.match(reg.body, new RegExp(`add\\(&${t.name}\\)`), `${reg.file}: ${reg.name}() must add ${t.name} (${t.file})`);
    assert.match(main, new RegExp(`\\b${reg.name}\\(router_add_table\\)`), `agentd/main.c must call ${reg.name}()`);
  }
});

test("no method and path is routed twice", () => {
  const seen = new Map();
  for (const dir of [...MODULES, "agentd"])
    for (const rel of sources(dir))
      for (const e of entriesOf(rel)) {
        const key = `${e.method} ${e.path}`;
        assert.ok(!seen.has(key), `${key} is routed in ${seen.get(key)} and ${rel}`);
        seen.set(key, rel);
      }
});
