// What each split point downloads, gzipped: the main module plus the chunks
// the split manifest lists for it. A page's first visit loads its group's
// split point; a panel loaded on demand adds its own chunks on top (files the
// page already has are not fetched again). Run after fix-split-manifest.mjs.
//
// Usage: node frontend/page-sizes.mjs target/site/pkg [budget bytes]
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

const dir = process.argv[2] ?? "target/site/pkg";
const budget = Number(process.argv[3] ?? 400_000);
const files = fs.readdirSync(dir);
const manifestName = files.find((f) => /^__wasm_split_manifest\..+\.json$/.test(f));
if (!manifestName) {
  console.log("page-sizes: no split manifest (not a --split build)");
  process.exit(0);
}
const manifest = JSON.parse(fs.readFileSync(path.join(dir, manifestName), "utf8"));
const gz = new Map();
const gzipped = (f) => {
  if (!gz.has(f)) gz.set(f, zlib.gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length);
  return gz.get(f);
};
const chunks = new Set(Object.values(manifest).flat().map((n) => `${n}.wasm`));
const main = files.filter((f) => f.endsWith(".wasm") && !chunks.has(f));
const mainBytes = main.reduce((s, f) => s + gzipped(f), 0);
console.log(`${"main module".padEnd(44)} ${String(mainBytes).padStart(9)} B  ${main.length} file(s)`);
let all = mainBytes;
for (const f of chunks) all += gzipped(f);
for (const [key, names] of Object.entries(manifest).sort()) {
  const bytes = mainBytes + names.reduce((s, n) => s + gzipped(`${n}.wasm`), 0);
  const mark = bytes > budget ? `  over ${budget} B` : "";
  console.log(`${key.padEnd(44)} ${String(bytes).padStart(9)} B  ${names.length + main.length} files${mark}`);
}
console.log(`${"all wasm together".padEnd(44)} ${String(all).padStart(9)} B`);
