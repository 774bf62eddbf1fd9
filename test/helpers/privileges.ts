// Gate for tests that need root and a real kernel: skip with a reason locally, fail under CI=true.
// Use as `test("name", privileged(), async () => {...})` or `describe("x", privileged(), ...)`.

import { getuid } from "node:process";

/** Why privileged tests cannot run here, or undefined when they can. */
export function privilegeProblem(): string | undefined {
  if (typeof getuid === "function" && getuid() !== 0) return "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)";
  return undefined;
}

/**
 * Test options for a privileged test. Outside CI a missing privilege skips the test with a reason;
 * with CI=true the test runs anyway and so fails loudly instead of quietly skipping.
 */
export function privileged(extraProblem?: () => string | undefined): { skip?: string } {
  const problem = privilegeProblem() ?? extraProblem?.();
  if (!problem) return {};
  if (process.env.CI === "true") return {};
  return { skip: problem };
}
