/* Starting a command under its own reaper process.
 *
 * Why a reaper per command: a process that setsid()s or double-forks leaves
 * its session and its parent, so neither process groups nor parent links
 * find it.  The kernel's answer is PR_SET_CHILD_SUBREAPER: orphans are
 * reparented to the nearest subreaper ancestor.  If the host itself were the
 * subreaper, orphans of every command run by every thread (and of the host's
 * own children) would all land on the host, and nothing would say which
 * command an orphan came from: one thread's cleanup would kill or reap
 * another's processes.  So every command gets a small reaper process R of
 * its own: R sets PR_SET_CHILD_SUBREAPER, starts the command as its only
 * child and reaps everything reparented to it.  The command's processes are
 * then exactly R's descendants, R's wait4(-1) can steal nobody's children,
 * and R exits when its last descendant is gone, which closes the status pipe:
 * EOF on that pipe means "not one process of this command remains".  The
 * host thread only ever waits for its own R by pid.
 *
 * Speed: fork()ing the host costs ~0.25 ms on a small process here and
 * grows with its size, more than the whole budget.  R is therefore cloned
 * with CLONE_VM (no page tables are copied) and the command with
 * CLONE_VM|CLONE_VFORK, as glibc's posix_spawn does.  Code running in R and
 * in the command before execve shares the host's memory and the calling
 * thread's TLS, so it uses raw system calls only (rawsys.h: errno is never
 * written, no sanitizer interceptor runs), touches no locks and allocates
 * nothing.  The host thread blocks, with all signals blocked, until R
 * reports START; only then does R's remaining code (a wait4 loop) run
 * concurrently with the host.  On architectures without raw system calls
 * here R is cloned without CLONE_VM, which is slower but owns its memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procrun_int.h"
#include "rawsys.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Code that runs in R or in the command before execve: no sanitizer
 * instrumentation (it would call into the runtime from a process that
 * shares the host's memory) and never inlined into host-side code. */
#define CHILD_CODE                                                             \
	__attribute__((no_sanitize("address", "undefined"), noinline))

#define STACK_SIZE (64 * 1024)

/* A kernel struct sigaction with every field zero: handler SIG_DFL, no
 * flags, empty mask.  Large enough for every architecture's layout. */
static const unsigned long kernel_sigaction_dfl[8];
static const uint64_t empty_sigmask;

CHILD_CODE static void raw_exit(int code)
{
	for (;;)
		RAW1(SYS_exit, code);
}

/* Close every descriptor >= lo except those in keep[] (ascending). */
CHILD_CODE static int close_from_except(int lo, const int *keep, int n_keep)
{
	for (int i = 0; i <= n_keep; i++) {
		if (i < n_keep && keep[i] < lo)
			continue;
		unsigned int last =
		    i < n_keep ? (unsigned int)keep[i] - 1 : ~0u;
		if (i == n_keep || keep[i] > lo) {
			long r = RAW3(SYS_close_range, lo, last, 0);
			if (r == -ENOSYS) {
				/* Before Linux 5.9: one by one, up to the
				 * descriptor limit. */
				uint64_t lim[2] = {1024, 1024};
				RAW4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, lim);
				if (lim[0] > (1u << 20))
					lim[0] = 1u << 20;
				for (unsigned int fd = (unsigned int)lo;
				     fd <= last && fd < lim[0]; fd++)
					RAW1(SYS_close, fd);
			} else if (r < 0) {
				return (int)r;
			}
		}
		if (i < n_keep)
			lo = keep[i] + 1;
	}
	return 0;
}

CHILD_CODE static void child_fail(struct procrun_spawn *s, int stage, long err)
{
	s->child_errno = (int)-err;
	s->child_stage = stage;
	raw_exit(127);
}

/* The command process: becomes its own session, takes its stdio, working
 * directory and limits, and execs.  Runs on its own stack in R's memory
 * while R is suspended (CLONE_VFORK). */
CHILD_CODE static int command_main(void *arg)
{
	struct procrun_spawn *s = arg;
	long r;

	if ((r = RAW0(SYS_setsid)) < 0)
		child_fail(s, PROCRUN_STAGE_SESSION, r);
	/* Dies with R; R dies with the host (see reaper_main). */
	if ((r = raw_syscall6(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0,
			      0)) < 0)
		child_fail(s, PROCRUN_STAGE_SESSION, r);
	if (RAW0(SYS_getppid) != s->reaper_pid)
		raw_exit(127);
	/* The host's handlers must not run here, and what the host ignores
	 * (SIGPIPE, often) the command must not: every disposition back to
	 * the default while all signals are still blocked. */
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			RAW4(SYS_rt_sigaction, sig, kernel_sigaction_dfl, 0, 8);
	if ((r = RAW3(SYS_dup3, s->in_fd, 0, 0)) < 0 ||
	    (r = RAW3(SYS_dup3, s->out_fd, 1, 0)) < 0 ||
	    (r = RAW3(SYS_dup3, s->err_fd, 2, 0)) < 0)
		child_fail(s, PROCRUN_STAGE_STDIO, r);
	if (s->wd_fd >= 0 && (r = RAW1(SYS_fchdir, s->wd_fd)) < 0)
		child_fail(s, PROCRUN_STAGE_CHDIR, r);
	/* The mark by which the host finds this process and everything it
	 * starts should the reaper be killed (procrun_host.c). */
	uint64_t mark[2] = {s->mark_cur, s->mark_max};
	if ((r = RAW4(SYS_prlimit64, 0, RLIMIT_RTTIME, mark, 0)) < 0)
		child_fail(s, PROCRUN_STAGE_MARK, r);
	for (int i = 0; i < s->n_rl; i++) {
		uint64_t lim[2] = {s->rl[i].cur, s->rl[i].max};
		if ((r = RAW4(SYS_prlimit64, 0, s->rl[i].resource, lim, 0)) < 0)
			child_fail(s, PROCRUN_STAGE_RLIMIT | (i << 8), r);
	}
	/* Nothing the host has open reaches the command, CLOEXEC or not. */
	if ((r = close_from_except(3, NULL, 0)) < 0)
		child_fail(s, PROCRUN_STAGE_FDS, r);
	RAW4(SYS_rt_sigprocmask, SIG_SETMASK, &empty_sigmask, 0, 8);

	/* PATH search as execvp does it, minus its /bin/sh fallback for files
	 * without a #! line: that would run a shell nobody asked for. */
	int saw_eacces = 0;
	r = -ENOENT;
	for (char *const *p = s->paths; *p; p++) {
		r = RAW3(SYS_execve, *p, s->argv, s->envp);
		switch (-r) {
		case EACCES:
			saw_eacces = 1;
			/* fall through */
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
			continue;
		default:
			child_fail(s, PROCRUN_STAGE_EXEC, r);
		}
	}
	child_fail(s, PROCRUN_STAGE_EXEC, saw_eacces ? -EACCES : r);
	return 127;
}

CHILD_CODE static void send_msg(int fd, int kind, int pid, int a, int b)
{
	struct procrun_msg m;
	m.kind = kind;
	m.pid = pid;
	m.a = a;
	m.b = b;
	while (RAW3(SYS_write, fd, &m, sizeof(m)) == -EINTR)
		;
}

/* What every process of the command used, all of them reaped by now (R
 * reaped them, or their parents did and R reaped those): the kernel
 * accumulates their CPU time and the largest peak RSS in R's
 * RUSAGE_CHILDREN.  R's own figures (RUSAGE_SELF) would count the host's
 * memory, which R shares. */
CHILD_CODE static void send_usage(int fd)
{
	struct rusage ru;
	if (RAW2(SYS_getrusage, RUSAGE_CHILDREN, &ru) < 0)
		return;
	long user_ms = ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000;
	long sys_ms = ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
	send_msg(fd, PROCRUN_MSG_USAGE,
		 ru.ru_maxrss > INT32_MAX ? INT32_MAX : (int)ru.ru_maxrss,
		 user_ms > INT32_MAX ? INT32_MAX : (int)user_ms,
		 sys_ms > INT32_MAX ? INT32_MAX : (int)sys_ms);
}

/* R: the command's private subreaper.  All signals stay blocked here (it
 * must not die of the terminal's SIGINT, and host handlers must never run
 * in it); SIGKILL still works. */
CHILD_CODE static int reaper_main(void *arg)
{
	struct procrun_spawn *s = arg;
	int sfd = s->status_fd;

	/* The parent-death signal follows the host thread that cloned us;
	 * check the parent after setting it so a host that died in between
	 * is noticed. */
	raw_syscall6(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
	if (RAW0(SYS_getppid) != s->host_pid)
		raw_exit(1);
	raw_syscall6(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0);
	/* Otherwise ps shows a second copy of the host. */
	raw_syscall6(SYS_prctl, PR_SET_NAME, (long)"monkey-reaper", 0, 0, 0, 0);
	/* A host that ignores SIGCHLD would make our children vanish
	 * unreaped (and their statuses with them). */
	RAW4(SYS_rt_sigaction, SIGCHLD, kernel_sigaction_dfl, 0, 8);

	/* Keep only what the command needs and the status pipe: copies of
	 * other commands' pipes held here would delay their EOF. */
	int keep[5] = {s->in_fd, s->out_fd, s->err_fd, s->wd_fd, sfd};
	for (int i = 1; i < 5; i++) /* insertion sort, 5 entries */
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	int first = 0;
	while (first < 5 && keep[first] < 0)
		first++;
	close_from_except(3, keep + first, 5 - first);

	s->reaper_pid = (pid_t)RAW0(SYS_getpid);
	s->child_errno = 0;
	s->child_stage = 0;
	/* glibc's clone() writes errno only on failure, and the host thread
	 * is blocked until START, so that write harms nobody. */
	pid_t pid = clone(command_main, s->child_stack_top,
			  CLONE_VM | CLONE_VFORK | SIGCHLD, s);
	int clone_err = pid < 0 ? errno : 0;
	/* Copy what is still needed: once START is written the host may free
	 * s, and only locals are used. */
	int cmd_fds[4] = {s->in_fd, s->out_fd, s->err_fd, s->wd_fd};
	send_msg(sfd, PROCRUN_MSG_START, pid < 0 ? -clone_err : pid,
		 s->child_errno, s->child_stage);
	/* Our copies of the command's stdio go only now, off the host's path
	 * (it is not waiting for them). */
	for (int i = 0; i < 4; i++)
		if (cmd_fds[i] >= 0)
			RAW1(SYS_close, cmd_fds[i]);
	for (;;) {
		int status = 0;
		long r = RAW4(SYS_wait4, -1, &status, __WALL, 0);
		if (r == -EINTR)
			continue;
		if (r < 0)
			break; /* ECHILD: the whole tree is gone */
		if (r == pid) {
			/* Say whether anything is left, so the host does not
			 * go looking for leftovers that do not exist. */
			int other;
			long more =
			    RAW4(SYS_wait4, -1, &other, __WALL | WNOHANG, 0);
			send_msg(sfd, PROCRUN_MSG_EXIT, (int)r, status,
				 more == -ECHILD);
			if (more == -ECHILD)
				break;
		}
	}
	send_usage(sfd);
	raw_exit(0);
	return 0;
}

/* Stack mappings of finished reapers, kept for the next command: mapping
 * and unmapping memory that another CPU has used costs TLB shootdowns,
 * a sizeable part of a short command's overhead.  Lock-free slots, since
 * several threads run commands. */
#define STACK_CACHE 4
static void *stack_cache[STACK_CACHE];

/* Layout: [guard][command stack][guard][reaper stack]. */
static char *stacks_get(size_t len, size_t page)
{
	for (int i = 0; i < STACK_CACHE; i++) {
		void *m = __atomic_exchange_n(&stack_cache[i], NULL,
					      __ATOMIC_ACQUIRE);
		if (m)
			return m;
	}
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base, page, PROT_NONE) < 0 ||
	    mprotect(base + page + STACK_SIZE, page, PROT_NONE) < 0) {
		int e = errno;
		munmap(base, len);
		errno = e;
		return NULL;
	}
	return base;
}

static void stacks_put(void *base, size_t len)
{
	for (int i = 0; i < STACK_CACHE; i++) {
		void *expected = NULL;
		if (__atomic_compare_exchange_n(&stack_cache[i], &expected,
						base, 0, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return;
	}
	munmap(base, len);
}

/* When the module is unloaded. */
__attribute__((destructor)) static void stacks_drop(void)
{
	size_t len = 2 * (STACK_SIZE + (size_t)sysconf(_SC_PAGESIZE));
	for (int i = 0; i < STACK_CACHE; i++) {
		void *m = __atomic_exchange_n(&stack_cache[i], NULL,
					      __ATOMIC_ACQUIRE);
		if (m)
			munmap(m, len);
	}
}

static int reaper_stopped(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	/* WNOWAIT: the stop stays reportable; only a look. */
	return waitid(P_PID, (id_t)pid, &si,
		      WSTOPPED | WNOHANG | WNOWAIT | __WALL) == 0 &&
	       si.si_pid == pid;
}

/* Read R's START message.  The command runs from its execve on, before R
 * has written START, and may stop R in that moment (kill -STOP $PPID):
 * such an R is killed, and the read ends with EOF. */
static ssize_t read_start(pid_t pid, int fd, struct procrun_msg *start)
{
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int k = poll(&pfd, 1, PROCRUN_WATCH_MS);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0) {
			if (reaper_stopped(pid))
				kill(pid, SIGKILL);
			continue;
		}
		ssize_t n;
		do
			n = read(fd, start, sizeof(*start));
		while (n < 0 && errno == EINTR);
		return n;
	}
}

/* Clone the reaper and read its START message (procrun_spawn_start). */
static int start_reaper(struct procrun_spawn *s, struct procrun_proc *p,
			struct procrun_msg *start)
{
	int sp[2] = {-1, -1};
	long page = sysconf(_SC_PAGESIZE);
	size_t len = 2 * (STACK_SIZE + (size_t)page);

	memset(p, 0, sizeof(*p));
	p->status_fd = -1;
	char *base = stacks_get(len, (size_t)page);
	if (!base)
		return -errno;
	if (pipe2(sp, O_CLOEXEC) < 0) {
		int e = errno;
		stacks_put(base, len);
		return -e;
	}
	s->status_fd = sp[1];
	s->host_pid = getpid();
	s->child_stack_top = base + page + STACK_SIZE;
	s->child_errno = 0;
	s->child_stage = 0;

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int flags = SIGCHLD | (PROCRUN_RAW_SYSCALLS ? CLONE_VM : 0);
	pid_t pid = clone(reaper_main, base + len, flags, s);
	int clone_err = errno;
	close(sp[1]);
	if (pid < 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(sp[0]);
		stacks_put(base, len);
		return -clone_err;
	}
	ssize_t n = read_start(pid, sp[0], start);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	p->reaper = pid;
	p->main = n == (ssize_t)sizeof(*start) ? start->pid : -1;
	p->status_fd = sp[0];
	p->stacks = base;
	p->stacks_len = len;
	if (n == (ssize_t)sizeof(*start))
		return 0;
	/* R was killed before it could report: by the command, which runs
	 * from its execve on, or from outside.  What R had is the host's
	 * now; the caller sweeps it up. */
	procrun_spawn_reap(p);
	p->main = -1;
	return -ECHILD;
}

int procrun_spawn_start(struct procrun_spawn *s, struct procrun_proc *p,
			struct procrun_msg *start)
{
	int ret = start_reaper(s, p, start);
	/* The command's ends are its own now (or nobody's). */
	close(s->in_fd);
	close(s->out_fd);
	close(s->err_fd);
	if (s->wd_fd >= 0)
		close(s->wd_fd);
	return ret;
}

int procrun_spawn_reap(struct procrun_proc *p)
{
	int st = 0;
	pid_t r;
	do
		r = waitpid(p->reaper, &st, __WALL);
	while (r < 0 && errno == EINTR);
	/* R's files are closed only after it stopped using its stack, so EOF
	 * on the status pipe alone makes unmapping safe. */
	if (p->stacks)
		stacks_put(p->stacks, p->stacks_len);
	p->stacks = NULL;
	p->reaper = 0;
	if (r < 0)
		return -1; /* ECHILD: a host that ignores SIGCHLD */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int procrun_spawn_stopped(const struct procrun_proc *p)
{
	return p->reaper > 0 && reaper_stopped(p->reaper);
}

void procrun_spawn_finish(struct procrun_proc *p, int reaper_gone)
{
	if (p->status_fd >= 0)
		close(p->status_fd);
	p->status_fd = -1;
	if (p->reaper > 0) {
		if (reaper_gone) {
			procrun_spawn_reap(p);
			return;
		}
		int st;
		pid_t r;
		do
			r = waitpid(p->reaper, &st, __WALL | WNOHANG);
		while (r < 0 && errno == EINTR);
	}
	p->stacks = NULL;
	p->reaper = 0;
}
