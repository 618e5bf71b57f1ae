/* Descriptors handed from a sandbox helper to the host over a unix socket
 * (SCM_RIGHTS) with a few bytes beside them: a template's namespaces, a
 * network namespace made ahead, a session's namespaces.  The sending side
 * runs in helpers that may share the host's memory, so it makes its
 * system call directly (rlsys.h). */
#ifndef MONKEY_ROOTLESS_FDPASS_H
#define MONKEY_ROOTLESS_FDPASS_H

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rlsys.h"
#include "rootless.h"

#define RL_FDPASS_MAX 5

/* Send data (len bytes) and n descriptors on sock; the result of
 * sendmsg, or -errno. */
__attribute__((unused)) RL_CHILD static long
rl_fds_send(int sock, void *data, size_t len, const int *fds, int n, int flags)
{
	struct iovec iov = {data, len};
	union {
		char buf[CMSG_SPACE(RL_FDPASS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return RL_SYS3(SYS_sendmsg, sock, &mh, flags | MSG_NOSIGNAL);
}

/* Receive, without waiting, one message of exactly len bytes into data
 * and up to max descriptors (close-on-exec) into fds: their number, or
 * -1 when there is no such message.  Descriptors beyond max are closed. */
static inline int rl_fds_recv(int sock, void *data, size_t len, int *fds,
			      int max)
{
	struct iovec iov = {data, len};
	union {
		char buf[CMSG_SPACE(RL_FDPASS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return 0;
	int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)),
	    got[RL_FDPASS_MAX];
	if (n > RL_FDPASS_MAX)
		n = RL_FDPASS_MAX;
	memcpy(got, CMSG_DATA(c), n * sizeof(int));
	for (int i = 0; i < n; i++) {
		if (i < max)
			fds[i] = got[i];
		else
			close(got[i]);
	}
	return n < max ? n : max;
}

#endif
