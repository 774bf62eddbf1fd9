// Kernel tests declare the kernel features they need, and the feature probes of src/features.ts decide:
// a test whose program type, map type, link type, attach type or iterator this kernel lacks or refuses
// is skipped with the probe's answer (e.g. "this kernel (6.1.0) lacks TCX links: BPF_LINK_CREATE
// answered EINVAL"). Missing privileges are not a kernel's answer: like privileged(), the test is
// skipped for them locally and runs (and fails) under CI=true. A test that should assert the typed
// error instead uses unlessKernelRefuses (test/helpers/program-set.ts).
//
//   describe("tcx", needs({ linkType: "TCX" }), () => ...)             // instead of privileged()
//   test("sk_lookup ...", async (t) => { if (!needs(t, { programType: "SK_LOOKUP" })) return; ... })

import { release } from "node:os";
import type { TestContext } from "node:test";
import { haveAttachType, haveIterTarget, haveLinkType, haveMapType, haveProgramType, type FeatureResult } from "../../src/features.js";
import type { MapTypeName } from "../../src/object/spec.js";
import type { AttachTypeName, ProgramTypeName } from "../../src/object/sections.js";
import type { LINK_TYPE } from "../../src/sys/constants.js";
import { privilegeProblem } from "./privileges.js";

type OneOrMore<T> = T | readonly T[];

/** Kernel features a test needs (each probed once per process). */
export interface Needs {
  readonly programType?: OneOrMore<ProgramTypeName>;
  readonly mapType?: OneOrMore<Exclude<MapTypeName, "UNSPEC">>;
  readonly linkType?: OneOrMore<Exclude<keyof typeof LINK_TYPE, "UNSPEC">>;
  /** [program type, attach type] pairs. */
  readonly attachType?: readonly [ProgramTypeName, AttachTypeName] | readonly (readonly [ProgramTypeName, AttachTypeName])[];
  /** BPF iterator targets (`task_file`, `tcp`, `bpf_map_elem`...). */
  readonly iterTarget?: OneOrMore<string>;
}

const list = <T>(v: OneOrMore<T> | undefined): readonly T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v as T]);

/** The probes `needs` asks for, in a stable order. */
function probes(n: Needs): (() => FeatureResult)[] {
  const attach = n.attachType === undefined ? [] : typeof n.attachType[0] === "string" ? [n.attachType as readonly [ProgramTypeName, AttachTypeName]] : (n.attachType as readonly (readonly [ProgramTypeName, AttachTypeName])[]);
  return [
    ...list(n.programType).map((t) => () => haveProgramType(t)),
    ...list(n.mapType).map((t) => () => haveMapType(t)),
    ...list(n.linkType).map((t) => () => haveLinkType(t)),
    ...attach.map(([p, a]) => () => haveAttachType(p, a)),
    ...list(n.iterTarget).map((t) => () => haveIterTarget(t)),
  ];
}

/**
 * Why this kernel cannot run a test needing `n`: the first probe that does not answer "yes", named with
 * its answer; undefined when every feature is there. A probe that cannot decide throws.
 */
export function featureProblem(n: Needs): string | undefined {
  for (const probe of probes(n)) {
    const r = probe();
    if (r.status !== "yes") return `this kernel (${release()}) ${r.status === "no" ? "lacks" : "refuses"} ${r.feature}: ${r.errnoCode}: ${r.reason}`;
  }
  return undefined;
}

/**
 * Test options for a privileged test that needs kernel features `n` (replaces `privileged()`): skipped
 * without root locally (run under CI=true, as privileged() does), and skipped, under CI too, with the
 * probe's answer when the kernel lacks or refuses a feature. `extra` adds a reason of the test's own
 * (a missing tool...), treated as privileged() treats it.
 */
export function needs(n: Needs, extra?: () => string | undefined): { skip?: string };
/**
 * Inside a test: true when the kernel has every feature of `n`; otherwise skips the test with the
 * probe's answer and returns false (the test then returns). Without root it returns true, so that a
 * CI run fails on the missing privilege rather than skipping.
 */
export function needs(t: TestContext, n: Needs): boolean;
export function needs(a: Needs | TestContext, b?: Needs | (() => string | undefined)): { skip?: string } | boolean {
  if (typeof (a as TestContext).skip === "function" && typeof (a as TestContext).diagnostic === "function") {
    const t = a as TestContext;
    if (privilegeProblem()) return true;
    const problem = featureProblem(b as Needs);
    if (!problem) return true;
    t.skip(problem);
    return false;
  }
  const ci = process.env.CI === "true";
  const privilege = privilegeProblem();
  if (privilege) return ci ? {} : { skip: privilege };
  const problem = featureProblem(a as Needs);
  if (problem) return { skip: problem };
  const own = (b as (() => string | undefined) | undefined)?.();
  return own && !ci ? { skip: own } : {};
}
