// One object's programs loaded one at a time, on first use, over one shared set of maps: a program this
// kernel refuses (e.g. iter/bpf_map_elem on a kernel build that forbids map-element iterators) fails
// only the tests that use it, never a suite-level hook that would cancel twenty unrelated tests.

import { release } from "node:os";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { KernelRefusedError, MissingFeatureError, SyscallError } from "../../src/errors.js";
import type { FeatureResult } from "../../src/features.js";
import { loadCollection, type Collection, type CollectionOptions } from "../../src/runtime/collection.js";
import type { BpfMap } from "../../src/runtime/map.js";
import type { Program } from "../../src/runtime/program.js";
import type { CollectionSpec } from "../../src/object/spec.js";

export class ProgramSet {
  readonly #spec: CollectionSpec;
  readonly #opts: CollectionOptions;
  /** The object's maps (and no programs). */
  readonly maps: Collection;
  readonly #loaded = new Map<string, Collection>();

  constructor(spec: CollectionSpec, opts: CollectionOptions = {}) {
    this.#spec = spec;
    this.#opts = opts;
    this.maps = loadCollection(spec, { ...opts, programs: [] });
  }

  /** Program `name`, loaded on first use against the shared maps. */
  program(name: string): Program {
    let c = this.#loaded.get(name);
    if (!c) {
      const replaceMaps = Object.fromEntries([...this.maps.maps].map(([n, m]) => [n, m]));
      c = loadCollection(this.#spec, { ...this.#opts, programs: [name], replaceMaps });
      this.#loaded.set(name, c);
    }
    return c.program(name);
  }

  map(name: string): BpfMap {
    return this.maps.map(name);
  }

  close(): void {
    for (const c of this.#loaded.values()) c.close();
    this.#loaded.clear();
    this.maps.close();
  }
}

/**
 * Runs `load`; when this kernel refuses the feature (a program refused before verification, or a map
 * or link creation refused with EPERM/EINVAL/EOPNOTSUPP) or lacks it (MissingFeatureError), asserts
 * that the error is the typed one that names it, skips the rest of the test with the kernel's answer,
 * and returns undefined. With `probe` (a feature probe from src/features.ts), also asserts that the
 * probe agrees: "yes" when the load worked, "refused" for EPERM/EACCES, "no" for a missing feature.
 */
export function unlessKernelRefuses<T>(t: TestContext, what: string, load: () => T, probe?: () => FeatureResult): T | undefined {
  const agree = (errnoCode: string | undefined) => {
    if (!probe) return;
    const r = probe();
    const want = errnoCode === undefined ? "yes" : errnoCode === "EPERM" || errnoCode === "EACCES" ? "refused" : "no";
    assert.equal(r.status, want, `the feature probe for ${r.feature} answers ${r.status}${r.status === "yes" ? "" : ` (${r.reason})`}, the load ${errnoCode ? `failed with ${errnoCode}` : "worked"}`);
  };
  let value: T;
  try {
    value = load();
  } catch (e) {
    if (e instanceof KernelRefusedError) {
      assert.match(e.message, /refused .* before verification \((EPERM|EACCES|EINVAL|EOPNOTSUPP|ENOTSUPP)/);
      agree(e.errnoCode);
      t.skip(`this kernel (${release()}) refuses ${what}: ${e.errnoCode}`);
      return undefined;
    }
    if (e instanceof MissingFeatureError) {
      agree("EINVAL");
      t.skip(`this kernel (${release()}) lacks ${what}: ${e.message}`);
      return undefined;
    }
    if (e instanceof SyscallError && ["EPERM", "EINVAL", "EOPNOTSUPP", "ENOTSUPP"].includes(e.code) && process.getuid?.() === 0) {
      assert.ok(e.message.includes(e.operation), "the error names the refused operation");
      agree(e.code);
      t.skip(`this kernel (${release()}) refuses ${what}: ${e.operation} ${e.code}`);
      return undefined;
    }
    throw e;
  }
  agree(undefined);
  return value;
}
