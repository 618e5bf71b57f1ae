/* The launcher's in-band protocol (launch.c is the other side): the header
 * that carries a command and its stdin to monkey-launch, the ready lines
 * it says before it reads them, and the records at the end of its stdout
 * and stderr that say how the command ended, taken out of the output as it
 * streams.  Once both records arrived the output is complete and the
 * answer is known, so the backend neither waits for the engine to see the
 * container stop nor asks it how the command ended. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "inband.h"

#define LAUNCH_MARK "\036monkey-launch:"
/* The launcher's first words, on stdout and on stderr, before it reads
 * the command: until they arrive nothing of the command can have run, and
 * what the streams carry instead (the runtime's or the engine's complaint
 * that the launcher could not be executed) is not the command's output. */
#define LAUNCH_READY "\036monkey-launch:ready\n"

/* ---- taking the launcher's records out of the output ---- */

static int emit(struct dk_launch_filter *f, int stream, const char *p, size_t n)
{
	return n ? f->out(f->ctx, stream, p, n) : 0;
}

/* Both records arrived: the output is complete, the answer known. */
int dk_launch_filter_done(const struct dk_launch_filter *f)
{
	return f->s[0].done && f->s[1].done;
}

static int match_out(struct dk_launch_filter *f, int stream, const void *data,
		     size_t len)
{
	struct dk_rec_stream *r = &f->s[stream == MONKEY_STREAM_STDERR];
	const char *p = data;
	size_t start = 0; /* the first byte not yet passed on */
	int rc;

	for (size_t i = 0; i < len && !r->done; i++) {
		char c = p[i];
		if (r->in_record) {
			if (c == '\n') {
				r->done = 1;
				r->rec[r->rec_len] = '\0';
			} else if (r->rec_len < sizeof(r->rec) - 1) {
				r->rec[r->rec_len++] = c;
			}
			start = i + 1;
			continue;
		}
		if (c != f->mark[r->matched] && r->matched) {
			/* Not the record: what was held back is output.  The
			 * mark's first byte occurs in it only once, so only c
			 * itself can begin another. */
			size_t held = r->matched;
			r->matched = 0;
			if ((rc = emit(f, stream, f->mark, held)) < 0)
				return rc;
			start = i;
		}
		if (c == f->mark[r->matched]) {
			if (r->matched == 0 &&
			    (rc = emit(f, stream, p + start, i - start)) < 0)
				return rc;
			start = i + 1;
			if (++r->matched == f->mark_len) {
				r->in_record = 1;
				r->matched = 0;
			}
		}
	}
	if (!r->done && !r->in_record && !r->matched &&
	    (rc = emit(f, stream, p + start, len - start)) < 0)
		return rc;
	return dk_launch_filter_done(f);
}

void dk_launch_filter_init(struct dk_launch_filter *f, monkey_output_fn out,
			   void *ctx, const char *nonce)
{
	memset(f, 0, sizeof(*f));
	f->out = out;
	f->ctx = ctx;
	f->mark_len = (size_t)snprintf(f->mark, sizeof(f->mark),
				       "%s%s:", LAUNCH_MARK, nonce);
}

int dk_launch_filter_sink(void *ctx, int stream, const void *data, size_t len)
{
	return match_out(ctx, stream, data, len);
}

/* The streams travel apart (either may overtake the other), so stdout up
 * to its ready line is dropped: it is not a command's, none has run yet. */
int dk_launch_ready_sink(void *ctx, int stream, const void *data, size_t len)
{
	static const char ready[] = LAUNCH_READY;
	const size_t n = sizeof(ready) - 1;
	struct dk_launch_ready *r = ctx;
	const char *p = data;
	int err = stream == MONKEY_STREAM_STDERR;
	size_t *m = &r->matched[err];
	for (size_t i = 0; i < len; i++) {
		if (*m == n)
			return -EPROTO; /* nothing follows it before the
					   command */
		if (p[i] == ready[*m]) {
			(*m)++;
			continue;
		}
		if (err)
			return -EPROTO;
		/* The mark's first byte occurs in it once: only this byte
		 * can begin another. */
		r->dropped += *m;
		*m = p[i] == ready[0];
		r->dropped += !*m;
	}
	return r->matched[0] == n && r->matched[1] == n ? 1 : 0;
}

/* At the end of the stream: bytes held back were output after all. */
void dk_launch_filter_flush(struct dk_launch_filter *f)
{
	for (int i = 0; i < 2; i++)
		if (f->s[i].matched && !f->s[i].done)
			f->out(f->ctx,
			       i ? MONKEY_STREAM_STDERR : MONKEY_STREAM_STDOUT,
			       f->mark, f->s[i].matched);
}

/* ---- the command header ---- */

static int put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

static size_t put_str(unsigned char *p, const char *s)
{
	size_t l = strlen(s);
	put_u32(p, (uint32_t)l);
	memcpy(p + 4, s, l);
	return 4 + l;
}

static size_t put_u64(unsigned char *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
	return 8;
}

/* The launcher's header followed by the command's stdin data, whose
 * length the header carries: the stream stays open after it.  git, when
 * it has a path, is the read-only .git the launcher checks first. */
unsigned char *dk_launch_input(const struct monkey_exec_request *req,
			       const char *nonce, const char *wd,
			       const struct dk_git *git, int session,
			       size_t *len)
{
	size_t n = 4 + 4 + 4 + strlen(nonce) + 4 + strlen(wd) + 4 + 4 + 8;
	if (git->path)
		n += 4 + strlen(git->path) + 16;
	uint32_t argc = 0;
	for (const char *const *a = req->argv; *a; a++, argc++)
		n += 4 + strlen(*a);
	const char *env[DK_ENV_MAX];
	size_t nenv = session ? dk_container_env(req, env, DK_ENV_MAX) : 0;
	if (session)
		n += 8 + 8 + 4;
	for (size_t i = 0; i < nenv; i++)
		n += 4 + strlen(env[i]);
	size_t in = req->has_stdin ? req->stdin_len : 0;
	/* One byte more: room for a session's cancel. */
	unsigned char *buf = malloc(n + in + 1);
	if (!buf)
		return NULL;
	unsigned char *p = buf;
	memcpy(p, "MKL3", 4);
	p += 4;
	p += put_u32(p, (req->has_stdin ? 1u : 0u) | (session ? 2u : 0u));
	p += put_str(p, nonce);
	p += put_str(p, wd);
	p += put_u32(p, git->path ? 1 : 0);
	if (git->path) {
		p += put_str(p, git->path);
		p += put_u64(p, git->dev);
		p += put_u64(p, git->ino);
	}
	p += put_u32(p, argc);
	for (const char *const *a = req->argv; *a; a++)
		p += put_str(p, *a);
	if (session) {
		p += put_u64(
		    p, (uint64_t)(req->timeout_ms > 0 ? req->timeout_ms : 0));
		p += put_u64(p, (uint64_t)(req->kill_grace_ms > 0
					       ? req->kill_grace_ms
					       : 0));
		p += put_u32(p, (uint32_t)nenv);
		for (size_t i = 0; i < nenv; i++)
			p += put_str(p, env[i]);
	}
	p += put_u64(p, (uint64_t)in);
	if (in)
		memcpy(p, req->stdin_data, in);
	*len = n + in;
	return buf;
}

int dk_launch_nonce(char out[33])
{
	unsigned char r[16];
	ssize_t n = getrandom(r, sizeof(r), 0);
	if (n != (ssize_t)sizeof(r))
		return n < 0 ? -errno : -EIO;
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
	return 0;
}

/* ---- the answer from the records ---- */

/* "fail:errno:stage:message": the same error the runtime gives when it
 * cannot start the program (127 not found, 126 not executable). */
static int launch_failure(struct dk_state *st, const char *rec,
			  struct monkey_exec_result *result,
			  struct monkey_error *err)
{
	int e = atoi(rec + 5);
	const char *msg = rec + 5;
	for (int i = 0; i < 2 && msg; i++) /* errno:stage:message */
		if ((msg = strchr(msg, ':')))
			msg++;
	result->exit_code = -1;
	result->signal = 0;
	/* Only the program itself is "not found" (127) or "not executable"
	 * (126); a working directory the command may not enter is the
	 * sandbox's failure (125). */
	int is_exec = !strncmp(rec + 5 + strcspn(rec + 5, ":"), ":exec:", 6);
	int code = !is_exec	 ? -EIO
		   : e == ENOENT ? -ENOENT
		   : e == EACCES ? -EACCES
				 : -EIO;
	return st->host->set_error(err, code, "starting the command failed: %s",
				   msg ? msg : rec);
}

/* One of the record's 1/0/? answers as a monkey_tristate. */
static int tristate(char c)
{
	return c == '1' ? MONKEY_YES : c == '0' ? MONKEY_NO : MONKEY_UNKNOWN;
}

/* One figure of the usage tail: a number, or "?" (-1).  Returns the
 * text after it, NULL when it is neither. */
static const char *usage_figure(const char *p, int64_t *v)
{
	if (*p == '?') {
		*v = -1;
		return p + 1;
	}
	char *end;
	errno = 0;
	long long x = strtoll(p, &end, 10);
	if (end == p || x < 0 || errno)
		return NULL;
	*v = x;
	return end;
}

/* ":peak:user_us:sys_us" (ABI 1.2: resource use), or nothing from a
 * launcher that predates it.  Returns 0 or -EPROTO. */
static int apply_usage(const char *tail, struct monkey_exec_result *result)
{
	if (!*tail)
		return 0;
	int64_t v[3];
	for (int i = 0; i < 3; i++) {
		if (*tail++ != ':' || !(tail = usage_figure(tail, &v[i])))
			return -EPROTO;
	}
	if (*tail)
		return -EPROTO;
	if (MONKEY_STRUCT_HAS(result, cpu_system_us)) {
		result->peak_memory_bytes = v[0];
		result->cpu_user_us = v[1];
		result->cpu_system_us = v[2];
	}
	return 0;
}

/* "exit:N:oom:pids:cpu" or "signal:N:oom:pids:cpu", in a session with
 * ":t" (stopped at its timeout), ":c" (at a cancel) or ":-" after it,
 * then the usage figures (which never start with t, c or -).  Returns 0,
 * or -EPROTO when the record is not one of those. */
static int apply_status(const char *rec, struct monkey_exec_result *result)
{
	char how[8], oom, pids, cpu;
	int n, used = 0;
	if (sscanf(rec, "%7[a-z]:%d:%c:%c:%c%n", how, &n, &oom, &pids, &cpu,
		   &used) != 5)
		return -EPROTO;
	if (rec[used] == ':' && rec[used + 1] && strchr("tc-", rec[used + 1]) &&
	    (!rec[used + 2] || rec[used + 2] == ':')) {
		result->timed_out |= rec[used + 1] == 't';
		result->cancelled |= rec[used + 1] == 'c';
		used += 2;
	}
	if (apply_usage(rec + used, result) < 0)
		return -EPROTO;
	if (!strcmp(how, "exit") && n >= 0 && n <= 255) {
		result->exit_code = n;
		result->signal = 0;
	} else if (!strcmp(how, "signal") && n > 0 && n < 65) {
		result->exit_code = -1;
		result->signal = n;
	} else {
		return -EPROTO;
	}
	result->oom_killed = tristate(oom);
	/* Hosts of ABI 1.0 have neither field. */
	if (MONKEY_STRUCT_HAS(result, limits_hit)) {
		if (tristate(pids) == MONKEY_YES)
			result->limits_hit |= MONKEY_LIMIT_PIDS;
		if (tristate(cpu) == MONKEY_YES)
			result->limits_hit |= MONKEY_LIMIT_CPU_TIME;
	}
	if (MONKEY_STRUCT_HAS(result, limits_unknown) &&
	    tristate(pids) == MONKEY_UNKNOWN)
		result->limits_unknown |= MONKEY_LIMIT_PIDS;
	return 0;
}

/* The launcher could not read the cgroup's OOM count: the engine's event
 * log still knows after the container is gone (docker; podman says no
 * OOM events, so its answer stays unknown). */
static void oom_from_events(struct dk_state *st, const char *id, time_t since,
			    struct monkey_exec_result *result)
{
	struct monkey_error e = {0};
	if (result->oom_killed != MONKEY_UNKNOWN || st->is_podman)
		return;
	int r = dk_container_oom_event(st, id, since, &e);
	if (r >= 0)
		result->oom_killed = r ? MONKEY_YES : MONKEY_NO;
}

/* The answer from the records, once the run is over (see inband.h). */
int dk_launch_answer(struct dk_state *st, const struct dk_launch_filter *f,
		     const char *id, time_t since,
		     struct monkey_exec_result *result,
		     struct monkey_error *err)
{
	if (!f->s[1].done)
		return 0; /* the engine's answer (dk_sandbox_run) stands */
	/* The records say how the command ended more exactly than the
	 * container's status (the launcher's own) does. */
	if (!strncmp(f->s[1].rec, "fail:", 5))
		return launch_failure(st, f->s[1].rec, result, err);
	if (apply_status(f->s[1].rec, result) < 0)
		return st->host->set_error(
		    err, -EPROTO,
		    "monkey-launch sent a record this backend does not know "
		    "(%.100s): reinstall monkey so the two match",
		    f->s[1].rec);
	oom_from_events(st, id, since, result);
	return 0;
}
