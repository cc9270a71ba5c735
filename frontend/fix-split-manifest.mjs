// Repairs the wasm-split preload manifest after `cargo leptos build --split`.
//
// cargo-leptos 0.3.8 renames every chunk to `<stem>.<hash>.wasm` and then
// rewrites the manifest with plain substring replacement, so `chunk_2`'s new
// name is also spliced into `chunk_23`, `chunk_231`, ... The chunks and the
// loader are right; only the manifest (the server's <link rel=preload> list)
// names files that do not exist. Each broken name is the original stem with
// `.<22-character hash>` pieces spliced in: remove them all, then look the
// stem up among the files actually written.
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
