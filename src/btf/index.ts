// Public entry of the BTF layer: reader (Btf), .BTF.ext, writer and kernel BTF, plus the shared data model.
// Pure except kernel.ts, which reads /sys/kernel/btf.

export * from "./types.js";
export { Btf, BTF_HEADER_SIZE, BTF_MAGIC, BTF_MAX_TYPE } from "./btf.js";
export type { BtfParseOptions } from "./btf.js";
export {
  parseBtfExt, encodeFuncInfo, encodeLineInfo, encodeBtfExt, lineColNum,
  BTF_EXT_MAGIC, FUNC_INFO_SIZE, LINE_INFO_SIZE, CORE_RELO_SIZE, INSN_SIZE,
} from "./ext.js";
export type { EncodeInfoOptions, BtfStringSink } from "./ext.js";
export { BtfBuilder, encodeBtf } from "./writer.js";
export type { BtfBuilderOptions, BtfTypeSpec } from "./writer.js";
export {
  kernelBtf, moduleBtf, kernelBtfWithModules, kernelModuleBtfNames, clearKernelBtfCache,
  KERNEL_BTF_DIR, VMLINUX_BTF_PATH,
} from "./kernel.js";
export type { KernelBtfEntry } from "./kernel.js";
