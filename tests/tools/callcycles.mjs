// Fails when source files call each other in a loop (issue 13): from the objects' symbols, an
// edge A -> B means A.o uses a global symbol that B.o defines; every strongly connected set of
// more than one file is printed with the symbols that tie it, and the exit status is 1.
// Usage: node tests/tools/callcycles.mjs OBJ_DIR   (e.g. build/obj)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = process.argv[2] || "build/obj";
const objs = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".o")) objs.push(p);
  }
})(root);

const name = (o) => path.relative(root, o).replace(/\.o$/, ".c");
const defs = new Map(); // symbol -> file
const uses = new Map(); // file -> Set(symbol)
for (const o of objs) {
  const f = name(o);
  uses.set(f, new Set());
  for (const line of execFileSync("nm", ["-P", o], { encoding: "utf8" }).split("\n")) {
    const [sym, type] = line.split(" ");
    if (!sym || !type) continue;
    if (type === "U") uses.get(f).add(sym);
    else if (/^[TDBRCGSV]$/.test(type)) defs.set(sym, f);
  }
}

const edges = new Map(); // file -> Map(file -> [symbols])
for (const [f, syms] of uses) {
  const out = new Map();
  for (const s of syms) {
    const to = defs.get(s);
    if (!to || to === f) continue;
    if (!out.has(to)) out.set(to, []);
    out.get(to).push(s);
  }
  edges.set(f, out);
}

// Tarjan's strongly connected components.
let index = 0;
const idx = new Map(), low = new Map(), stack = [], on = new Set(), sccs = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v).keys()) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      c.push(w);
    } while (w !== v);
    if (c.length > 1) sccs.push(c.sort());
  }
}
for (const f of [...edges.keys()].sort()) if (!idx.has(f)) visit(f);

if (!sccs.length) {
  console.log(`no call cycle between the ${objs.length} files of ${root}`);
  process.exit(0);
}
for (const c of sccs) {
  console.log(`call cycle between ${c.join(", ")}:`);
  for (const a of c)
    for (const [b, syms] of edges.get(a))
      if (c.includes(b)) console.log(`  ${a} -> ${b}: ${syms.sort().join(", ")}`);
}
process.exit(1);
