/* Background jobs for any backend whose commands run on the host's side
 * of a blocking call (bgjob.c): the command runs to its end on a thread of
 * the job's own, through the backend's run function, its output kept here
 * between reads (a bounded head and tail per stream), its stdin a pipe and
 * its cancel fd the way to stop it.  The spawn and rootless backends'
 * jobs; hidden from the module's exports. */
#ifndef MONKEY_BGJOB_H
#define MONKEY_BGJOB_H

#include <pthread.h>

#include <monkey/backend.h>

#define BGJOB_API __attribute__((visibility("hidden")))

struct bgjob;

/* A session's jobs, so that closing the session closes every one, even
 * one the host forgot. */
struct bgjob_set {
	pthread_mutex_t lock;
	struct bgjob *head; /* under lock */
};

/* Run req to its end, exec's contract, with the command's stdin a
 * duplicate of stdin_fd (req->has_stdin and stdin_data play no part). */
typedef int (*bgjob_run_fn)(void *ctx, const struct monkey_exec_request *req,
			    int stdin_fd, struct monkey_exec_result *result,
			    struct monkey_error *err);

BGJOB_API void bgjob_set_init(struct bgjob_set *set);
/* Close every job of set, then set itself. */
BGJOB_API void bgjob_set_close(struct bgjob_set *set);

/* The backend ABI's job entry points (backend.h).  req is copied (argv,
 * envp, user_envp, workspace, workdir; mounts, image and user are the
 * session's, so they are not passed on); run and ctx must outlive the
 * job, which joins set until it is closed. */
BGJOB_API int bgjob_start(struct bgjob_set *set, const struct monkey_host *host,
			  const struct monkey_exec_request *req,
			  bgjob_run_fn run, void *ctx, struct bgjob **out,
			  struct monkey_error *err);
BGJOB_API int bgjob_read(struct bgjob *j, int64_t wait_ms, monkey_output_fn out,
			 void *out_ctx, int *running,
			 struct monkey_exec_result *result,
			 struct monkey_error *err);
BGJOB_API int bgjob_write(struct bgjob *j, const void *data, size_t len,
			  int close_stdin, struct monkey_error *err);
BGJOB_API int bgjob_stop(struct bgjob *j, struct monkey_error *err);
BGJOB_API void bgjob_close(struct bgjob *j);

/* The same with the ABI's signatures (job is a struct bgjob), for a
 * backend's descriptor. */
BGJOB_API int bgjob_abi_read(void *job, int64_t wait_ms, monkey_output_fn out,
			     void *out_ctx, int *running,
			     struct monkey_exec_result *result,
			     struct monkey_error *err);
BGJOB_API int bgjob_abi_write(void *job, const void *data, size_t len,
			      int close_stdin, struct monkey_error *err);
BGJOB_API int bgjob_abi_stop(void *job, struct monkey_error *err);
BGJOB_API void bgjob_abi_close(void *job);

#endif
