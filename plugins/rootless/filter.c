/* The seccomp filter every sandboxed command runs under, built with
 * libseccomp as classic BPF (by filter-gen when monkey is built; once per
 * process in a cross build): the command process loads it with a
 * single seccomp(2) call, since it may not allocate (it shares its parent's
 * memory until execve).  Default allow; what Docker's default profile
 * refuses to a container without capabilities fails with EPERM. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootless.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Refused outright (EPERM).  Names unknown to this libseccomp or this
 * architecture are skipped. */
static const char *const denied[] = {
    /* mounts and the file system's namespaces */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "setns",
    /* keyrings */
    "add_key",
    "request_key",
    "keyctl",
    /* kernel extension, tracing and introspection */
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "lookup_dcookie",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "kexec_load",
    "kexec_file_load",
    /* file handles bypass path permissions */
    "open_by_handle_at",
    "name_to_handle_at",
    /* the machine itself */
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "clock_adjtime",
    "clock_adjtime64",
    "syslog",
    "vhangup",
    "iopl",
    "ioperm",
    "nfsservctl",
    "sysfs",
    "_sysctl",
    "ustat",
    "uselib",
    "vm86",
    "vm86old",
    /* NUMA policy of other processes */
    "mbind",
    "set_mempolicy",
    "get_mempolicy",
    "move_pages",
    /* io_uring runs operations outside this filter */
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

/* Namespace flags: clone and unshare are refused when any is set. */
static const unsigned long ns_flags[] = {
    CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,	 CLONE_NEWUSER,
    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static int add_rules(scmp_filter_ctx ctx, const char **failed)
{
	int r;
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM && r != -EFAULT) {
			*failed = denied[i];
			return r;
		}
	}
	/* One rule per flag: libseccomp compares a masked argument for
	 * equality only. */
	const char *ns_calls[] = {"clone", "unshare"};
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]);
		     i++) {
			if (c == 0 && ns_flags[i] == CLONE_NEWTIME)
				continue; /* clone has no room for it */
			r = seccomp_rule_add(
			    ctx, SCMP_ACT_ERRNO(EPERM),
			    seccomp_syscall_resolve_name(ns_calls[c]), 1,
			    SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i],
				    ns_flags[i]));
			if (r < 0) {
				*failed = ns_calls[c];
				return r;
			}
		}
	/* clone3 passes its flags in memory a filter cannot read.  ENOSYS,
	 * as Docker answers, makes the C library fall back to clone, whose
	 * flags are checked above. */
	int nr = seccomp_syscall_resolve_name("clone3");
	if (nr != __NR_SCMP_ERROR &&
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0) {
		*failed = "clone3";
		return r;
	}
	return 0;
}

/* The filter as BPF, through a memory file (libseccomp 2.5 exports to a
 * descriptor only). */
static struct sock_fprog *export_bpf(scmp_filter_ctx ctx, int *e)
{
	_cleanup_close_ int fd = memfd_create("monkey-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		*e = -errno;
		return NULL;
	}
	int r = seccomp_export_bpf(ctx, fd);
	struct stat sb;
	if (r < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0 ||
	    sb.st_size % sizeof(struct sock_filter)) {
		*e = r < 0 ? r : -EIO;
		return NULL;
	}
	_cleanup_free_ struct sock_fprog *prog =
	    calloc(1, sizeof(*prog) + (size_t)sb.st_size);
	if (!prog) {
		*e = -ENOMEM;
		return NULL;
	}
	prog->filter = (struct sock_filter *)(prog + 1);
	prog->len = (unsigned short)(sb.st_size / sizeof(struct sock_filter));
	if (pread(fd, prog->filter, (size_t)sb.st_size, 0) != sb.st_size) {
		*e = -EIO;
		return NULL;
	}
	return steal_pointer(&prog);
}

int rl_filter_build(const struct sock_fprog **out, struct monkey_error *err)
{
	*out = NULL;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		err->code = -ENOMEM;
		snprintf(err->message, sizeof(err->message),
			 "libseccomp: seccomp_init failed");
		return err->code;
	}
	const char *failed = "attributes";
	/* A binary tree of system call numbers instead of a list: the
	 * kernel runs the filter for every number when it loads it (to
	 * cache what is always allowed), 100 us instead of 400 here. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r == -EINVAL || r == -EOPNOTSUPP)
		r = 0; /* an older libseccomp: a list it is */
	/* The native architecture only: a 64-bit process can also make
	 * 32-bit system calls (int 0x80, x32), and those fail with ENOSYS
	 * instead of being filtered a second and third time, which would
	 * triple the time the filter takes to build and to load.  32-bit
	 * programs do not run in the sandbox. */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
				     SCMP_ACT_ERRNO(ENOSYS));
	if (r == 0)
		r = add_rules(ctx, &failed);
	if (r == 0 && !(*out = export_bpf(ctx, &r)))
		failed = "export";
	if (r < 0) {
		err->code = r;
		snprintf(err->message, sizeof(err->message),
			 "libseccomp: cannot build the seccomp filter (%s): "
			 "%s",
			 failed, strerror(-r));
	}
	seccomp_release(ctx);
	return r;
}
