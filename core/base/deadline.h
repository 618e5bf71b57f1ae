/* An absolute time some milliseconds ahead, as pthread_cond_timedwait
 * takes it (CLOCK_REALTIME).  Header-only. */
#ifndef MONKEY_DEADLINE_H
#define MONKEY_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* The CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static inline struct timespec monkey_deadline_after(int64_t ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif
