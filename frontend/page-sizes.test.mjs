// `make test-scripts` (part of `make test`): page-sizes.mjs, on hand-made
// files in a temporary folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "page-sizes.mjs");

test("each split point is the main module plus its own chunks, gzipped; the budget marks the heavy ones", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "page-sizes-"));
  // Random bytes barely compress, so the sizes are easy to tell apart.
  const files = {
    "meetmind.wasm": Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251)),
    "chunk_1.a.wasm": Buffer.alloc(2000, 1),
    "chunk_2.b.wasm": Buffer.from(Array.from({ length: 900 }, (_, i) => (i * 104729) % 253)),
  };
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  fs.writeFileSync(
    path.join(dir, "__wasm_split_manifest.x.json"),
    JSON.stringify({ __preload_light: ["chunk_1.a"], __preload_heavy: ["chunk_1.a", "chunk_2.b"] }),
  );
  const gz = (f) => zlib.gzipSync(files[f], { level: 9 }).length;
  const light = gz("meetmind.wasm") + gz("chunk_1.a.wasm");
  const heavy = light + gz("chunk_2.b.wasm");
  const budget = heavy - 1;
  const r = spawnSync(process.execPath, [script, dir, String(budget)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const line = (key) => r.stdout.split("\n").find((l) => l.startsWith(key));
  assert.match(line("main module"), new RegExp(` ${gz("meetmind.wasm")} B  1 file`));
  assert.match(line("__preload_light"), new RegExp(` ${light} B  2 files$`));
  assert.match(line("__preload_heavy"), new RegExp(` ${heavy} B  3 files  over ${budget} B$`));
  assert.match(line("all wasm together"), new RegExp(` ${heavy} B$`));
});

test("a build without a split manifest says so and succeeds", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "page-sizes-"));
  fs.writeFileSync(path.join(dir, "meetmind.wasm"), Buffer.alloc(10));
  const r = spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /no split manifest/);
});
