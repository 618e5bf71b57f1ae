/* A network namespace made ahead of the next command.  A new network
 * namespace is the dearest part of a sandbox (a fifth of its cost here:
 * the kernel registers every protocol's sysctls and the loopback device
 * for it), so after a command that used the template a helper N makes one
 * in the template's user namespace, brings its loopback up and hands it
 * over, while the host does other things; the next command's helper C
 * enters it instead of creating one.  Each is used by one command only:
 * nothing is shared.  A command whose user namespace is its own (pids as
 * RLIMIT_NPROC) creates its own: its init could not mount a sysfs for a
 * namespace its parent owns.
 *
 * N shares the host's memory (CLONE_VM, not waited for), so it makes
 * direct system calls only, on a stack of its own that is unmapped once N
 * is reaped. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdpass.h"
#include "rlsys.h"
#include "rootless.h"

#define N_STACK (32 * 1024)

struct n_args {
	int userns_fd, proc_fd, sock;
	unsigned gen;
};

RL_CHILD static void n_exit(void)
{
	for (;;)
		RL_SYS1(SYS_exit, 0);
}

RL_CHILD static int n_main(void *arg)
{
	const struct n_args *a = arg;
	if (RL_SYS2(SYS_setns, a->userns_fd, CLONE_NEWUSER) < 0 ||
	    RL_SYS1(SYS_unshare, CLONE_NEWNET) < 0)
		n_exit();
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_name[0] = 'l';
	ifr.ifr_name[1] = 'o';
	long s = RL_SYS3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || RL_SYS3(SYS_ioctl, s, SIOCGIFFLAGS, &ifr) < 0)
		n_exit();
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (RL_SYS3(SYS_ioctl, s, SIOCSIFFLAGS, &ifr) < 0)
		n_exit();
	long fd = RL_SYS4(SYS_openat, a->proc_fd, "self/ns/net",
			  O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		n_exit();
	unsigned gen = a->gen;
	int ifd = (int)fd;
	rl_fds_send(a->sock, &gen, sizeof(gen), &ifd, 1, MSG_DONTWAIT);
	n_exit();
	return 0;
}

/* What N sent: keep a namespace of generation gen, close the others.
 * Under st->lock. */
static void collect(struct rl_state *st, unsigned gen)
{
	unsigned got;
	int fd, n;
	while ((n = rl_fds_recv(st->net.sock[0], &got, sizeof(got), &fd, 1)) >=
	       0) {
		if (n == 0)
			continue;
		if (got == gen && st->net.fd < 0)
			st->net.fd = fd;
		else
			close(fd);
		st->net.pending = 0;
	}
	/* N died without a word (its pidfd is readable): none is coming. */
	struct pollfd p = {st->net.pidfd, POLLIN, 0};
	if (st->net.pending && st->net.pidfd >= 0 && poll(&p, 1, 0) == 1)
		st->net.pending = 0;
	if (!st->net.pending && st->net.pidfd >= 0) {
		close(st->net.pidfd);
		st->net.pidfd = -1;
	}
}

int rl_netns_take(struct rl_state *st, unsigned gen)
{
	pthread_mutex_lock(&st->lock);
	int fd = -1;
	if (st->net.sock[0] >= 0) {
		collect(st, gen);
		if (st->net.fd >= 0 && st->net.gen == gen)
			fd = st->net.fd;
		else if (st->net.fd >= 0)
			close(st->net.fd);
		st->net.fd = -1;
	}
	pthread_mutex_unlock(&st->lock);
	return fd;
}

/* Start N; under st->lock. */
static void start_n(struct rl_state *st, int userns_fd, unsigned gen)
{
	char *stack = mmap(NULL, N_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return;
	/* The arguments live on N's own stack mapping: ours may be gone
	 * before N has read them. */
	struct n_args *a = (struct n_args *)(stack + N_STACK) - 1;
	*a = (struct n_args){userns_fd, st->proc_fd, st->net.sock[1], gen};
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(n_main, (char *)a - 64, CLONE_VM | SIGCHLD, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		munmap(stack, N_STACK);
		return;
	}
	st->net.pending = 1;
	st->net.gen = gen;
	st->net.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	rl_add_pending_locked(st, pid, NULL, stack, N_STACK);
}

void rl_netns_prepare(struct rl_state *st, int userns_fd, unsigned gen)
{
	if (!RL_SHARED_VM)
		return; /* N would be a copy of the host: not worth it */
	pthread_mutex_lock(&st->lock);
	if (st->net.sock[0] < 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		       st->net.sock) < 0)
		st->net.sock[0] = st->net.sock[1] = -1;
	if (st->net.sock[0] >= 0)
		collect(st, gen);
	if (st->net.sock[0] >= 0 && !st->net.pending &&
	    !(st->net.fd >= 0 && st->net.gen == gen)) {
		if (st->net.fd >= 0)
			close(st->net.fd);
		st->net.fd = -1;
		start_n(st, userns_fd, gen);
	}
	pthread_mutex_unlock(&st->lock);
}

void rl_netns_clear(struct rl_state *st)
{
	int *fds[] = {&st->net.fd, &st->net.sock[0], &st->net.sock[1],
		      &st->net.pidfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
