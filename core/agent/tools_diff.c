/* What a write_file or edit_file call changes, for a person to approve or
 * watch: lines added and removed (Myers' O(ND) edit distance, bounded) and
 * the first changed lines with a little context, escaped. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "tools.h"

/* Context lines shown before the first change. */
#define CONTEXT 2
/* Removed and added lines shown, each. */
#define SHOW 6
/* Bytes of one shown line. */
#define LINE_MAX_SHOWN 100
/* Beyond these the counts are the size of the changed region, an upper
 * bound, so that a huge rewrite costs little to describe. */
#define MYERS_LINES 200000
#define MYERS_WORK 5000000

struct line {
	const char *p;
	size_t len; /* with its newline, if any */
	uint64_t h;
};

struct side {
	const char *s;
	size_t len;
	struct line *v;
	size_t n;
};

static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;
	for (const char *p = s, *end = s + len; p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	return n;
}

static int split(struct side *sd)
{
	sd->n = count_lines(sd->s, sd->len);
	sd->v = calloc(sd->n ? sd->n : 1, sizeof(*sd->v));
	if (!sd->v)
		return -ENOMEM;
	const char *p = sd->s, *end = sd->s + sd->len;
	for (size_t i = 0; i < sd->n; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		uint64_t h = 1469598103934665603ull; /* FNV-1a */
		for (size_t k = 0; k < l; k++)
			h = (h ^ (unsigned char)p[k]) * 1099511628211ull;
		sd->v[i] = (struct line){p, l, h};
		p += l;
	}
	return 0;
}

static bool same(const struct line *a, const struct line *b)
{
	return a->h == b->h && a->len == b->len && !memcmp(a->p, b->p, a->len);
}

/* Lines the two texts share at their start: the index in bytes of the
 * first line that differs in *ob / *nb, the count returned. */
static size_t common_prefix(const char *o, size_t olen, const char *n,
			    size_t nlen, size_t *bytes)
{
	size_t i = 0, lines = 0, last = 0;
	while (i < olen && i < nlen && o[i] == n[i]) {
		if (o[i++] == '\n') {
			lines++;
			last = i;
		}
	}
	/* Both ended together on a line without a newline: equal texts. */
	if (i == olen && i == nlen && i > last) {
		lines++;
		last = i;
	}
	*bytes = last;
	return lines;
}

/* The same from the end, not reaching into the first max bytes. */
static size_t common_suffix(const char *o, size_t olen, const char *n,
			    size_t nlen, size_t max, size_t *bytes)
{
	size_t i = 0, lines = 0, last = 0;
	while (i < olen - max && i < nlen - max &&
	       o[olen - 1 - i] == n[nlen - 1 - i]) {
		i++;
		/* A line ends where the one before it ends in a newline, or
		 * at the start of the region. */
		bool start_o = i == olen - max || o[olen - 1 - i] == '\n';
		bool start_n = i == nlen - max || n[nlen - 1 - i] == '\n';
		if (start_o && start_n) {
			lines++;
			last = i;
		}
	}
	*bytes = last;
	return lines;
}

/* Myers' greedy forward pass: the edit distance, or -1 past the work
 * bound. */
static long edit_distance(const struct side *o, const struct side *n)
{
	long N = (long)o->n, M = (long)n->n, max = N + M;
	if (!N || !M)
		return max;
	long *v = calloc((size_t)(2 * max + 2), sizeof(long));
	if (!v)
		return -1;
	long *V = v + max + 1, work = 0, d_found = -1;
	for (long d = 0; d <= max && d_found < 0 && work < MYERS_WORK; d++) {
		for (long k = -d; k <= d; k += 2) {
			long x = k == -d || (k != d && V[k - 1] < V[k + 1])
				     ? V[k + 1]
				     : V[k - 1] + 1;
			long y = x - k;
			while (x < N && y < M && same(&o->v[x], &n->v[y]))
				x++, y++, work++;
			V[k] = x;
			work++;
			if (x >= N && y >= M) {
				d_found = d;
				break;
			}
		}
	}
	free(v);
	return d_found;
}

static void put(FILE *f, char mark, const struct line *l)
{
	size_t len = l->len;
	if (len && l->p[len - 1] == '\n')
		len--;
	/* Cut on a character boundary, so the cut shows no stray byte. */
	size_t cut = monkey_esc_cut(l->p, len, LINE_MAX_SHOWN);
	char *e = monkey_escape(l->p, cut, MONKEY_ESC_MULTILINE, NULL);
	fprintf(f, "%c%s%s\n", mark, e ? e : "?", cut < len ? "..." : "");
	free(e);
}

/* The first hunk: the smallest i + j where old line i meets new line j
 * again, searched over a short distance. */
static void first_hunk(const struct side *o, const struct side *n, size_t *ri,
		       size_t *rj)
{
	for (size_t s = 1; s <= 4 * SHOW; s++)
		for (size_t i = 0; i <= s; i++) {
			size_t j = s - i;
			if (i < o->n && j < n->n && same(&o->v[i], &n->v[j])) {
				*ri = i;
				*rj = j;
				return;
			}
		}
	*ri = o->n;
	*rj = n->n;
}

/* Render context and the first hunk of the changed regions o and n, which
 * start after `before` unchanged lines ending at ctx_end bytes. */
static int render(struct tools_diff *d, const char *text, size_t ctx_end,
		  size_t before, const struct side *o, const struct side *n)
{
	size_t len = 0;
	FILE *f = open_memstream(&d->text, &len);
	if (!f)
		return -ENOMEM;
	/* The context: the last CONTEXT lines before the change. */
	struct side ctx = {.s = text, .len = ctx_end};
	size_t skip = before > CONTEXT ? before - CONTEXT : 0;
	const char *p = text;
	for (size_t i = 0; i < skip; i++)
		p = (const char *)memchr(p, '\n',
					 ctx_end - (size_t)(p - text)) +
		    1;
	ctx.s = p;
	ctx.len = ctx_end - (size_t)(p - text);
	fprintf(f, "@@ line %zu @@\n", skip + 1);
	if (split(&ctx) == 0)
		for (size_t i = 0; i < ctx.n; i++)
			put(f, ' ', &ctx.v[i]);
	free(ctx.v);
	size_t hi, hj, shown = 0;
	first_hunk(o, n, &hi, &hj);
	for (size_t i = 0; i < hi && i < SHOW; i++, shown++)
		put(f, '-', &o->v[i]);
	for (size_t j = 0; j < hj && j < SHOW; j++, shown++)
		put(f, '+', &n->v[j]);
	size_t total = d->added + d->removed;
	if (total > shown)
		fprintf(f, "... %zu more changed line%s\n", total - shown,
			total - shown == 1 ? "" : "s");
	if (fclose(f) != 0 || !d->text)
		return -ENOMEM;
	/* No trailing newline: callers print line by line. */
	if (len && d->text[len - 1] == '\n')
		d->text[len - 1] = '\0';
	return 0;
}

int tools_diff(const char *old, size_t olen, const char *new, size_t nlen,
	       struct tools_diff *d)
{
	memset(d, 0, sizeof(*d));
	if (memchr(old, '\0', olen) || memchr(new, '\0', nlen)) {
		d->binary = true;
		d->text = monkey_strdup_printf("binary contents: %zu bytes "
					       "(were %zu)",
					       nlen, olen);
		return d->text ? 0 : -ENOMEM;
	}
	size_t pre_bytes, suf_bytes;
	size_t before = common_prefix(old, olen, new, nlen, &pre_bytes);
	common_suffix(old, olen, new, nlen, pre_bytes, &suf_bytes);
	struct side o = {.s = old + pre_bytes,
			 .len = olen - pre_bytes - suf_bytes};
	struct side n = {.s = new + pre_bytes,
			 .len = nlen - pre_bytes - suf_bytes};
	size_t on = count_lines(o.s, o.len), nn = count_lines(n.s, n.len);
	if (!on && !nn) {
		d->text = strdup("no change");
		return d->text ? 0 : -ENOMEM;
	}
	long dist = -1;
	int r = 0;
	if (on <= MYERS_LINES && nn <= MYERS_LINES) {
		if (split(&o) < 0 || split(&n) < 0)
			r = -ENOMEM;
		else
			dist = edit_distance(&o, &n);
	}
	/* dist = removed + added; the lines both keep are (on+nn-dist)/2. */
	size_t common = dist >= 0 ? (on + nn - (size_t)dist) / 2 : 0;
	d->approximate = dist < 0;
	d->removed = on - common;
	d->added = nn - common;
	if (r == 0 && o.v && n.v)
		r = render(d, new, pre_bytes, before, &o, &n);
	else if (r == 0)
		r = (d->text = monkey_strdup_printf("@@ line %zu @@ (a large "
						    "change)",
						    before + 1))
			? 0
			: -ENOMEM;
	free(o.v);
	free(n.v);
	return r;
}

void tools_diff_free(struct tools_diff *d)
{
	free(d->text);
	memset(d, 0, sizeof(*d));
}
