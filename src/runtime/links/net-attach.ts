// Dispatch of Program.attach() for the network, cgroup, socket, iterator, perf_event, netfilter and
// lwt hooks: maps the section's attach kind and the caller's options to the per-hook functions.

import { TsbpfError } from "../../errors.js";
import type { Program } from "../program.js";
import type { AttachOptions } from "./attach.js";
import { attachCgroup } from "./cgroup.js";
import { attachIter } from "./iter.js";
import type { Link } from "./link.js";
import { attachLwt } from "./lwt.js";
import { attachNetfilter } from "./netfilter.js";
import { attachNetns } from "./netns.js";
import { attachPerfEvent } from "./sampling.js";
import { attachReuseport, attachSocketFilter } from "./socket.js";
import { attachSockmap } from "./sockmap.js";

function need(prog: Program, what: string): never {
  throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}" (section "${prog.spec.sectionName}"): needs ${what}`);
}

/** Attach a network/cgroup/socket/iter/perf_event/netfilter/lwt program; undefined for other kinds. */
export function attachNetHook(prog: Program, opts: AttachOptions): Link | undefined {
  const spec = prog.spec;
  if (spec.type === "LWT_IN" || spec.type === "LWT_OUT" || spec.type === "LWT_XMIT") {
    if (opts.route === undefined || opts.interface === undefined) need(prog, `{ route: "10.1.0.0/16", interface: "eth0" }`);
    return attachLwt(prog, { route: opts.route, interface: opts.interface, ...(opts.replace === true ? { replace: true } : {}) });
  }
  switch (spec.attach) {
    case "cgroup": {
      if (opts.cgroup === undefined) need(prog, `{ cgroup: "/sys/fs/cgroup/..." }`);
      const fromDirection = spec.type === "CGROUP_SKB" && !spec.expectedAttachType && opts.direction
        ? (opts.direction === "ingress" ? "CGROUP_INET_INGRESS" : "CGROUP_INET_EGRESS") : undefined;
      const attachType = opts.attachType ?? fromDirection;
      return attachCgroup(prog, opts.cgroup, {
        ...(opts.cgroupMode ? { mode: opts.cgroupMode } : {}),
        ...(attachType ? { attachType } : {}),
        ...(opts.replace !== undefined && typeof opts.replace !== "boolean" ? { replace: opts.replace } : {}),
      });
    }
    case "sk":
      switch (spec.type) {
        case "SOCKET_FILTER":
          if (opts.socket === undefined) need(prog, "{ socket } (an fd or a bound node socket)");
          return attachSocketFilter(prog, opts.socket);
        case "SK_REUSEPORT":
          if (opts.socket === undefined) need(prog, "{ socket } (a socket of the SO_REUSEPORT group)");
          return attachReuseport(prog, opts.socket);
        default:
          if (opts.map === undefined) need(prog, "{ map } (a SOCKMAP or SOCKHASH)");
          return attachSockmap(prog, opts.map, opts.skb ? { skb: opts.skb } : {});
      }
    case "sk_lookup":
    case "flow_dissector":
      return attachNetns(prog, opts.netns);
    case "iter":
      return attachIter(prog, {
        ...opts.iter,
        ...(opts.map !== undefined ? { map: opts.map } : {}),
        ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
        ...(opts.cgroup !== undefined ? { cgroup: opts.cgroup } : {}),
      });
    case "perf_event":
      return attachPerfEvent(prog, {
        ...opts.perfEvent,
        ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
        ...(opts.cookie !== undefined ? { cookie: opts.cookie } : {}),
      });
    case "netfilter":
      if (opts.netfilter === undefined) need(prog, `{ netfilter: { family: "ipv4", hook: "input", priority: 0 } }`);
      return attachNetfilter(prog, opts.netfilter);
    default:
      return undefined;
  }
}
