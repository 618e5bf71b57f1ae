/* What the rootless tests run inside a sandbox to look at it from there:
 * which system calls the seccomp filter refuses, whether loopback works,
 * whether a secret shows in any environment it can read, how many
 * processes it may fork; and processes left behind.  Output is one line
 * per finding. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

struct probe {
	const char *name;
	long nr;
	long a0;
};

/* The calls Docker's default profile refuses, as the sandbox must. */
static const struct probe probes[] = {
    {"mount", SYS_mount, 0},
    {"umount2", SYS_umount2, 0},
    {"pivot_root", SYS_pivot_root, 0},
#ifdef SYS_open_tree
    {"open_tree", SYS_open_tree, 0},
    {"move_mount", SYS_move_mount, 0},
    {"fsopen", SYS_fsopen, 0},
#endif
#ifdef SYS_mount_setattr
    {"mount_setattr", SYS_mount_setattr, 0},
#endif
    {"setns", SYS_setns, 0},
    {"unshare(CLONE_NEWUSER)", SYS_unshare, CLONE_NEWUSER},
    {"unshare(CLONE_NEWNS)", SYS_unshare, CLONE_NEWNS},
    {"unshare(CLONE_NEWNET)", SYS_unshare, CLONE_NEWNET},
    {"unshare(CLONE_NEWPID)", SYS_unshare, CLONE_NEWPID},
    {"unshare(CLONE_NEWCGROUP)", SYS_unshare, CLONE_NEWCGROUP},
    {"clone(CLONE_NEWUSER)", SYS_clone, CLONE_NEWUSER | SIGCHLD},
    {"clone(CLONE_NEWNET)", SYS_clone, CLONE_NEWNET | SIGCHLD},
    {"add_key", SYS_add_key, 0},
    {"request_key", SYS_request_key, 0},
    {"keyctl", SYS_keyctl, 0},
    {"bpf", SYS_bpf, 0},
    {"perf_event_open", SYS_perf_event_open, 0},
    {"userfaultfd", SYS_userfaultfd, 0},
    {"init_module", SYS_init_module, 0},
    {"finit_module", SYS_finit_module, 0},
    {"delete_module", SYS_delete_module, 0},
    {"kexec_load", SYS_kexec_load, 0},
#ifdef SYS_kexec_file_load
    {"kexec_file_load", SYS_kexec_file_load, 0},
#endif
    {"open_by_handle_at", SYS_open_by_handle_at, 0},
    {"name_to_handle_at", SYS_name_to_handle_at, 0},
    {"reboot", SYS_reboot, 0},
    {"swapon", SYS_swapon, 0},
    {"swapoff", SYS_swapoff, 0},
    {"acct", SYS_acct, 0},
    {"quotactl", SYS_quotactl, 0},
    {"settimeofday", SYS_settimeofday, 0},
    {"clock_settime", SYS_clock_settime, 0},
    {"clock_adjtime", SYS_clock_adjtime, 0},
    {"syslog", SYS_syslog, 0},
#ifdef SYS_iopl
    {"iopl", SYS_iopl, 0},
    {"ioperm", SYS_ioperm, 0},
#endif
#ifdef SYS_io_uring_setup
    {"io_uring_setup", SYS_io_uring_setup, 0},
#endif
    {"getpid (allowed: ENOSYS expected)", SYS_getpid, 0},
};

/* In a child: a filter of our own sends this one call to a tracer, of
 * which there is none, so the kernel fails it with ENOSYS without running
 * it.  Filters are all evaluated and ERRNO outranks TRACE: EPERM means the
 * sandbox's filter refused the call, ENOSYS that it let it through.  No
 * call listed here is ever executed. */
static int errno_of(const struct probe *p)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			     offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)p->nr, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {4, f};
		int e = -1;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0) {
			long r = syscall(p->nr, p->a0, 0, 0, 0, 0, 0);
			e = r < 0 ? errno : 0;
		}
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	int e = -1;
	if (pid < 0 || read(fds[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
		e = -1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return e;
}

static const char *errname(int e)
{
	switch (e) {
	case 0:
		return "ALLOWED";
	case EPERM:
		return "EPERM";
	case ENOSYS:
		return "ENOSYS";
	case -1:
		return "HELPER-FAILED";
	default:
		return strerror(e);
	}
}

/* clone3 passes its flags in memory: the sandbox answers ENOSYS to every
 * clone3 so that the C library falls back to clone.  Without that answer
 * this creates a child in a new user namespace, which says so. */
static void check_clone3(void)
{
#ifdef SYS_clone3
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal,
		    stack, stack_size, tls;
	} args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r == 0)
		_exit(0);
	if (r > 0) {
		waitpid((pid_t)r, NULL, 0);
		printf("clone3(CLONE_NEWUSER)=CREATED\n");
		return;
	}
	printf("clone3(CLONE_NEWUSER)=%s\n", errname(errno));
#endif
}

static int seccomp_mode(void)
{
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		printf("%s=%s\n", probes[i].name,
		       errname(errno_of(&probes[i])));
	check_clone3();
	return 0;
}

/* A server and a client on 127.0.0.1 inside the sandbox. */
static int loopback_mode(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || c < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s, 1) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("loopback-failed: %s\n", strerror(errno));
		return 1;
	}
	printf("loopback-ok\n");
	return 0;
}

/* Every environment this process can read, searched for argv[2]. */
static int environ_mode(const char *secret)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 3;
	struct dirent *de;
	int readable = 0, found = 0;
	while ((de = readdir(d))) {
		char path[300], buf[65536];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n < 0)
			continue;
		readable++;
		if (memmem(buf, (size_t)n, secret, strlen(secret))) {
			printf("found in %s\n", path);
			found++;
		}
	}
	closedir(d);
	printf("readable %d found %d\n", readable, found);
	return 0;
}

/* Fork up to argv[2] children that wait to be killed; print how many
 * forks succeeded and why the first failed. */
static int forks_mode(int n)
{
	int ok = 0, e = 0;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (;;)
				pause();
		}
		if (p < 0) {
			e = errno;
			break;
		}
		ok++;
	}
	printf("forked %d %s\n", ok, e ? strerror(e) : "no-failure");
	return 0;
}

/* Leave three processes behind, named argv[2] (their comm, which stays
 * until they are reaped, so that one still dying is found too): a plain
 * child, a setsid child and a double-forked daemon; each holds some
 * touched memory, which takes a moment to give back when it is killed.
 * Exit once all three are there. */
static void linger(const char *name, int fds[2], int daemon)
{
	if (daemon && fork() != 0)
		_exit(0);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	size_t len = 32u << 20;
	char *mem = malloc(len);
	if (mem)
		memset(mem, 1, len);
	if (write(fds[1], "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static int leave_mode(const char *name)
{
	int fds[2];
	if (pipe(fds) < 0)
		return 3;
	for (int i = 0; i < 3; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (i > 0)
				setsid();
			linger(name, fds, i == 2);
		}
		if (p < 0)
			return 3;
	}
	char c;
	for (int i = 0; i < 3; i++)
		if (read(fds[0], &c, 1) != 1)
			return 3;
	printf("left 3\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "seccomp"))
		return seccomp_mode();
	if (!strcmp(mode, "loopback"))
		return loopback_mode();
	if (!strcmp(mode, "environ") && argc > 2)
		return environ_mode(argv[2]);
	if (!strcmp(mode, "forks") && argc > 2)
		return forks_mode(atoi(argv[2]));
	if (!strcmp(mode, "leave") && argc > 2)
		return leave_mode(argv[2]);
	fprintf(stderr, "rootless_helper: unknown mode\n");
	return 2;
}
