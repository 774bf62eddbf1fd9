// `fentry("fn", ...)` / `fexit("fn", ...)`: SEC("fentry/<fn>"), SEC("fexit/<fn>"), BPF trampolines. The
// arguments are typed from the function's BTF prototype (`ctx.args.<name>`); fexit adds `ctx.ret`. The
// kernel requires a return of 0. `fmodRet("fn", ...)`: SEC("fmod_ret/<fn>"), the same context as fexit
// with `ctx.ret` the return value so far (0, or what an earlier fmod_ret program returned); returning 0
// lets the function run, anything else skips it and becomes its return value (the kernel attaches only to
// functions open to error injection and security_* hooks, and leaves the value unchecked).

import { TRACING_HELPERS, type ProgramKind } from "./kind.js";

const zero = () => ({ min: 0, max: 0, meaning: "fentry and fexit programs return 0" });

export const fentry: ProgramKind = {
  entry: "fentry",
  targets: 1,
  section: ([t]) => `fentry/${t}`,
  contextTypes: ["FentryContext", "ArgsContext"],
  context: { k: "args" },
  helpers: TRACING_HELPERS,
  btfPointers: true,
  returns: zero,
};

export const fexit: ProgramKind = {
  ...fentry,
  entry: "fexit",
  section: ([t]) => `fexit/${t}`,
  contextTypes: ["FexitContext", "FentryContext", "ArgsContext"],
  context: { k: "args", ret: true },
};

export const fmodRet: ProgramKind = {
  ...fexit,
  entry: "fmodRet",
  section: ([t]) => `fmod_ret/${t}`,
  returns: () => undefined,
};
