// Host-side half of scripts/test-vm.sh: bundles the VM test files to plain JS (node starts slowly under
// TCG), builds every fixture they declare (BPF objects, test binaries) and writes the run script the guest runs.
// Usage: node --import tsx scripts/vm/prepare.ts <run dir> <test files...>

import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { build } from "esbuild";
import { buildVmFixtures } from "../../test/vm/fixtures.js";

const [runDir, ...files] = process.argv.slice(2);
if (!runDir || files.length === 0) {
  console.error("usage: prepare.ts <run dir> <test files...>");
  process.exit(2);
}
const repo = resolve(new URL("../..", import.meta.url).pathname);
const jsDir = join(runDir, "js");
mkdirSync(jsDir, { recursive: true });

const t0 = Date.now();
const manifest = await buildVmFixtures();
for (const [key, error] of Object.entries(manifest)) {
  if (key.startsWith("failed:")) console.warn(`prepare: fixture ${key.slice(7)} failed to build; the tests using it will fail:\n${error}`);
}
const manifestPath = join(runDir, "fixtures.json");
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));

const entries = files.map((f) => resolve(f));
await build({
  entryPoints: entries,
  outdir: jsDir,
  outbase: join(repo, "test", "vm"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  outExtension: { ".js": ".mjs" },
  sourcemap: "inline",
  logLevel: "warning",
  // Bundled ESM has no require(); some dependencies still call it.
  banner: { js: "import { createRequire as __tsbpfCreateRequire } from 'node:module'; const require = __tsbpfCreateRequire(import.meta.url);" },
});

const outputs = entries.map((f) => join(jsDir, basename(f).replace(/\.ts$/, ".mjs")));
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
writeFileSync(
  join(runDir, "run.sh"),
  [
    "# Written by scripts/vm/prepare.ts; run by scripts/vm/guest.sh inside the VM.",
    `export TSBPF_VM_MANIFEST=${sh(manifestPath)}`,
    "export TSBPF_IN_VM=1",
    `exec node --test --test-concurrency=1 --test-reporter=spec ${outputs.map(sh).join(" ")}`,
    "",
  ].join("\n"),
);
console.log(`prepare: ${files.length} test file(s), ${Object.keys(manifest).length} fixture(s) in ${Date.now() - t0} ms (${relative(repo, runDir)})`);
