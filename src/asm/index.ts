// Public API of the eBPF instruction layer: opcodes, registers, the Instruction model and builders,
// decoder, encoder, reference resolver, disassembler and the helper name table.

export * from "./opcode.js";
export * from "./register.js";
export { Instruction, type SourceLocation } from "./instruction.js";
export * from "./alu.js";
export * from "./jump.js";
export * from "./load-store.js";
export * from "./atomic.js";
export * from "./decode.js";
export * from "./encode.js";
export * from "./disasm.js";
export { HELPER_NAMES, helperName, helperId } from "./helpers.js";
