// Runs after every `cargo leptos build --split` (Makefile, Dockerfile):
// 1. repairs the wasm-split preload manifest;
// 2. checks that the read-only data was split too;
// 3. drops the custom sections only toolchains read from the wasm files.
//
// Usage: node frontend/fix-split-manifest.mjs target/site/pkg
import * as fs from "node:fs";
import * as path from "node:path";

const dir = process.argv[2] ?? "target/site/pkg";
const files = fs.readdirSync(dir);
const wasmFiles = files.filter((f) => f.endsWith(".wasm"));

// A LEB128 unsigned integer at `i`: [value, the index after it].
function leb(b, i, f) {
  let r = 0, s = 0, x;
  do {
    if (i >= b.length) throw new Error(`${f}: a number runs past the end`);
    x = b[i++];
    r += (x & 0x7f) * 2 ** s;
    s += 7;
  } while (x & 0x80);
  return [r, i];
}

// A wasm file's sections as [id, payload start, payload end]. Throws (and
// fails the build) unless the file is a version-1 module whose sections end
// exactly at its end: a file that does not parse is a broken build.
function sections(b, f) {
  if (b.length < 8 || b.readUInt32LE(0) !== 0x6d736100 || b.readUInt32LE(4) !== 1) {
    throw new Error(`${f}: not a version-1 wasm module`);
  }
  const out = [];
  for (let i = 8; i < b.length; ) {
    const [n, start] = leb(b, i + 1, f);
    if (start + n > b.length) throw new Error(`${f}: section ${b[i]} runs past the end`);
    out.push([b[i], start, start + n]);
    i = start + n;
  }
  return out;
}

// 1. cargo-leptos 0.3.8 renames every chunk to `<stem>.<hash>.wasm` and then
// rewrites the manifest with plain substring replacement, so `chunk_2`'s new
// name is also spliced into `chunk_23`, `chunk_231`, ... The chunks and the
// loader are right; only the manifest (the server's <link rel=preload> list)
// names files that do not exist. Each broken name is the original stem with
// `.<22-character hash>` pieces spliced in: remove them all, then look the
// stem up among the files actually written.
function repairManifest(manifestName) {
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
  return manifest;
}

// Every wasm file, read and parsed once: its name, bytes and sections.
function readModules() {
  return wasmFiles.map((f) => {
    const bytes = fs.readFileSync(path.join(dir, f));
    return { f, bytes, sections: sections(bytes, f) };
  });
}

// 2. When the splitter's repacking of the read-only data segment comes out
// longer than the input, it puts the whole segment in the main module (about
// 41 KB more gzipped on every page) and says so only in a log cargo-leptos
// does not show. `frontend/src/lib.rs` keeps slack for it
// (`SPLIT_DATA_SLACK`); this says when that was not enough.
function checkDataSplit(manifest, modules) {
  const dataBytes = ({ sections }) => {
    const data = sections.find(([id]) => id === 11);
    return data ? data[2] - data[1] : 0;
  };
  // The chunks are what the manifest lists; the main module is every other wasm file.
  const chunks = new Set(Object.values(manifest).flat().map((name) => `${name}.wasm`));
  let mainData = 0;
  let chunkData = 0;
  for (const m of modules) {
    if (chunks.has(m.f)) chunkData += dataBytes(m);
    else mainData += dataBytes(m);
  }
  if (mainData > 0 && chunkData * 10 < mainData) {
    console.warn(
      `fix-split-manifest: WARNING the main wasm module holds all the read-only data (${mainData} B, chunks ${chunkData} B): ` +
        "the splitter gave up splitting it. Raise SPLIT_DATA_SLACK in frontend/src/lib.rs (BENCHMARKS.md, Site bundle).",
    );
  } else {
    console.log(`fix-split-manifest: read-only data split (main ${mainData} B, chunks ${chunkData} B)`);
  }
}

// 3. The `producers` and `target_features` custom sections: only toolchains
// read them, yet the browser downloads them with every file, about 200 B
// each, 3-5 KB gzipped per page with six groups. Names and debug info (debug
// builds) stay. Files keep their hashed names: the hash only busts caches,
// and the same input always gives the same output. Each file is replaced by
// a rename, so an interrupted run never leaves half a module behind.
function dropToolchainSections(modules) {
  const toolchainOnly = new Set(["producers", "target_features"]);
  let dropped = 0;
  for (const { f, bytes: b, sections: secs } of modules) {
    const before = dropped;
    const parts = [b.subarray(0, 8)];
    let start = 8;
    for (const [id, payload, end] of secs) {
      let name = "";
      if (id === 0) {
        const [n, at] = leb(b, payload, f);
        if (at + n > end) throw new Error(`${f}: a custom section's name runs past the section`);
        name = b.toString("utf8", at, at + n);
      }
      if (toolchainOnly.has(name)) dropped += end - start;
      else parts.push(b.subarray(start, end));
      start = end;
    }
    if (dropped === before) continue;
    const file = path.join(dir, f);
    fs.writeFileSync(`${file}.tmp`, Buffer.concat(parts));
    fs.renameSync(`${file}.tmp`, file);
  }
  console.log(`fix-split-manifest: ${dropped} B of toolchain-only custom sections dropped`);
}

// Every file is parsed before anything is written: a broken file fails the
// build with the manifest and the other files untouched.
const modules = readModules();
const manifestName = files.find((f) => /^__wasm_split_manifest\..+\.json$/.test(f));
if (manifestName) {
  checkDataSplit(repairManifest(manifestName), modules);
} else {
  console.log("fix-split-manifest: no hashed split manifest, no preload names to repair");
}
dropToolchainSections(modules);
