// `make test-scripts` (part of `make test`): runs fix-split-manifest.mjs
// as the build does, on small hand-made wasm files in a temporary folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "fix-split-manifest.mjs");
const HEADER = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

function section(id, payload) {
  assert.ok(payload.length < 128, "one-byte sizes keep these files simple");
  return Buffer.concat([Buffer.from([id, payload.length]), payload]);
}
function custom(name, body = Buffer.from("some toolchain text")) {
  return section(0, Buffer.concat([Buffer.from([name.length]), Buffer.from(name), body]));
}
const TYPES = section(1, Buffer.from([0x01, 0x60, 0x00, 0x00]));
const data = (n) => section(11, Buffer.alloc(n, 7));

function run(dir) {
  const r = spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}
function tmp(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fix-split-"));
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  return dir;
}

test("drops producers and target_features, keeps every other section, and is idempotent", () => {
  const kept = [TYPES, custom("name"), data(20), custom("external_debug_info")];
  const input = Buffer.concat([HEADER, TYPES, custom("producers"), custom("name"), data(20), custom("target_features"), custom("external_debug_info")]);
  const dir = tmp({ "meetmind.wasm": input });
  const first = run(dir);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, new RegExp(`${custom("producers").length + custom("target_features").length} B of toolchain-only`));
  assert.deepEqual(fs.readFileSync(path.join(dir, "meetmind.wasm")), Buffer.concat([HEADER, ...kept]));
  const second = run(dir);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, / 0 B of toolchain-only/);
  assert.deepEqual(fs.readFileSync(path.join(dir, "meetmind.wasm")), Buffer.concat([HEADER, ...kept]));
  assert.deepEqual(fs.readdirSync(dir), ["meetmind.wasm"], "no .tmp file is left behind");
});

test("a file that does not parse fails the build, names itself, and nothing is written", () => {
  const good = Buffer.concat([HEADER, TYPES, custom("producers")]);
  const truncated = Buffer.concat([HEADER, TYPES, custom("producers")]).subarray(0, 20);
  const dir = tmp({ "a.wasm": good, "b.wasm": truncated });
  const r = run(dir);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /b\.wasm: section 0 runs past the end/);
  assert.deepEqual(fs.readFileSync(path.join(dir, "a.wasm")), good, "the good file is untouched");
  const notWasm = tmp({ "c.wasm": Buffer.from("<html>404</html>") });
  assert.match(run(notWasm).out, /c\.wasm: not a version-1 wasm module/);
});

test("repairs the preload names cargo-leptos splices together, and warns when the data was not split", () => {
  const h = (c) => c.repeat(22);
  const files = {
    [`meetmind.${h("M")}.wasm`]: Buffer.concat([HEADER, data(100)]),
    [`chunk_2.${h("A")}.wasm`]: Buffer.concat([HEADER, data(5)]),
    [`chunk_23.${h("B")}.wasm`]: Buffer.concat([HEADER, data(4)]),
  };
  // `chunk_2`'s hash spliced into `chunk_23`, as cargo-leptos 0.3.8 writes it.
  const manifest = { admin: [`chunk_2.${h("A")}`, `chunk_2.${h("A")}3.${h("B")}`] };
  const dir = tmp({ ...files, [`__wasm_split_manifest.${h("Z")}.json`]: JSON.stringify(manifest) });
  const r = run(dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /1 preload names repaired/);
  const fixed = JSON.parse(fs.readFileSync(path.join(dir, `__wasm_split_manifest.${h("Z")}.json`), "utf8"));
  assert.deepEqual(fixed, { admin: [`chunk_2.${h("A")}`, `chunk_23.${h("B")}`] });
  // 9 B of data in the chunks against 100 in main: under a tenth, so the splitter gave up.
  assert.match(r.out, /WARNING the main wasm module holds all the read-only data \(100 B, chunks 9 B\)/);

  const unknown = tmp({ ...files, [`__wasm_split_manifest.${h("Z")}.json`]: JSON.stringify({ g: ["chunk_9"] }) });
  const bad = run(unknown);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /chunk_9 \(chunk_9\) matches no chunk/);
});
