// Socket-level attachment through socket options: socket filters (SO_ATTACH_BPF) and reuseport
// selectors (SO_ATTACH_REUSEPORT_EBPF); closing the handle detaches with the matching option.

import { SyscallError, TsbpfError } from "../../errors.js";
import { LINK_TYPE } from "../../sys/constants.js";
import { progInfo } from "../../sys/bpf.js";
import { sys } from "../../sys/seam.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import type { Link } from "./link.js";
import { socketFd, type SocketLike } from "./targets.js";

/** SOL_SOCKET options (asm-generic/socket.h; x86, arm64 and riscv share these values). */
export const SOCKOPT = {
  SOL_SOCKET: 1,
  SO_DETACH_FILTER: 27,
  SO_ATTACH_BPF: 50,
  SO_ATTACH_REUSEPORT_EBPF: 52,
  SO_DETACH_REUSEPORT_BPF: 68,
  SO_REUSEPORT: 15,
} as const;

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function attachBySockopt(
  prog: Program, sock: SocketLike, kind: "socket filter" | "reuseport selector", attachOpt: number, detachOpt: number,
): Link {
  const fd = socketFd(sock, `attach program "${prog.name}" as ${kind}`);
  const description = `${kind} on socket fd ${fd}`;
  withOp(`attach program "${prog.name}" as ${description}`,
    () => sys().setsockopt(fd, SOCKOPT.SOL_SOCKET, attachOpt, int32(prog.fd.value)));
  let current = prog.fd.dup();
  return new AttachmentLink(prog.fd, description, {
    detach: () => {
      try {
        withOp(`detach ${description}`, () => sys().setsockopt(fd, SOCKOPT.SOL_SOCKET, detachOpt, int32(0)));
      } catch (e) {
        // The socket was closed, or something else detached it already.
        if (!(e instanceof SyscallError) || !["EBADF", "ENOTSOCK", "ENOENT"].includes(e.code)) throw e;
      } finally {
        current.close();
      }
    },
    update: (newProg) => {
      withOp(`update ${description}`, () => sys().setsockopt(fd, SOCKOPT.SOL_SOCKET, attachOpt, int32(newProg.value)));
      current.close();
      current = newProg.dup();
    },
    info: () => ({ type: LINK_TYPE.UNSPEC, id: 0, progId: progInfo(current).id }),
  });
}

/**
 * Attach a SOCKET_FILTER program to a socket (SO_ATTACH_BPF): it sees every packet the socket
 * receives and returns how many bytes to keep (0 drops the packet). `update()` swaps the filter.
 *
 * @example
 * const sock = dgram.createSocket("udp4"); sock.bind(9000, () => {
 *   using filter = attachSocketFilter(prog, sock);
 * });
 */
export function attachSocketFilter(prog: Program, sock: SocketLike): Link {
  if (prog.spec.type !== "SOCKET_FILTER") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" as a socket filter: it is a ${prog.spec.type} program, not SOCKET_FILTER`);
  }
  return attachBySockopt(prog, sock, "socket filter", SOCKOPT.SO_ATTACH_BPF, SOCKOPT.SO_DETACH_FILTER);
}

/**
 * Attach an SK_REUSEPORT program to a SO_REUSEPORT group through one of its sockets
 * (SO_ATTACH_REUSEPORT_EBPF): it picks the socket of the group each packet/connection goes to.
 *
 * @example
 * using sel = attachReuseport(prog, udpSocketFd);
 */
export function attachReuseport(prog: Program, sock: SocketLike): Link {
  if (prog.spec.type !== "SK_REUSEPORT") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" as a reuseport selector: it is a ${prog.spec.type} program, not SK_REUSEPORT`);
  }
  return attachBySockopt(prog, sock, "reuseport selector", SOCKOPT.SO_ATTACH_REUSEPORT_EBPF, SOCKOPT.SO_DETACH_REUSEPORT_BPF);
}
