/* SHA-256, used to fingerprint command output in transcripts so that a
 * replay can tell whether a command printed the same thing again. */
#ifndef MONKEY_TRANSCRIPT_HASH_H
#define MONKEY_TRANSCRIPT_HASH_H

#include <stddef.h>
#include <stdint.h>

struct monkey_sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t buf_len;
};

void monkey_sha256_init(struct monkey_sha256 *s);
void monkey_sha256_update(struct monkey_sha256 *s, const void *data,
			  size_t len);
/* Writes 64 lowercase hex digits and a NUL. */
void monkey_sha256_hex(struct monkey_sha256 *s, char out[65]);

#endif
