/* System calls for the sandbox helper C, which shares the host's memory and
 * the calling thread's TLS: glibc's wrappers would write that thread's
 * errno, so C makes its calls directly.  Each returns the result or
 * -errno.  Where no direct form is written here, C does not share memory
 * (RL_SHARED_VM is 0) and glibc's syscall() is safe. */
#ifndef MONKEY_RLSYS_H
#define MONKEY_RLSYS_H

#include <sys/syscall.h>

#if defined(__x86_64__)
#define RL_SHARED_VM 1
static inline long rl_sys6(long n, long a1, long a2, long a3, long a4, long a5,
			   long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define RL_SHARED_VM 1
static inline long rl_sys6(long n, long a1, long a2, long a3, long a4, long a5,
			   long a6)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory", "cc");
	return x0;
}
#else
#include <errno.h>
#include <unistd.h>
#define RL_SHARED_VM 0
static inline long rl_sys6(long n, long a1, long a2, long a3, long a4, long a5,
			   long a6)
{
	long r = syscall(n, a1, a2, a3, a4, a5, a6);
	return r == -1 ? -errno : r;
}
#endif

#define RL_SYS1(n, a) rl_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define RL_SYS2(n, a, b) rl_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define RL_SYS3(n, a, b, c)                                                    \
	rl_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define RL_SYS4(n, a, b, c, d)                                                 \
	rl_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#endif
