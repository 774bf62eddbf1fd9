// BTF sanitising: an object whose BTF uses kinds an older kernel's BTF loader lacks (FLOAT, DECL_TAG,
// TYPE_TAG, ENUM64, global FUNC linkage) still loads there. Older kernels are faked by answering "no" to
// the feature probes; the rewritten BTF keeps every type id and holds none of the rewritten kinds, the
// real kernel loads it, and the program runs (a BPF-to-BPF call included, through its func info).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Btf } from "../../src/btf/btf.js";
import { BTF_FEATURES, sanitizeBtf, type BtfFeature } from "../../src/btf/sanitize.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { btfFeatureSupported as kernelSupportsBtf } from "../../src/features.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { privileged } from "../helpers/privileges.js";

const SOURCE = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag __attribute__((btf_decl_tag("tsbpf_decl")))
#define __ttag __attribute__((btf_type_tag("tsbpf_type")))

enum big { BIG_A = 1, BIG_B = 0x100000000ULL };

struct value {
  float ratio;
  int count __tag;
  enum big which;
  int __ttag *ptr;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct value);
} vals SEC(".maps");

__attribute__((noinline)) int helper_fn(int x) __tag { return x * 3; }

SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  struct value *v = bpf_map_lookup_elem(&vals, &k);
  if (!v) return XDP_ABORTED;
  v->count = helper_fn(v->count + 1);
  v->which = BIG_B;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

/** The fixture compiled by clang 19 (Debian's default clang 14 emits no ENUM64). */
function compiled(): CollectionSpec {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-sanitize-"));
  try {
    writeFileSync(join(dir, "btf_sanitize.bpf.c"), SOURCE);
    const multiarch = `/usr/include/${arch() === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`;
    execFileSync("clang-19", ["-O2", "-g", "--target=bpf", "-mcpu=v3", `-I${multiarch}`, "-c", join(dir, "btf_sanitize.bpf.c"), "-o", join(dir, "btf_sanitize.o")], { stdio: ["ignore", "ignore", "pipe"] });
    return readCollectionSpec(new Uint8Array(readFileSync(join(dir, "btf_sanitize.o"))), { name: "btf_sanitize" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function kinds(btf: Btf): Map<string, number> {
  const out = new Map<string, number>();
  for (let id = 1; id < btf.typeCount; id++) {
    const t = btf.type(id);
    const k = t.kind === "enum" && t.is64 ? "enum64" : t.kind === "func" && t.linkage === 1 ? "func_global" : t.kind;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

describe("BTF sanitising for kernels that lack BTF kinds", privileged(), () => {
  test("this kernel (6.1 or later) has every feature sanitising knows, except perhaps 6.14's tag attributes", () => {
    for (const f of BTF_FEATURES) assert.equal(typeof kernelSupportsBtf(f), "boolean");
    assert.deepEqual(BTF_FEATURES.filter((f) => f !== "tag_attribute" && !kernelSupportsBtf(f)), []);
  });

  test("an object using every rewritten kind loads and runs as if the kernel lacked them all", async () => {
    const spec = compiled();
    const before = kinds(spec.btf!);
    for (const k of ["float", "decl_tag", "type_tag", "enum64", "func_global"]) assert.ok(before.get(k), `clang emitted ${k}: ${[...before]}`);
    const { bytes, report } = sanitizeBtf(spec.btf!, () => false);
    assert.ok(bytes);
    const after = Btf.parse(bytes);
    assert.equal(after.typeCount, spec.btf!.typeCount, "type ids are kept");
    const ak = kinds(after);
    for (const k of ["float", "decl_tag", "type_tag", "enum64", "func_global"]) assert.equal(ak.get(k), undefined, `${k} rewritten`);
    assert.equal(report.float, before.get("float"));
    assert.equal(report.enum64, before.get("enum64"));
    // Names and the types everything else refers to are unchanged.
    for (let id = 1; id < after.typeCount; id++) {
      const a = spec.btf!.type(id), b = after.type(id);
      if (!["float", "decl_tag", "type_tag", "enum", "func"].includes(a.kind)) assert.deepEqual(b, a);
    }
    const asked = new Set<BtfFeature>();
    using coll = loadCollection(spec, { btfFeatures: (f) => (asked.add(f), false) });
    assert.ok(asked.has("float") && asked.has("enum64"), "the probes were consulted");
    const r = coll.program("prog").testRun({ data: new Uint8Array(64) });
    assert.equal(r.retval, 2);
    const v = coll.map("vals").getRaw(new Uint8Array(4))!;
    assert.equal(new DataView(v.buffer, v.byteOffset).getInt32(4, true), 3, "count = helper_fn(0 + 1)");
  });

  test("on a kernel with every feature nothing is rewritten", async () => {
    const spec = compiled();
    assert.equal(sanitizeBtf(spec.btf!, () => true).bytes, undefined);
  });
});
