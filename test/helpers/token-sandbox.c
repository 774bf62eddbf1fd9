// token-sandbox: runs a command as an unprivileged user inside new user, mount and network
// namespaces, with a bpffs instance created for that user namespace mounted at a path, its
// delegate_* options set by this (privileged) parent. Plumbing for test/kernel/token.test.ts only:
// the command (Node + tsbpf) does the BPF work.
//
//   token-sandbox <uid> <options|none> <mountpoint> <cmd> [args...]
//     options: comma-separated delegate_*=value pairs, e.g.
//              delegate_cmds=any,delegate_maps=array,delegate_progs=xdp,delegate_attachs=any
//   token-sandbox <uid> probe           exit 0 when <uid> can create a user namespace
//
// Flow (the kernel wants the bpffs superblock owned by the token creator's user namespace, and only
// a privileged process may set delegation): the child drops to <uid>, unshares a user namespace
// (the parent maps <uid> to root in it), then mount and network namespaces, calls fsopen("bpf") and
// sends the fs fd to the parent over a unix socket; the parent sets the options, creates the
// superblock, fsmount()s it and sends the mount fd back; the child move_mount()s it at <mountpoint>,
// brings its loopback up and execs the command.
// Exit codes: the command's; 77 when user namespaces are unavailable to <uid> (message on stderr);
// 70 on a plumbing failure (message on stderr).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 1
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static void die(const char *what) {
	fprintf(stderr, "token-sandbox: %s: %s\n", what, strerror(errno));
	exit(70);
}

static void send_fd(int sock, int fd) {
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	char buf[CMSG_SPACE(sizeof(int))];
	memset(buf, 0, sizeof(buf));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1) die("sendmsg");
}

static int recv_fd(int sock) {
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	char buf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
	if (recvmsg(sock, &msg, 0) != 1) die("recvmsg");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		errno = EPROTO;
		die("recvmsg: no fd");
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void send_byte(int sock, char b) {
	if (write(sock, &b, 1) != 1) die("write");
}

static char recv_byte(int sock) {
	char b;
	if (read(sock, &b, 1) != 1) die("read");
	return b;
}

static void write_file(const char *path, const char *text) {
	int fd = open(path, O_WRONLY);
	if (fd < 0) die(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die(path);
	close(fd);
}

static void drop_to(uid_t uid) {
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) die("drop privileges");
}

static void loopback_up(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) die("socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr)) die("SIOCSIFFLAGS lo");
	close(s);
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: token-sandbox <uid> <options|none> <mountpoint> <cmd> [args...] | <uid> probe\n");
		return 64;
	}
	uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
	if (strcmp(argv[2], "probe") == 0) {
		drop_to(uid);
		if (unshare(CLONE_NEWUSER)) {
			fprintf(stderr, "unshare(CLONE_NEWUSER) as uid %u: %s\n", (unsigned)uid, strerror(errno));
			return 77;
		}
		return 0;
	}
	if (argc < 5) return 64;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) die("socketpair");
	pid_t pid = fork();
	if (pid < 0) die("fork");
	if (pid == 0) {
		close(sv[0]);
		int s = sv[1];
		drop_to(uid);
		if (unshare(CLONE_NEWUSER)) {
			fprintf(stderr, "unshare(CLONE_NEWUSER) as uid %u: %s\n", (unsigned)uid, strerror(errno));
			exit(77);
		}
		send_byte(s, 'U');
		if (recv_byte(s) != 'M') die("parent failed to map ids");
		if (setresgid(0, 0, 0) || setresuid(0, 0, 0)) die("become root of the user namespace");
		if (unshare(CLONE_NEWNS | CLONE_NEWNET)) die("unshare(CLONE_NEWNS|CLONE_NEWNET)");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die("make / private");
		int fs_fd = (int)syscall(SYS_fsopen, "bpf", FSOPEN_CLOEXEC);
		if (fs_fd < 0) die("fsopen(bpf)");
		send_fd(s, fs_fd);
		close(fs_fd);
		int mnt_fd = recv_fd(s);
		if (syscall(SYS_move_mount, mnt_fd, "", AT_FDCWD, argv[3], MOVE_MOUNT_F_EMPTY_PATH)) die("move_mount");
		close(mnt_fd);
		close(s);
		loopback_up();
		execvp(argv[4], argv + 4);
		die("execvp");
	}
	close(sv[1]);
	int s = sv[0];
	char b = recv_byte(s);
	if (b != 'U') {
		int status;
		waitpid(pid, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 70;
	}
	char path[64], map[64];
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	write_file(path, map);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	write_file(path, map);
	send_byte(s, 'M');
	int fs_fd = recv_fd(s);
	if (strcmp(argv[2], "none") != 0) {
		char *opts = strdup(argv[2]);
		for (char *tok = strtok(opts, ","); tok; tok = strtok(NULL, ",")) {
			char *eq = strchr(tok, '=');
			if (!eq) {
				errno = EINVAL;
				die(tok);
			}
			*eq = 0;
			if (syscall(SYS_fsconfig, fs_fd, FSCONFIG_SET_STRING, tok, eq + 1, 0)) die(tok);
		}
		free(opts);
	}
	if (syscall(SYS_fsconfig, fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) die("fsconfig(FSCONFIG_CMD_CREATE)");
	int mnt_fd = (int)syscall(SYS_fsmount, fs_fd, FSMOUNT_CLOEXEC, 0);
	if (mnt_fd < 0) die("fsmount");
	send_fd(s, mnt_fd);
	close(mnt_fd);
	close(fs_fd);
	int status;
	if (waitpid(pid, &status, 0) < 0) die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
