// Cgroup attachment for every cgroup hook (skb, sock, sock_addr, sock_ops, device, sysctl, sockopt,
// lsm_cgroup): a BPF link on the cgroup fd, or BPF_PROG_ATTACH in multi/override/exclusive mode.

import { MissingFeatureError, SyscallError, TsbpfError } from "../../errors.js";
import type { AttachTypeName } from "../../object/sections.js";
import { linkCreate, progAttach, progDetach, progInfo, progQuery } from "../../sys/bpf.js";
import { ATTACH_FLAGS, ATTACH_TYPE, LINK_TYPE, QUERY_FLAGS } from "../../sys/constants.js";
import { Fd, type FdLike } from "../../sys/fd.js";
import { kernelAtLeast } from "../../sys/system.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import { Link } from "./link.js";
import { resolveCgroup } from "./targets.js";
import { mprogRelative, type MprogAnchor, type MprogOrder } from "./tcx.js";

/**
 * How to attach to a cgroup. "link": a BPF link (5.7+; stacks like "multi", detaches when closed);
 * "multi" / "override" / "exclusive": BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI, BPF_F_ALLOW_OVERRIDE
 * or no flag (only one program on the cgroup; a second attach fails).
 */
export type CgroupMode = "link" | "multi" | "override" | "exclusive";

/**
 * Options of {@link attachCgroup}. `before`/`after`/`expectedRevision` order the program among the
 * others of the hook (kernel 6.16+), as for TCX: a link relative to another link (`Link`, `{ linkId }`),
 * a "multi" attachment relative to another program attached without a link (`Program`, `Fd`,
 * `{ progId }`, or its handle); `"all"` means first/last.
 */
export interface CgroupAttachOptions extends MprogOrder {
  /** Default "link" (falls back to "multi" on kernels without cgroup links). */
  readonly mode?: CgroupMode;
  /** The hook, when the section does not say (e.g. `cgroup/skb`): `CGROUP_INET_EGRESS`. */
  readonly attachType?: AttachTypeName;
  /** "multi" mode: atomically replace this attached program (BPF_F_REPLACE). */
  readonly replace?: Program | FdLike;
}

const MODE_FLAGS: Record<Exclude<CgroupMode, "link">, number> = {
  multi: ATTACH_FLAGS.ALLOW_MULTI,
  override: ATTACH_FLAGS.ALLOW_OVERRIDE,
  exclusive: 0,
};

function attachTypeOf(prog: Program, opts: CgroupAttachOptions): AttachTypeName {
  const name = opts.attachType ?? prog.spec.expectedAttachType;
  if (!name) {
    throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}" (section "${prog.spec.sectionName}") to a cgroup: the section names no hook; pass { cgroupAttachType: "CGROUP_INET_INGRESS" } or similar`);
  }
  if (!Object.hasOwn(ATTACH_TYPE, name)) throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to a cgroup: unknown attach type "${name}"`);
  return name;
}

/**
 * The kernel places a cgroup link only relative to another link, and a BPF_PROG_ATTACH program only
 * relative to another program so attached. Check that up front (the kernel just says EINVAL), and let
 * a handle of a "multi" attachment stand for its program.
 */
function cgroupAnchors(opts: CgroupAttachOptions, asLink: boolean, context: string): MprogOrder {
  const check = (anchor: MprogAnchor | undefined): MprogAnchor | undefined => {
    if (anchor === undefined || anchor === "all") return anchor;
    const isLink = (anchor instanceof Link && anchor.isBpfLink) || (typeof anchor === "object" && "linkId" in anchor);
    if (asLink && !isLink) {
      throw new TsbpfError("INVALID_ARGUMENT", `${context}: a cgroup link is placed before/after another link (a Link or { linkId }), not a program`);
    }
    if (!asLink && isLink) {
      throw new TsbpfError("INVALID_ARGUMENT", `${context}: a "multi" attachment is placed before/after another program attached without a link, not a link`);
    }
    // An AttachmentLink holds a duplicate of its program's fd: that program is the anchor.
    return anchor instanceof Link && !anchor.isBpfLink ? anchor.fd : anchor;
  };
  const before = check(opts.before);
  const after = check(opts.after);
  return {
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
    ...(opts.expectedRevision !== undefined ? { expectedRevision: opts.expectedRevision } : {}),
  };
}

/** Kernels before 6.16 know no cgroup ordering: they answer EINVAL to the before/after flags. */
function orderingError(e: unknown, ordered: boolean, context: string): unknown {
  if (ordered && e instanceof SyscallError && e.code === "EINVAL" && !kernelAtLeast(6, 16)) {
    return new MissingFeatureError("CGROUP_ORDERING_UNSUPPORTED", `${context}: ordering cgroup programs (before/after/expectedRevision) needs Linux 6.16+`, { cause: e });
  }
  return e;
}

/**
 * Attach a cgroup program to a cgroup (an fd, an absolute path, or a path under the cgroup2 mount).
 *
 * @example
 * using link = attachCgroup(prog, "/sys/fs/cgroup/my-service");          // BPF link
 * using only = attachCgroup(prog2, cgFd, { mode: "exclusive" });         // BPF_PROG_ATTACH
 * using first = attachCgroup(prog3, "/sys/fs/cgroup/my-service", { before: "all" });  // 6.16+
 */
export function attachCgroup(prog: Program, cgroup: string | FdLike, opts: CgroupAttachOptions = {}): Link {
  const mode = opts.mode ?? "link";
  if (mode !== "link" && !Object.hasOwn(MODE_FLAGS, mode)) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to a cgroup: mode "${String(mode)}" is not one of link, multi, override, exclusive`);
  }
  const t = prog.spec.type;
  if (!t.startsWith("CGROUP_") && t !== "SOCK_OPS" && t !== "LSM") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to a cgroup: it is a ${t} program, not a cgroup program (CGROUP_*, SOCK_OPS, LSM)`);
  }
  const typeName = attachTypeOf(prog, opts);
  const attachType = ATTACH_TYPE[typeName];
  const ordered = opts.before !== undefined || opts.after !== undefined || opts.expectedRevision !== undefined;
  if (ordered && (mode === "override" || mode === "exclusive")) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to a cgroup: before/after/expectedRevision order programs of a "link" or "multi" hook, not "${mode}"`);
  }
  const target = resolveCgroup(cgroup);
  const description = `cgroup ${typeName.toLowerCase()} on ${target.label}`;
  const context = `attach program "${prog.name}" to ${description}`;
  const order = mprogRelative(cgroupAnchors(opts, mode === "link" && opts.replace === undefined, context), context);
  try {
    if (mode === "link" && opts.replace === undefined) {
      try {
        // link_create.cgroup has the layout of link_create.tcx (relative fd/id, expected revision).
        const fd = linkCreate({
          context, progFd: prog.fd.value, target: target.fd, attachType, flags: order.flags,
          ...(ordered ? { extra: { kind: "tcx" as const, relativeFdOrId: order.relative, ...(opts.expectedRevision !== undefined ? { expectedRevision: opts.expectedRevision } : {}) } } : {}),
        });
        return new Link(fd, description);
      } catch (e) {
        // Kernels before 5.7 have no cgroup links: attach in multi mode, which stacks the same way.
        if (!(e instanceof SyscallError) || e.code !== "EINVAL" || kernelAtLeast(5, 7)) throw orderingError(e, ordered, context);
      }
    }
    const flags = (mode === "link" ? ATTACH_FLAGS.ALLOW_MULTI : MODE_FLAGS[mode]) | (opts.replace !== undefined ? ATTACH_FLAGS.REPLACE : 0) | order.flags;
    const replaceFd = opts.replace === undefined ? undefined : typeof opts.replace === "object" && "spec" in opts.replace ? opts.replace.fd.value : opts.replace instanceof Fd ? opts.replace.value : opts.replace;
    try {
      withOp(context, () => progAttach({
        target: target.fd, attachBpfFd: prog.fd.value, attachType, attachFlags: flags,
        ...(replaceFd !== undefined ? { replaceBpfFd: replaceFd } : {}),
        ...(ordered ? { relativeFdOrId: order.relative } : {}),
        ...(opts.expectedRevision !== undefined ? { expectedRevision: opts.expectedRevision } : {}),
      }));
    } catch (e) {
      throw orderingError(e, ordered, context);
    }
    // Keep the cgroup open for the detach.
    const cg = Fd.dupOf(target.fd, `cgroup ${target.label}`);
    let current = prog.fd.dup();
    return new AttachmentLink(prog.fd, `${description} (${mode === "link" ? "multi" : mode})`, {
      detach: () => {
        try {
          withOp(`detach ${description}`, () => progDetach({ target: cg.value, attachBpfFd: current.value, attachType }));
        } catch (e) {
          if (!(e instanceof SyscallError) || e.code !== "ENOENT") throw e;
        } finally {
          current.close();
          cg.close();
        }
      },
      update: (newProg) => {
        if (mode !== "multi" && mode !== "link") {
          withOp(`update ${description}`, () => progAttach({ target: cg.value, attachBpfFd: newProg.value, attachType, attachFlags: MODE_FLAGS[mode] }));
        } else {
          withOp(`update ${description}`, () => progAttach({
            target: cg.value, attachBpfFd: newProg.value, attachType,
            attachFlags: ATTACH_FLAGS.ALLOW_MULTI | ATTACH_FLAGS.REPLACE, replaceBpfFd: current.value,
          }));
        }
        current.close();
        current = newProg.dup();
      },
      info: () => ({ type: LINK_TYPE.CGROUP, id: 0, progId: progInfo(current).id, attachType }),
    });
  } finally {
    target.release();
  }
}

/**
 * Ids of the programs attached to a cgroup hook in run order (`effective`: including those inherited
 * from ancestors), and the hook's revision for `expectedRevision` (6.16+; 0 before).
 *
 * @example
 * cgroupPrograms("/sys/fs/cgroup/my-service", "CGROUP_INET4_CONNECT").progIds
 */
export function cgroupPrograms(cgroup: string | FdLike, attachType: AttachTypeName, effective = false): { progIds: number[]; attachFlags: number; revision: bigint } {
  if (!Object.hasOwn(ATTACH_TYPE, attachType)) throw new TsbpfError("INVALID_ARGUMENT", `query cgroup programs: unknown attach type "${attachType}"`);
  const target = resolveCgroup(cgroup);
  try {
    const q = withOp(`query ${attachType} programs of cgroup ${target.label}`,
      () => progQuery(target.fd, ATTACH_TYPE[attachType], effective ? QUERY_FLAGS.EFFECTIVE : 0));
    return { progIds: q.progIds, attachFlags: q.attachFlags, revision: q.revision };
  } finally {
    target.release();
  }
}
