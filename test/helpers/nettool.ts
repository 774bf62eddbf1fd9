// A small host C program the hook tests run inside cgroups and namespaces to make socket calls and
// print what happened: `nettool tcp|udp|bind|sockopt ...` (compiled with cc, cached under .cache/host).

import { SOCKET } from "../../src/sys/constants.js";
import { hostProgram } from "./loader.js";

const SOURCE = `/* tsbpf nettool: socket calls for the hook tests; prints one line saying what happened.
 *   tcp IP PORT          connect (1 s timeout)      -> "ok peer=IP:PORT" | "<step>:<ERRNO>"
 *   udp IP PORT          sendto + wait for a reply  -> "reply from IP:PORT" | "<step>:<ERRNO>"
 *   bind PORT            UDP bind 127.0.0.1:PORT    -> "bound PORT" (from getsockname) | "bind:<ERRNO>"
 *   sockopt              SO_PRIORITY=3, SO_MARK?    -> "set:<ok|ERRNO> get:<mark>"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *en(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN";
	case EADDRINUSE: return "EADDRINUSE";
	case ENETUNREACH: return "ENETUNREACH";
	case EINVAL: return "EINVAL";
	default: { static char b[16]; snprintf(b, sizeof b, "E%d", e); return b; }
	}
}

static int fail(const char *step) { printf("%s:%s\\n", step, en(errno)); return 0; }

static void addr(struct sockaddr_in *a, const char *ip, int port)
{
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a, p;
	socklen_t len = sizeof p;
	char ip[32], buf[64];
	int fd;

	if (argc < 2) return 2;
	if (!strcmp(argv[1], "tcp") && argc == 4) {
		struct pollfd pfd;
		int err = 0;
		socklen_t el = sizeof err;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) return fail("socket");
		fcntl(fd, F_SETFL, O_NONBLOCK);
		addr(&a, argv[2], atoi(argv[3]));
		if (connect(fd, (void *)&a, sizeof a) < 0 && errno != EINPROGRESS) return fail("connect");
		pfd.fd = fd; pfd.events = POLLOUT;
		if (poll(&pfd, 1, 1000) != 1) { errno = ETIMEDOUT; return fail("connect"); }
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) { errno = err; return fail("connect"); }
		if (getpeername(fd, (void *)&p, &len) < 0) return fail("getpeername");
		printf("ok peer=%s:%d\\n", inet_ntop(AF_INET, &p.sin_addr, ip, sizeof ip), ntohs(p.sin_port));
		return 0;
	}
	if (!strcmp(argv[1], "udp") && argc == 4) {
		struct pollfd pfd;
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0) return fail("socket");
		addr(&a, argv[2], atoi(argv[3]));
		if (sendto(fd, "ping", 4, 0, (void *)&a, sizeof a) < 0) return fail("sendto");
		pfd.fd = fd; pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) != 1) { errno = ETIMEDOUT; return fail("recvfrom"); }
		if (recvfrom(fd, buf, sizeof buf, 0, (void *)&p, &len) < 0) return fail("recvfrom");
		printf("reply from %s:%d\\n", inet_ntop(AF_INET, &p.sin_addr, ip, sizeof ip), ntohs(p.sin_port));
		return 0;
	}
	if (!strcmp(argv[1], "bind") && argc == 3) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0) return fail("socket");
		addr(&a, "127.0.0.1", atoi(argv[2]));
		if (bind(fd, (void *)&a, sizeof a) < 0) return fail("bind");
		if (getsockname(fd, (void *)&p, &len) < 0) return fail("getsockname");
		printf("bound %d\\n", ntohs(p.sin_port));
		return 0;
	}
	if (!strcmp(argv[1], "sockopt")) {
		int prio = 3, mark = -1;
		socklen_t ml = sizeof mark;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) return fail("socket");
		if (setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof prio) < 0) printf("set:%s ", en(errno));
		else printf("set:ok ");
		if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &ml) < 0) return fail("get");
		printf("get:%d\\n", mark);
		return 0;
	}
	return 2;
}
`;

/** Path of the nettool executable (see the usage in its source). */
export function nettool(): string {
  return hostProgram("tsbpf-nettool", SOURCE);
}

/** A struct sockaddr_in for `ip:port` (port in network order), as bind/connect take it. */
export function sockaddrIn(ip: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, SOCKET.AF_INET, true);
  v.setUint16(2, port, false);
  b.set(ip.split(".").map(Number), 4);
  return b;
}
