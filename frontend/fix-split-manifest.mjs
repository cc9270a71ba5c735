// Repairs the wasm-split preload manifest after `cargo leptos build --split`.
//
// cargo-leptos 0.3.8 renames every chunk to `<stem>.<hash>.wasm` and then
// rewrites the manifest with plain substring replacement, so `chunk_2`'s new
// name is also spliced into `chunk_23`, `chunk_231`, ... The chunks and the
// loader are right; only the manifest (the server's <link rel=preload> list)
// names files that do not exist. Each broken name is the original stem with
// `.<22-character hash>` pieces spliced in: remove them all, then look the
// stem up among the files actually written.
// It also checks that the read-only data was split, and drops custom sections
// only toolchains read (both below).
//
// Usage: node frontend/fix-split-manifest.mjs target/site/pkg
import * as fs from "node:fs";
import * as path from "node:path";

const dir = process.argv[2] ?? "target/site/pkg";
const files = fs.readdirSync(dir);
const manifestName = files.find((f) => /^__wasm_split_manifest\..+\.json$/.test(f));
if (!manifestName) {
  console.log("fix-split-manifest: no hashed split manifest, nothing to do");
  process.exit(0);
}
// stem -> hashed name without `.wasm`, from the files on disk.
const byStem = new Map();
for (const f of files) {
  const m = /^([^.]+)\.([A-Za-z0-9_-]{22})\.wasm$/.exec(f);
  if (m) byStem.set(m[1], `${m[1]}.${m[2]}`);
}
const file = path.join(dir, manifestName);
const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
let fixed = 0;
for (const [key, modules] of Object.entries(manifest)) {
  manifest[key] = modules.map((name) => {
    const stem = name.replace(/\.[A-Za-z0-9_-]{22}/g, "");
    const real = byStem.get(stem);
    if (!real) throw new Error(`fix-split-manifest: ${name} (${stem}) matches no chunk in ${dir}`);
    if (real !== name) fixed++;
    return real;
  });
}
fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
console.log(`fix-split-manifest: ${fixed} preload names repaired in ${manifestName}`);

// Second check: the read-only data was split too. When the splitter's
// repacking of that segment comes out longer than the input, it puts the
// whole segment in the main module (about 41 KB more gzipped on every page)
// and says so only in a log cargo-leptos does not show. `frontend/src/lib.rs`
// keeps slack for it (`SPLIT_DATA_SLACK`); this says when that was not enough.
// A wasm file's sections: [id, payload start, payload end].
function sections(b) {
  const leb = (i) => {
    let r = 0, s = 0, x;
    do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
    return [r, i];
  };
  const out = [];
  for (let i = 8; i < b.length; ) {
    const [n, start] = leb(i + 1);
    out.push([b[i], start, start + n]);
    i = start + n;
  }
  return out;
}
function dataSectionBytes(file) {
  const data = sections(fs.readFileSync(file)).find(([id]) => id === 11);
  return data ? data[2] - data[1] : 0;
}
// The chunks are what the manifest lists; the main module is every other wasm file.
const chunks = new Set(Object.values(manifest).flat().map((name) => `${name}.wasm`));
let mainData = 0;
let chunkData = 0;
for (const f of files.filter((f) => f.endsWith(".wasm"))) {
  const bytes = dataSectionBytes(path.join(dir, f));
  if (chunks.has(f)) chunkData += bytes;
  else mainData += bytes;
}
if (mainData > 0 && chunkData * 10 < mainData) {
  console.warn(
    `fix-split-manifest: WARNING the main wasm module holds all the read-only data (${mainData} B, chunks ${chunkData} B): ` +
      "the splitter gave up splitting it. Raise SPLIT_DATA_SLACK in frontend/src/lib.rs (BENCHMARKS.md, Site bundle).",
  );
} else {
  console.log(`fix-split-manifest: read-only data split (main ${mainData} B, chunks ${chunkData} B)`);
}

// Third: drop the `producers` and `target_features` custom sections. Only
// toolchains read them, yet the browser downloads them with every file:
// about 200 B each, 3-5 KB gzipped per page with six groups. Names and debug
// info (debug builds) stay.
const toolchainOnly = new Set(["producers", "target_features"]);
let stripped = 0;
for (const f of files.filter((f) => f.endsWith(".wasm"))) {
  const file = path.join(dir, f);
  const b = fs.readFileSync(file);
  const before = stripped;
  const parts = [b.subarray(0, 8)];
  let start = 8;
  for (const [id, payload, end] of sections(b)) {
    const nameLength = b[payload]; // every name here is under 128 bytes: one LEB byte
    const name = id === 0 ? b.toString("utf8", payload + 1, payload + 1 + nameLength) : "";
    if (toolchainOnly.has(name)) stripped += end - start;
    else parts.push(b.subarray(start, end));
    start = end;
  }
  if (stripped > before) fs.writeFileSync(file, Buffer.concat(parts));
}
console.log(`fix-split-manifest: ${stripped} B of custom sections dropped`);
