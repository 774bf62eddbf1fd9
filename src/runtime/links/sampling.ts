// perf_event programs: sampling events opened on every CPU (software cpu-clock at a frequency by
// default, or any perf event type/config), each bound to the program by a BPF perf_event link.

import { SyscallError, TsbpfError } from "../../errors.js";
import { linkCreate, linkDetach, linkUpdate, perfEventOpen } from "../../sys/bpf.js";
import { ATTACH_TYPE, PERF_COUNT_SW, PERF_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { perfEventEnable, perfEventSetBpf } from "../../sys/perf.js";
import { onlineCpus } from "../../sys/system.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";

/** Options of {@link attachPerfEvent}. */
export interface PerfEventAttachOptions {
  /** Samples per second per CPU (default 99 when no period is given). */
  readonly frequency?: number;
  /** Sample every `period` events instead of at a frequency. */
  readonly period?: number | bigint;
  /** perf event type and config (default: PERF_TYPE_SOFTWARE / PERF_COUNT_SW_CPU_CLOCK). */
  readonly type?: number;
  readonly config?: number | bigint;
  /** CPUs to sample on (default: every online CPU). */
  readonly cpus?: readonly number[];
  /** Sample only this process (default: every process, -1). With a pid, one event on any CPU is opened. */
  readonly pid?: number;
  /** bpf_get_attach_cookie value. */
  readonly cookie?: bigint;
}

/**
 * The attachments of one perf_event program on several CPUs, handled as one link: close/detach/update
 * act on all of them. `links` are the per-CPU BPF link fds (or perf fds on kernels without them).
 */
export class PerfEventLinks extends Link {
  /** CPU of each attachment (-1: any CPU, for a per-process event). */
  readonly cpus: readonly number[];
  readonly #links: readonly Fd[];

  constructor(links: Fd[], perfFds: Fd[], cpus: number[], description: string, isBpfLink: boolean) {
    super(links[0], description, { isBpfLink, extra: [...links.slice(1), ...(isBpfLink ? perfFds : [])] });
    this.cpus = cpus;
    this.#links = links;
  }

  override update(newProgFd: Fd): void {
    if (!this.isBpfLink) return super.update(newProgFd);
    for (const l of this.#links) withOp(`update ${this.description}`, () => linkUpdate(l, newProgFd));
  }

  override detach(): void {
    if (!this.isBpfLink) return super.detach();
    for (const l of this.#links) withOp(`detach ${this.description}`, () => linkDetach(l));
  }

  override pin(path: string): void {
    throw new TsbpfError("NOT_A_LINK", `pin ${this.description} at ${path}: a group of per-CPU links cannot be pinned as one`);
  }
}

/**
 * Attach a PERF_EVENT program to sampling events: by default a software cpu-clock event at 99 Hz on
 * every online CPU.
 *
 * @example
 * using sampler = attachPerfEvent(coll.program("on_sample"), { frequency: 1000 });
 */
export function attachPerfEvent(prog: Program, opts: PerfEventAttachOptions = {}): PerfEventLinks {
  if (prog.spec.type !== "PERF_EVENT") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to perf events: it is a ${prog.spec.type} program, not PERF_EVENT`);
  }
  if (opts.frequency !== undefined && opts.period !== undefined) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to perf events: give frequency or period, not both`);
  }
  if (opts.frequency !== undefined && (!Number.isInteger(opts.frequency) || opts.frequency <= 0)) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to perf events: frequency must be a positive integer, not ${opts.frequency}`);
  }
  const type = opts.type ?? PERF_TYPE.SOFTWARE;
  const config = opts.config ?? PERF_COUNT_SW.CPU_CLOCK;
  const pid = opts.pid ?? -1;
  const cpus = pid >= 0 ? [-1] : [...(opts.cpus ?? onlineCpus())];
  if (cpus.length === 0) throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to perf events: no CPUs given`);
  const rate = opts.period !== undefined ? `every ${opts.period} events` : `${opts.frequency ?? 99} Hz`;
  const description = `perf_event ${type === PERF_TYPE.SOFTWARE && config === PERF_COUNT_SW.CPU_CLOCK ? "cpu-clock" : `type ${type} config ${config}`} at ${rate} on ${pid >= 0 ? `pid ${pid}` : `${cpus.length} CPU(s)`}`;
  const context = `attach program "${prog.name}" to ${description}`;
  const perfFds: Fd[] = [];
  const links: Fd[] = [];
  let useLinks = true;
  try {
    for (const cpu of cpus) {
      const perf = withOp(`${context}: open event on CPU ${cpu}`, () => perfEventOpen({
        type, config,
        ...(opts.period !== undefined ? { samplePeriod: opts.period } : { sampleFreq: opts.frequency ?? 99 }),
      }, pid, cpu));
      perfFds.push(perf);
      if (useLinks) {
        try {
          links.push(linkCreate({
            context, progFd: prog.fd.value, target: perf.value, attachType: ATTACH_TYPE.PERF_EVENT,
            ...(opts.cookie !== undefined ? { extra: { kind: "perf_event", bpfCookie: opts.cookie } } : {}),
          }));
          continue;
        } catch (e) {
          // Before 5.15 there are no perf_event links: bind with an ioctl instead.
          if (!(e instanceof SyscallError) || e.code !== "EINVAL" || links.length > 0 || opts.cookie !== undefined) throw e;
          useLinks = false;
        }
      }
      withOp(context, () => {
        perfEventSetBpf(perf, prog.fd);
        perfEventEnable(perf);
      });
    }
  } catch (e) {
    for (const fd of [...links, ...perfFds]) fd.close();
    throw e;
  }
  return useLinks
    ? new PerfEventLinks(links, perfFds, cpus, description, true)
    : new PerfEventLinks(perfFds, [], cpus, description, false);
}
