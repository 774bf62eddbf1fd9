// Public entry point of tsbpf: load eBPF objects, then use their maps, programs and links.
// Lower layers (asm, elf, btf, object, sys) are exported for tools that need them.

import { fileURLToPath } from "node:url";
import { objectNameFromPath, readCollectionSpec } from "./object/reader.js";
import type { CollectionSpec } from "./object/spec.js";
import { Collection, loadCollection, type CollectionOptions } from "./runtime/collection.js";
import type { FileError } from "./errors.js";
import { readUserFile, USER_FILE_LIMITS } from "./sys/user-file.js";

export * from "./errors.js";
export {
  haveProgramType, haveMapType, haveHelper, haveAttachType, haveLinkType, haveKfunc, haveBtfKind, haveBtfTagAttribute, haveInstructionSet,
  haveIterTarget, assertFeature, probeScope, MAP_TYPE_SINCE, PROGRAM_TYPE_SINCE, LINK_TYPE_SINCE,
} from "./features.js";
export type { FeatureResult, InstructionSet, ProbeOptions } from "./features.js";
export { objectNameFromPath, readCollectionSpec } from "./object/reader.js";
export type { ReadOptions } from "./object/reader.js";
export type * from "./object/spec.js";
export { sectionInfo, knownSections } from "./object/sections.js";
export type { SectionInfo, ProgramTypeName, AttachTypeName, AttachKind } from "./object/sections.js";
export { Collection, loadCollection } from "./runtime/collection.js";
export type { CollectionOptions } from "./runtime/collection.js";
export { BpfToken, createToken, resolveToken, parseTokenFdinfo, tokenPathFromEnv, DEFAULT_TOKEN_PATH, TOKEN_ENV } from "./runtime/token.js";
export type { TokenSource, TokenDelegation } from "./runtime/token.js";
export { BpfMap, TypedMap, UpdateFlags } from "./runtime/map.js";
export type { Codec, CreateMapOptions, RawBatch, BatchOptions, MapAccess, OpenPinnedMapOptions } from "./runtime/map.js";
export { mapPinName } from "./runtime/pin.js";
export type { OpenPinnedOptions, PinCollectionOptions, PinnedObject, PinOptions } from "./runtime/pin.js";
export * from "./runtime/maps/index.js";
export { Program, loadProgram } from "./runtime/program.js";
export type { TestRunOptions, TestRunResult } from "./runtime/program.js";
export { Link } from "./runtime/links/link.js";
export type { AttachOptions } from "./runtime/links/attach.js";
export type { XdpMode } from "./runtime/links/xdp.js";
export { AttachmentLink } from "./runtime/links/detachable.js";
export { attachXdp, xdpState, interfaceIndex } from "./runtime/links/xdp.js";
export type { XdpAttachOptions, XdpState } from "./runtime/links/xdp.js";
export { attachTc, attachTcFilter, tcFilters, ensureClsact, removeClsact } from "./runtime/links/tc.js";
export type { TcAttachOptions, TcFilterOptions, TcFilter } from "./runtime/links/tc.js";
export { attachTcx, tcxPrograms } from "./runtime/links/tcx.js";
export type { TcDirection, MprogAnchor, MprogOrder } from "./runtime/links/tcx.js";
export { attachCgroup, cgroupPrograms } from "./runtime/links/cgroup.js";
export type { CgroupMode, CgroupAttachOptions } from "./runtime/links/cgroup.js";
export { attachSocketFilter, attachReuseport } from "./runtime/links/socket.js";
export { attachSockmap } from "./runtime/links/sockmap.js";
export type { SockmapAttachOptions, SkSkbAttach } from "./runtime/links/sockmap.js";
export { attachNetns } from "./runtime/links/netns.js";
export { attachIter, IterLink, IterReader } from "./runtime/links/iter.js";
export type { IterAttachOptions, CgroupIterOrder } from "./runtime/links/iter.js";
export { attachPerfEvent, PerfEventLinks } from "./runtime/links/sampling.js";
export type { PerfEventAttachOptions } from "./runtime/links/sampling.js";
export { attachNetfilter, NF_FAMILY, NF_HOOK } from "./runtime/links/netfilter.js";
export type { NetfilterAttachOptions } from "./runtime/links/netfilter.js";
export { attachLwt } from "./runtime/links/lwt.js";
export type { LwtAttachOptions } from "./runtime/links/lwt.js";
export { socketFd } from "./runtime/links/targets.js";
export type { SocketLike } from "./runtime/links/targets.js";
export { attachKprobe, attachKprobeMulti, kprobeSupport, matchKernelFunctions, parseKprobeTarget, syscallFunctionName } from "./runtime/links/kprobe.js";
export type { KprobeOptions, KprobeMultiOptions, ProbeMode } from "./runtime/links/kprobe.js";
export { attachUprobe, attachUprobeMulti, parseUprobeTarget, uprobeSupport } from "./runtime/links/uprobe.js";
export type { UprobeOptions, UprobeMultiOptions } from "./runtime/links/uprobe.js";
export { resolveBinaryPath } from "./runtime/links/binary-path.js";
export { attachUsdt, UsdtLink, usdtSpecBytes } from "./runtime/links/usdt.js";
export type { UsdtOptions } from "./runtime/links/usdt.js";
export { freplaceTarget } from "./runtime/links/freplace.js";
export { listLinks, openPinnedLink, openLinkById } from "./runtime/links/list.js";
export { StructOpsMap, findStructOpsType, STRUCT_OPS_VALUE_PREFIX } from "./runtime/maps/struct-ops.js";
export type { StructOpsKernelType, StructOpsLayout, StructOpsSlot, StructOpsField, StructOpsFieldValue } from "./runtime/maps/struct-ops.js";
export { StructOpsLink } from "./runtime/links/struct-ops.js";
export type { LinkListing } from "./runtime/links/list.js";
export { readElfImage, resolveElfSymbol, elfSymbols } from "./elf/symbols.js";
export type { ElfImage, ResolvedElfSymbol } from "./elf/symbols.js";
export { readUsdtNotes, parseUsdtArgs } from "./elf/notes.js";
export type { UsdtNote, UsdtArg } from "./elf/notes.js";
export { LogReader, consoleLogger, formatLogLine, logFormatTable, LOG_LEVELS } from "./runtime/log.js";
export type { Logger, LogOptions, LogLevel, LogRecord } from "./runtime/log.js";
export { RingBufReader } from "./runtime/ringbuf.js";
export type { RingBufReaderOptions, RingBufStats, RecordVisitor } from "./runtime/ringbuf.js";
export { PerfBufReader } from "./runtime/perfbuf.js";
export type { PerfBufReaderOptions, PerfBufStats, PerfEvent, PerfSample, PerfLost } from "./runtime/perfbuf.js";

/** Options for {@link load}: how to name the object, plus everything {@link loadCollection} takes. */
export interface LoadOptions extends CollectionOptions {
  /** Object name (for global data map names); defaults to the file name up to its first dot, as in libbpf. */
  readonly name?: string;
  /** For `.bpf.ts` sources: the eBPF instruction set to compile for ("v3" default, "v4" for Linux 6.6+). */
  readonly cpu?: "v3" | "v4";
}

/**
 * Load an eBPF object into the kernel: a TypeScript kernel program (`*.bpf.ts`, compiled and cached
 * by content), or an ELF object (a path, file URL or bytes) built by tsbpf or clang.
 *
 * A path must name a regular file of at most 256 MiB (an object) or 16 MiB (a source and each module it
 * imports); anything else (missing, a directory, device, FIFO or socket, too large) throws a
 * {@link FileError} naming the path (`FILE_NOT_FOUND`, `FILE_NOT_REGULAR`, `FILE_TOO_LARGE`, ...).
 * A source that does not compile throws a CompileError (`COMPILE_FAILED`) listing every diagnostic.
 *
 * @example
 * import { load } from "tsbpf";
 * await using obj = await load(new URL("./execsnoop.bpf.ts", import.meta.url));
 * obj.program("onExec").attach();
 */
export async function load(source: string | URL | Uint8Array, opts: LoadOptions = {}): Promise<Collection> {
  let bytes: Uint8Array;
  let name = opts.name;
  if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    const path = source instanceof URL ? fileURLToPath(source) : source;
    if (path.endsWith(".ts")) {
      // A kernel program in TypeScript: compiled (or taken from the content cache) first.
      const { compileCached } = await import("./compiler/cache.js");
      bytes = compileCached(path, opts.cpu ? { cpu: opts.cpu } : {});
    } else {
      bytes = readUserFile(path, "ELF object", USER_FILE_LIMITS.object);
    }
    name ??= objectNameFromPath(path);
  }
  const spec: CollectionSpec = readCollectionSpec(bytes, { name: name ?? "obj" });
  return loadCollection(spec, opts);
}
