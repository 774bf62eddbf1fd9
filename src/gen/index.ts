// Public entry of the declaration generator: kernel BTF → TypeScript declarations (`tsbpf gen vmlinux`).
// Pure except readTracefsFormats, which reads tracefs.

export { generateDeclarations, BTF_MARKER, DEFAULT_DEPTH, DEFAULT_IMPORT_FROM } from "./typescript.js";
export type { GenerateOptions, GeneratedDeclarations } from "./typescript.js";
export { findRoots, selectTypes, fwdTarget } from "./select.js";
export type { Selection, SelectOptions } from "./select.js";
export {
  tracepointContexts, traceEventClasses, readTracefsFormats, parseTraceFormat, RAW_STRUCT_PREFIX, TRACEFS_DIRS,
} from "./tracepoints.js";
export type { TraceField, TraceFormat, TracepointContextOptions } from "./tracepoints.js";
export { IMPORTED_NAMES, TRACEPOINT_CONTEXTS, NameTable, isUsableName, sanitize } from "./names.js";
