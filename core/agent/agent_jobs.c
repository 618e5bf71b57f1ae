/* Background jobs of the agent: shell_execute's background true starts a
 * command as a job of the run's session and answers with what it printed
 * in its first second; job_output, job_input and job_stop act on it.  The
 * model sees the running jobs in every result that changes them; every
 * job is recorded in the transcript and closed when the run ends. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_internal.h"
#include "capture.h"
#include "quote.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct agent_job *find(struct agent_jobs *js, int64_t id)
{
	for (int i = 0; i < AGENT_JOBS_MAX; i++)
		if (js->slot[i].id && js->slot[i].id == id)
			return &js->slot[i];
	return NULL;
}

static void job_free(struct agent_job *jb)
{
	monkey_job_close(jb->j);
	free(jb->display);
	memset(jb, 0, sizeof(*jb));
}

void agent_jobs_close(struct agent_jobs *js)
{
	for (int i = 0; i < AGENT_JOBS_MAX; i++)
		if (js->slot[i].id)
			job_free(&js->slot[i]);
	js->next_id = 0;
}

/* The jobs still open, one line each, for the model. */
static void put_jobs(FILE *f, struct agent_jobs *js)
{
	int n = 0;
	for (int i = 0; i < AGENT_JOBS_MAX; i++)
		if (js->slot[i].id) {
			fprintf(f, "%s  %d: %s\n", n ? "" : "jobs:\n",
				js->slot[i].id, js->slot[i].display);
			n++;
		}
	if (!n)
		fputs("jobs: none\n", f);
}

/* Output gathered over several reads of one job. */
struct gathered {
	struct monkey_capture_buf out, err;
	bool running;
	struct monkey_result end; /* filled once it ended */
};

/* Read j until ms passed (or once, when ms is 0) or it ended. */
static int gather(struct agent_job *jb, int64_t ms, struct gathered *g,
		  struct monkey_error *err)
{
	int64_t until = now_ms() + ms;
	for (;;) {
		struct monkey_result res;
		int64_t left = until - now_ms();
		int r = monkey_job_read(jb->j, left > 0 ? left : 0, &res,
					&g->running, err);
		if (r < 0)
			return r;
		for (int s = 0; s < 2; s++) {
			size_t len = 0;
			char *t =
			    monkey_capture_join(s ? &res.err : &res.out, &len);
			if (t && len)
				monkey_capture_buf_append(s ? &g->err : &g->out,
							  t, len);
			free(t);
		}
		if (!g->running) {
			monkey_capture_clear(&res.out);
			monkey_capture_clear(&res.err);
			g->end = res;
			return 0;
		}
		monkey_result_free(&res);
		if (now_ms() >= until)
			return 0;
	}
}

/* One stream of g for the model, shortened to max bytes. */
static void put_stream(FILE *f, const char *name, struct monkey_capture_buf *b,
		       size_t max)
{
	struct monkey_capture cap = {0};
	size_t len = 0;
	if (monkey_capture_buf_finish(b, &cap) < 0)
		return;
	char *all = monkey_capture_join(&cap, &len);
	char *cut = all ? monkey_shorten(all, len, max, &len) : NULL;
	fprintf(f, "%s (%llu bytes):\n%s%s", name,
		(unsigned long long)cap.total, cut ? cut : "",
		cut && len && cut[len - 1] != '\n' ? "\n" : "");
	free(cut);
	free(all);
	monkey_capture_clear(&cap);
}

static void put_state(FILE *f, const struct gathered *g)
{
	if (g->running) {
		fputs("running: true\n", f);
		return;
	}
	fprintf(f, "running: false\nexit_code: %d\n", g->end.exit_code);
	if (g->end.timed_out)
		fputs("timed_out: true (the job timeout ended it)\n", f);
	if (g->end.error[0])
		fprintf(f, "error: %s\n", g->end.error);
}

static void record(struct monkey_agent *a, const char *event, const char *id,
		   int job, const struct gathered *g, json_object *o)
{
	if (!o)
		o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "job", json_object_new_int(job));
	if (g) {
		json_object_object_add(o, "running",
				       json_object_new_boolean(g->running));
		json_object_object_add(
		    o, "stdoutBytes",
		    json_object_new_int64((int64_t)g->out.total));
		json_object_object_add(
		    o, "stderrBytes",
		    json_object_new_int64((int64_t)g->err.total));
		if (!g->running)
			json_object_object_add(
			    o, "exitCode",
			    json_object_new_int(g->end.exit_code));
	}
	agent_record(a, "job", o);
}

/* The answer after a read: state, output, and the jobs when it ended. */
static char *answer(struct monkey_agent *a, struct agent_job *jb,
		    struct gathered *g, const char *head)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fprintf(f, "%sjob: %d\n", head, jb->id);
	put_state(f, g);
	size_t half = a->opts.output_max / 2;
	put_stream(f, "stdout", &g->out, half);
	put_stream(f, "stderr", &g->err, half);
	if (!g->running) {
		monkey_result_free(&g->end);
		job_free(jb);
	}
	if (head[0] || !g->running)
		put_jobs(f, &a->jobs);
	fclose(f);
	return text;
}

static void gathered_init(struct monkey_agent *a, struct gathered *g)
{
	memset(g, 0, sizeof(*g));
	monkey_capture_buf_init(&g->out, a->opts.output_max);
	monkey_capture_buf_init(&g->err, a->opts.output_max);
}

static char *refuse(bool *is_error, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *refuse(bool *is_error, const char *fmt, ...)
{
	va_list ap;
	char buf[2048];
	*is_error = true;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strdup(buf);
}

static struct agent_job *free_slot(struct agent_jobs *js)
{
	for (int i = 0; i < AGENT_JOBS_MAX; i++)
		if (!js->slot[i].id)
			return &js->slot[i];
	return NULL;
}

static int start(struct monkey_agent *a, const struct agent_block *call,
		 const struct tool_args *args, char **content, bool *is_error)
{
	struct agent_job *jb = free_slot(&a->jobs);
	if (!a->session || !monkey_session_has_jobs(a->session)) {
		*content = refuse(
		    is_error,
		    "background jobs are not available here: the %s backend "
		    "cannot run them; run the command in the foreground "
		    "(without background)",
		    monkey_executor_backend_name(a->ex));
		return *content ? 0 : -ENOMEM;
	}
	if (!jb) {
		*content = refuse(is_error,
				  "%d jobs run already, the most at once: stop "
				  "one with job_stop first",
				  AGENT_JOBS_MAX);
		return *content ? 0 : -ENOMEM;
	}
	_cleanup_free_ char *rel = NULL;
	struct monkey_error e = {0};
	if (args->workdir &&
	    tools_shell_workdir(a->root, args->workdir, &rel, &e) < 0) {
		*content =
		    refuse(is_error, "the job was not started: %s", e.message);
		return *content ? 0 : -ENOMEM;
	}
	struct monkey_command cmd = {
	    .argv = (const char *const *)args->argv.v,
	    .workdir = rel ? rel : a->default_workdir,
	    .stdin_data = args->stdin_data,
	    .stdin_len = args->stdin_len,
	    .has_stdin = args->has_stdin,
	};
	int64_t limit = a->opts.job_timeout_ms > 0
			    ? a->opts.job_timeout_ms
			    : MONKEY_AGENT_DEFAULT_JOB_TIMEOUT_MS;
	if (monkey_job_start(a->session, &cmd, limit, &jb->j, &e) < 0) {
		*content =
		    refuse(is_error, "the job was not started: %s", e.message);
		return *content ? 0 : -ENOMEM;
	}
	jb->id = ++a->jobs.next_id;
	jb->display = monkey_quote_argv(cmd.argv);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "argv", transcript_strv(cmd.argv));
	json_object_object_add(o, "workdir",
			       json_object_new_string(cmd.workdir));
	if (cmd.has_stdin)
		json_object_object_add(o, "stdin",
				       json_object_new_string_len(
					   cmd.stdin_data, (int)cmd.stdin_len));
	record(a, "start", call->id, jb->id, NULL, o);
	struct gathered g;
	gathered_init(a, &g);
	gather(jb, AGENT_JOB_FIRST_MS, &g, &e);
	record(a, "read", call->id, jb->id, &g, NULL);
	*content = answer(a, jb, &g, "started in the background\n");
	*is_error = false;
	return *content ? 0 : -ENOMEM;
}

int agent_job_tool(struct monkey_agent *a, const struct agent_block *call,
		   const struct tool_args *args, char **content, bool *is_error)
{
	if (args->kind == TOOL_SHELL)
		return start(a, call, args, content, is_error);
	struct agent_job *jb = find(&a->jobs, args->job);
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)args->job);
	if (!jb) {
		*content = refuse(is_error,
				  "there is no job %s (it never existed, or "
				  "its end was already reported)",
				  num);
		return *content ? 0 : -ENOMEM;
	}
	struct monkey_error e = {0};
	struct gathered g;
	gathered_init(a, &g);
	*is_error = false;
	if (args->kind == TOOL_JOB_INPUT) {
		int r = monkey_job_write(jb->j, args->data, args->data_len,
					 args->eof, &e);
		json_object *o = json_object_new_object();
		json_object_object_add(
		    o, "bytes", json_object_new_int64((int64_t)args->data_len));
		json_object_object_add(o, "data",
				       json_object_new_string_len(
					   args->data, (int)args->data_len));
		json_object_object_add(o, "eof",
				       json_object_new_boolean(args->eof));
		record(a, "input", call->id, jb->id, NULL, o);
		monkey_capture_buf_free(&g.out);
		monkey_capture_buf_free(&g.err);
		*is_error = r < 0;
		*content = r < 0
			       ? monkey_strdup_printf(
				     "job %d: the input was not written: %s",
				     jb->id, e.message)
			       : monkey_strdup_printf(
				     "job %d: %zu bytes written%s", jb->id,
				     args->data_len,
				     args->eof ? "; its stdin is closed" : "");
		return *content ? 0 : -ENOMEM;
	}
	const char *head = "";
	if (args->kind == TOOL_JOB_STOP) {
		monkey_job_stop(jb->j, &e);
		head = "stopped\n";
		gather(jb, 0, &g, &e);
		record(a, "stop", call->id, jb->id, &g, NULL);
	} else {
		gather(jb, args->wait_ms >= 0 ? args->wait_ms : 1000, &g, &e);
		record(a, "read", call->id, jb->id, &g, NULL);
	}
	*content = answer(a, jb, &g, head);
	return *content ? 0 : -ENOMEM;
}
