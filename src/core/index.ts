// Public entry of the CO-RE engine: access specs, candidate search, type matching, relocation values
// and instruction patching. Pure code: works on BTF and instructions, never touches the kernel.

export {
  CORE_SPEC_MAX_LEN, coreReloKindName, describeRelo, formatSpec, isEnumvalBased, isFieldBased, isTypeBased,
  parseCoreSpec,
} from "./spec.js";
export type { CoreAccessor, CoreReloContext, CoreSpec } from "./spec.js";
export { essentialName, essentialNameLength, findCandidates, namesMatch, resolveTargets } from "./candidates.js";
export type { CoreCandidate, CoreTargets, CoreTargetSet, ResolvedTargets } from "./candidates.js";
export { fieldsAreCompat, matchSpec, typesAreCompat, typesMatch } from "./match.js";
export { calculateCoreRelocation } from "./calculate.js";
export type { CalculateOptions, CoreRelocationResult } from "./calculate.js";
export { applyCoreRelocation, CORE_POISON_HELPER_ID, corePoisonInstruction, isCorePoison } from "./patch.js";
export { instructionOffsets, relocateProgram } from "./relocate.js";
export type { RelocatedProgram, RelocateOptions } from "./relocate.js";
