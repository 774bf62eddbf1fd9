// struct_ops maps: the object's struct matched against the kernel's `bpf_struct_ops_<name>` wrapper
// type, the STRUCT_OPS map created with that value type, its kernel value laid out and registered.

import type { Btf } from "../../btf/btf.js";
import { kernelBtfWithModules } from "../../btf/kernel.js";
import type { BtfComposite } from "../../btf/types.js";
import { essentialName } from "../../core/candidates.js";
import { MapError, MissingFeatureError, SyscallError, TsbpfError } from "../../errors.js";
import type { MapSpec, StructOpsSpec } from "../../object/spec.js";
import { btfInfo, getFdById, mapCreate, mapUpdate, objectIds } from "../../sys/bpf.js";
import { MAP_FLAGS, MAP_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { kernelVersion } from "../../sys/system.js";
import { StructOpsLink } from "../links/struct-ops.js";
import { BpfMap } from "../map.js";
import { tokenRefusal, type BpfToken } from "../token.js";

/** Prefix of the kernel's map value type for a struct_ops type: `bpf_struct_ops_tcp_congestion_ops`. */
export const STRUCT_OPS_VALUE_PREFIX = "bpf_struct_ops_";

/** Where the kernel describes a struct_ops type. */
export interface StructOpsKernelType {
  /** "vmlinux" or the name of the module whose BTF has the type. */
  readonly module: string;
  readonly btf: Btf;
  /** `struct <name>` in that BTF. */
  readonly typeId: number;
  /** `struct bpf_struct_ops_<name>`: the map value type (btf_vmlinux_value_type_id). */
  readonly valueTypeId: number;
  /** Size of the map value. */
  readonly valueSize: number;
  /** Byte offset of the `struct <name>` member (`data`) inside the value. */
  readonly dataOffset: number;
}

/** A function-pointer member set to a program, at its place in the kernel value. */
export interface StructOpsSlot {
  readonly member: string;
  readonly program: string;
  /** Index of the member in the kernel's struct (the program's expected_attach_type). */
  readonly memberIndex: number;
  /** Byte offset of the pointer in the map value. */
  readonly valueOffset: number;
}

/** A data member of the kernel's struct that the value carries (copied from the object, or set later). */
export interface StructOpsField {
  readonly name: string;
  readonly valueOffset: number;
  readonly size: number;
  /** Integer members: decoded as numbers (or bigint for 8 bytes); char arrays: as strings. */
  readonly kind: "int" | "chars" | "other";
}

/** The object's struct_ops variable resolved against the running kernel. */
export interface StructOpsLayout {
  readonly kernel: StructOpsKernelType;
  /** The kernel value with the data members copied from the object (program slots still zero). */
  readonly value: Uint8Array;
  readonly slots: readonly StructOpsSlot[];
  readonly fields: readonly StructOpsField[];
}

/** What loading a struct_ops program needs: attach_btf_id (+ module BTF) and expected_attach_type. */
export interface StructOpsProgramTarget {
  readonly btfId: number;
  readonly memberIndex: number;
  readonly btfObjFd?: Fd;
  /** Where the target came from, for messages: `tsbpf_cc.cong_avoid`. */
  readonly usedBy: string;
}

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

/**
 * Find the kernel's description of struct_ops type `typeName` (a flavour suffix `___x` is dropped):
 * vmlinux first, then the modules with BTF. Undefined when the kernel has no `bpf_struct_ops_<name>`.
 */
export function findStructOpsType(typeName: string): StructOpsKernelType | undefined {
  const name = essentialName(typeName);
  const valueName = STRUCT_OPS_VALUE_PREFIX + name;
  for (const { name: module, btf } of kernelBtfWithModules()) {
    const own = module === "vmlinux" ? btf.find(valueName, "struct") : btf.findOwn(valueName, "struct");
    for (const valueTypeId of own) {
      const vt = btf.type(valueTypeId) as BtfComposite;
      for (const m of vt.members) {
        const mt = btf.type(btf.resolve(m.type));
        if (mt.kind !== "struct" || mt.name !== name) continue;
        return { module, btf, typeId: mt.id, valueTypeId, valueSize: vt.size, dataOffset: m.bitOffset / 8 };
      }
    }
  }
  return undefined;
}

function describeKind(btf: Btf, id: number): string {
  const t = btf.type(btf.resolve(id));
  if (t.kind === "ptr") return btf.type(btf.resolve(t.type)).kind === "func_proto" ? "function pointer" : "pointer";
  return t.kind;
}

/**
 * Lay out the kernel value of struct_ops map `spec` (from the object) for the kernel type `kernel`,
 * following libbpf: members are matched by name; a member the kernel lacks must be zero (it is then
 * dropped); function pointers must meet function pointers; other members must have the same kind and
 * size and are copied.
 *
 * @throws MapError STRUCT_OPS_MISMATCH naming the member and both sides when they do not fit.
 */
export function layoutStructOps(spec: MapSpec, so: StructOpsSpec, kernel: StructOpsKernelType): StructOpsLayout {
  const kbtf = kernel.btf;
  const kt = kbtf.type(kernel.typeId) as BtfComposite;
  const op = "lay out struct_ops value";
  const mismatch = (why: string) => new MapError("STRUCT_OPS_MISMATCH", spec.name, op, `${why} (struct ${kt.name} of ${kernel.module})`);
  const value = new Uint8Array(kernel.valueSize);
  const slots: StructOpsSlot[] = [];
  const fields: StructOpsField[] = [];
  for (const m of so.members) {
    const bytes = so.data.subarray(m.offset, m.offset + m.size);
    const ki = kt.members.findIndex((k) => k.name === m.name);
    const km = kt.members[ki];
    if (!km) {
      if (m.program || !isZero(bytes)) throw mismatch(`member "${m.name}" is set in the object but the kernel's struct has no such member`);
      continue;
    }
    if (km.bitfieldSize) throw mismatch(`member "${m.name}" is a bitfield in the kernel, which struct_ops maps do not support`);
    const kmt = kbtf.type(kbtf.resolve(km.type));
    const valueOffset = kernel.dataOffset + km.bitOffset / 8;
    const objKind = m.kind === "data" ? undefined : "ptr";
    if (objKind === "ptr" || kmt.kind === "ptr") {
      if (objKind !== "ptr" || kmt.kind !== "ptr") {
        throw mismatch(`member "${m.name}" is a ${m.kind === "data" ? "data member" : m.kind === "func" ? "function pointer" : "pointer"} in the object but a ${describeKind(kbtf, km.type)} in the kernel`);
      }
      if (!m.program) continue;
      if (kbtf.type(kbtf.resolve(kmt.type)).kind !== "func_proto") throw mismatch(`member "${m.name}" points at program "${m.program}" but is not a function pointer in the kernel`);
      slots.push({ member: m.name, program: m.program, memberIndex: ki, valueOffset });
      continue;
    }
    let ksize: number;
    try {
      ksize = kbtf.sizeof(km.type);
    } catch {
      ksize = -1;
    }
    if (ksize !== m.size) throw mismatch(`member "${m.name}" is ${m.size} bytes in the object but ${ksize < 0 ? "of no fixed size" : `${ksize} bytes`} in the kernel`);
    value.set(bytes, valueOffset);
    const elem = kmt.kind === "array" ? kbtf.type(kbtf.resolve(kmt.elemType)) : undefined;
    const kind: StructOpsField["kind"] = kmt.kind === "int" || kmt.kind === "enum" ? "int" : elem?.kind === "int" && elem.size === 1 ? "chars" : "other";
    fields.push({ name: m.name, valueOffset, size: ksize, kind });
  }
  return { kernel, value, slots, fields };
}

/** The fd of the BTF object of kernel module `name` (for struct_ops types defined by modules). */
function moduleBtfFd(name: string, mapName: string): Fd {
  for (const id of objectIds("btf")) {
    let fd: Fd;
    try {
      fd = getFdById("btf", id);
    } catch {
      continue;
    }
    try {
      const info = btfInfo(fd);
      if (info.kernelBtf && info.name === name) return fd;
    } catch {
      // gone meanwhile: keep looking
    }
    fd.close();
  }
  throw new MissingFeatureError("STRUCT_OPS_TYPE_NOT_FOUND", `create struct_ops map "${mapName}": the BTF object of module "${name}" is not loaded`);
}

/**
 * Create the STRUCT_OPS map for `spec` (read from a `.struct_ops` / `.struct_ops.link` variable) with
 * the object's BTF loaded as `btfFd` (and, with `token`, through that BPF token: BPF_F_TOKEN_FD). Nothing
 * is registered yet: the collection fills in the program fds after loading them, and
 * {@link StructOpsMap.attach} registers the struct.
 *
 * @throws MissingFeatureError STRUCT_OPS_TYPE_NOT_FOUND when the kernel has no such struct_ops type,
 *   STRUCT_OPS_LINK_UNSUPPORTED for `.struct_ops.link` before Linux 6.4; MapError STRUCT_OPS_MISMATCH;
 *   TokenError / PermissionError when the kernel refuses the map although a token was given.
 */
export function createStructOpsMap(spec: MapSpec, btfFd: Fd | undefined, token?: BpfToken): StructOpsMap {
  const so = spec.structOps;
  if (!so) throw new MapError("BAD_MAP_TYPE", spec.name, "create struct_ops map", "the spec has no struct_ops description (it was not read from a .struct_ops section)");
  const kernel = findStructOpsType(so.typeName);
  if (!kernel) {
    const name = essentialName(so.typeName);
    throw new MissingFeatureError("STRUCT_OPS_TYPE_NOT_FOUND", `create struct_ops map "${spec.name}": the kernel's BTF has no struct ${STRUCT_OPS_VALUE_PREFIX}${name}, so struct ${name} is not a struct_ops type this kernel (${kernelVersion().release}) knows`);
  }
  if (!btfFd) throw new MapError("STRUCT_OPS_MISMATCH", spec.name, "create struct_ops map", "the kernel needs the object's BTF to create a struct_ops map, and the object has none");
  const layout = layoutStructOps(spec, so, kernel);
  const modFd = kernel.module === "vmlinux" ? undefined : moduleBtfFd(kernel.module, spec.name);
  let fd: Fd;
  const context = `create struct_ops map "${spec.name}" (struct ${kernel.btf.nameOf(kernel.typeId)})`;
  try {
    fd = mapCreate({
      context,
      mapType: MAP_TYPE.STRUCT_OPS,
      keySize: 4,
      valueSize: kernel.valueSize,
      maxEntries: 1,
      mapFlags: spec.flags | (modFd ? MAP_FLAGS.VTYPE_BTF_OBJ_FD : 0) | (token ? MAP_FLAGS.TOKEN_FD : 0),
      mapName: spec.kernelName,
      btfFd: btfFd.value,
      btfVmlinuxValueTypeId: kernel.valueTypeId,
      ...(modFd ? { valueTypeBtfObjFd: modFd.value } : {}),
      ...(token ? { mapTokenFd: token.fd.value } : {}),
    });
  } catch (e) {
    modFd?.close();
    if (token && e instanceof TsbpfError && (e.code === "EPERM" || e.code === "EACCES")) {
      throw tokenRefusal(token, { cmd: "MAP_CREATE", map: "STRUCT_OPS", context, needs: "CAP_BPF" }, e);
    }
    const v = kernelVersion();
    if (e instanceof SyscallError && e.code === "EINVAL" && so.link && v.major * 100 + v.minor < 604) {
      throw new MissingFeatureError("STRUCT_OPS_LINK_UNSUPPORTED", `create struct_ops map "${spec.name}": SEC(".struct_ops.link") needs Linux 6.4 or later (struct_ops links); this kernel is ${v.release} — use SEC(".struct_ops"), registered by a map update`, { cause: e });
    }
    throw e;
  }
  return new StructOpsMap(fd, { ...spec, valueSize: kernel.valueSize }, so, layout, modFd);
}

/**
 * Program load targets of every struct_ops map among `maps`: each program gets the kernel struct's BTF
 * id and its member index. A program may serve several maps only for the same member of the same type.
 */
export function structOpsProgramTargets(maps: Iterable<BpfMap>): Map<string, StructOpsProgramTarget> {
  const out = new Map<string, StructOpsProgramTarget>();
  for (const m of maps) {
    if (!(m instanceof StructOpsMap)) continue;
    for (const s of m.layout.slots) {
      const usedBy = `${m.name}.${s.member}`;
      const t: StructOpsProgramTarget = { btfId: m.layout.kernel.typeId, memberIndex: s.memberIndex, usedBy, ...(m.moduleBtfFd ? { btfObjFd: m.moduleBtfFd } : {}) };
      const prev = out.get(s.program);
      if (prev && (prev.btfId !== t.btfId || prev.memberIndex !== t.memberIndex)) {
        throw new MapError("STRUCT_OPS_MISMATCH", m.name, "lay out struct_ops value", `program "${s.program}" implements ${usedBy} and ${prev.usedBy}; a struct_ops program serves one member of one struct_ops type`);
      }
      if (!prev) out.set(s.program, t);
    }
  }
  return out;
}

/** A value for a data member: an integer, a string (char arrays), or raw bytes. */
export type StructOpsFieldValue = number | bigint | string | Uint8Array;

/**
 * A STRUCT_OPS map: one kernel struct (e.g. `tcp_congestion_ops`) implemented by BPF programs.
 * `attach()` registers it with the kernel subsystem — by a map update for `SEC(".struct_ops")`
 * variables, through a BPF link for `SEC(".struct_ops.link")` ones — and the returned link
 * unregisters it on `detach()` / `close()`. Closing the map (or its collection) closes its links.
 *
 * @example
 * using coll = loadCollection(readCollectionSpec(bytes));
 * using reg = coll.structOps("tsbpf_cc").attach();   // "tsbpf_cc" is now a TCP congestion control
 */
export class StructOpsMap extends BpfMap {
  readonly structOps: StructOpsSpec;
  readonly layout: StructOpsLayout;
  /** BTF object of the module defining the type (undefined for vmlinux types). */
  readonly moduleBtfFd: Fd | undefined;
  readonly #value: Uint8Array;
  readonly #links = new Set<StructOpsLink>();
  #missing: string[] = [];
  #filled = false;
  /** Plain (non-link) maps register once: the kernel refuses a second update after unregistering. */
  #spent = false;

  constructor(fd: Fd, spec: MapSpec, so: StructOpsSpec, layout: StructOpsLayout, moduleBtfFd?: Fd) {
    super(fd, spec, undefined);
    this.structOps = so;
    this.layout = layout;
    this.moduleBtfFd = moduleBtfFd;
    this.#value = layout.value.slice();
  }

  /** The kernel struct this map implements, e.g. `tcp_congestion_ops`. */
  get kernelType(): string {
    return this.layout.kernel.btf.nameOf(this.layout.kernel.typeId);
  }

  /** Registered through a BPF link (`.struct_ops.link`) rather than by a map update. */
  get isLink(): boolean {
    return this.structOps.link;
  }

  /** Function-pointer members and the programs they point at, by member name. */
  get programs(): ReadonlyMap<string, string> {
    return new Map(this.layout.slots.map((s) => [s.member, s.program]));
  }

  /** Open links (registrations) made by attach(). */
  get links(): readonly StructOpsLink[] {
    return [...this.#links];
  }

  /** A copy of the value attach() writes (kernel layout: the wrapper's common part, then the struct). */
  value(): Uint8Array {
    return this.#value.slice();
  }

  /**
   * Put program fds into the value; `fdOf` returns undefined for a program that was not loaded
   * (attach() then refuses). Called by the collection after loading the programs.
   */
  fillPrograms(fdOf: (program: string) => Fd | undefined): void {
    const dv = new DataView(this.#value.buffer, this.#value.byteOffset, this.#value.byteLength);
    this.#missing = [];
    for (const s of this.layout.slots) {
      const fd = fdOf(s.program);
      if (!fd) {
        this.#missing.push(`${s.member} → ${s.program}`);
        dv.setBigUint64(s.valueOffset, 0n, true);
      } else {
        dv.setBigUint64(s.valueOffset, BigInt(fd.value), true);
      }
    }
    this.#filled = true;
  }

  #field(name: string, op: string): StructOpsField {
    const f = this.layout.fields.find((x) => x.name === name);
    if (!f) {
      const why = this.layout.slots.some((s) => s.member === name) ? "it is a function pointer (set by the object)" : `it is not a data member the value carries (data members: ${this.layout.fields.map((x) => x.name).join(", ") || "none"})`;
      throw new MapError("STRUCT_OPS_NO_MEMBER", this.name, op, `member "${name}": ${why}`);
    }
    return f;
  }

  /** A data member of the value: integers as number (bigint for 8 bytes), char arrays as strings, else bytes. */
  getField(name: string): number | bigint | string | Uint8Array {
    const f = this.#field(name, "read struct_ops member");
    const bytes = this.#value.subarray(f.valueOffset, f.valueOffset + f.size);
    if (f.kind === "chars") {
      const end = bytes.indexOf(0);
      return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
    }
    if (f.kind === "int" && [1, 2, 4, 8].includes(f.size)) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, f.size);
      return f.size === 8 ? dv.getBigUint64(0, true) : f.size === 4 ? dv.getUint32(0, true) : f.size === 2 ? dv.getUint16(0, true) : dv.getUint8(0);
    }
    return bytes.slice();
  }

  /**
   * Change a data member before attach() (libbpf lets a skeleton do the same): e.g. the `name` of a
   * TCP congestion control. Strings must fit with their NUL; integers must fit the member.
   */
  setField(name: string, v: StructOpsFieldValue): void {
    const op = "set struct_ops member";
    const f = this.#field(name, op);
    if (this.#registered()) throw new MapError("STRUCT_OPS_ATTACHED", this.name, op, `member "${name}": the struct is registered already; set members before attach()`);
    const out = new Uint8Array(f.size);
    if (typeof v === "string") {
      const b = new TextEncoder().encode(v);
      if (f.kind !== "chars" || b.length >= f.size) throw new MapError("STRUCT_OPS_BAD_VALUE", this.name, op, `member "${name}": ${f.kind !== "chars" ? "not a char array" : `"${v}" needs ${b.length + 1} bytes with its NUL, the member has ${f.size}`}`);
      out.set(b);
    } else if (v instanceof Uint8Array) {
      if (v.length > f.size) throw new MapError("STRUCT_OPS_BAD_VALUE", this.name, op, `member "${name}": ${v.length} bytes do not fit in ${f.size}`);
      out.set(v);
    } else {
      if (f.kind !== "int" || ![1, 2, 4, 8].includes(f.size)) throw new MapError("STRUCT_OPS_BAD_VALUE", this.name, op, `member "${name}" is not an integer`);
      const bits = BigInt(f.size * 8);
      let big: bigint;
      try {
        big = BigInt(v);
      } catch {
        throw new MapError("STRUCT_OPS_BAD_VALUE", this.name, op, `member "${name}": ${String(v)} is not an integer`);
      }
      if (big < -(1n << (bits - 1n)) || big >= 1n << bits) throw new MapError("STRUCT_OPS_BAD_VALUE", this.name, op, `member "${name}": ${String(v)} does not fit in ${f.size} bytes`);
      const tmp = new Uint8Array(8);
      new DataView(tmp.buffer).setBigUint64(0, BigInt.asUintN(64, big), true);
      out.set(tmp.subarray(0, f.size));
    }
    this.#value.set(out, f.valueOffset);
  }

  /**
   * Write the value (element 0). For link maps the kernel accepts it once; a repeat (EBUSY) means it
   * already holds this value and is fine. For plain maps this is the registration.
   * @internal used by attach() and StructOpsLink.update()
   */
  writeValue(op: string): void {
    if (!this.#filled) throw new MapError("STRUCT_OPS_NOT_READY", this.name, op, "its programs were not loaded (struct_ops maps come from loadCollection)");
    if (this.#missing.length) throw new MapError("STRUCT_OPS_NOT_READY", this.name, op, `members point at programs that were not loaded: ${this.#missing.join(", ")}`);
    try {
      this.op(op, () => mapUpdate(this.fd, new Uint8Array(4), this.#value));
    } catch (e) {
      if (this.isLink && e instanceof SyscallError && e.code === "EBUSY") return;
      throw e;
    }
  }

  /**
   * Register the struct with its kernel subsystem. Plain maps: BPF_MAP_UPDATE_ELEM of element 0 (the
   * registration outlives the process unless the link is closed); link maps: the value is written and
   * a BPF_LINK_CREATE (attach type BPF_STRUCT_OPS) link made, which unregisters when closed.
   *
   * @throws MapSyscallError from the kernel (e.g. EEXIST: a congestion control of that name exists),
   *   MapError STRUCT_OPS_SPENT when a plain map registers again after unregistering.
   */
  attach(): StructOpsLink {
    const op = this.isLink ? "attach struct_ops" : "register struct_ops";
    if (this.closed) throw new MapError("MAP_CLOSED", this.name, op, "the map was closed");
    if (!this.isLink && this.#spent) {
      throw new MapError("STRUCT_OPS_SPENT", this.name, op, "a SEC(\".struct_ops\") map registers once: after unregistering, the kernel refuses its value again (load the object again, or declare the variable in SEC(\".struct_ops.link\") to attach and detach at will)");
    }
    if (!this.isLink && this.#registered()) throw new MapError("STRUCT_OPS_ATTACHED", this.name, op, "it is registered already");
    this.writeValue(op);
    const link = StructOpsLink.create(this);
    this.trackLink(link);
    return link;
  }

  #registered(): boolean {
    for (const l of this.#links) if (!l.detached) return true;
    return false;
  }

  /** @internal StructOpsLink: the links of this map are closed with it. */
  trackLink(link: StructOpsLink): void {
    this.#links.add(link);
  }

  /** @internal StructOpsLink: stop tracking (closed, or moved to another map by update()). */
  untrackLink(link: StructOpsLink): void {
    this.#links.delete(link);
  }

  /** @internal StructOpsLink: a plain map was unregistered (element 0 deleted). */
  markSpent(): void {
    this.#spent = true;
  }

  /** Close the registrations made through this map, then the map. */
  override close(): void {
    for (const l of [...this.#links]) {
      try {
        l.close();
      } catch {
        // already unregistered by the kernel (e.g. the subsystem went away): nothing left to undo
      }
    }
    this.#links.clear();
    this.moduleBtfFd?.close();
    super.close();
  }
}
