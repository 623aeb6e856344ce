/*
 * codec.h - compression of one chunk at a time, the one place that knows
 * zlib and zstd. Each chunk is a whole raw deflate stream or one zstd
 * frame, compressed and expanded without any state carried between
 * chunks; the flag (XF_DEFLATED, XF_ZSTD in wire.h) says which. One
 * encoder or decoder per thread. Never decides whether to compress: the
 * send pipeline does.
 */
#ifndef PCP_CODEC_H
#define PCP_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct codec_enc;
struct codec_dec;

/* 1 when this build has zstd. */
int codec_have_zstd(void);

/* zstd: 1 to use zstd (when the build has it and a context can be made;
 * zlib otherwise). NULL when out of memory. */
struct codec_enc *codec_enc_new(int zstd);
void codec_enc_free(struct codec_enc *c);
/* Compresses in[0..n) into out, at most cap bytes, at level 1 (fast) or 2
 * (strong). Returns the compressed length, 0 when it did not fit (or
 * failed), and *flag the XF_* it is sent with. */
size_t codec_compress(struct codec_enc *c, int level, const uint8_t *in, size_t n, uint8_t *out,
                      size_t cap, uint8_t *flag);

/* zstd: the peer may send XF_ZSTD (both have it). NULL when out of memory
 * or zstd is asked of a build without it. */
struct codec_dec *codec_dec_new(int zstd);
void codec_dec_free(struct codec_dec *c);
/* Expands one chunk sent with `flag` into exactly raw_len bytes at out:
 * PCP_ERR_PROTO for anything else (too long, too short, bytes left over,
 * a frame that asks for a larger window than a chunk needs, a flag it
 * does not take). */
int codec_expand(struct codec_dec *c, uint8_t flag, const uint8_t *in, size_t n, uint8_t *out,
                 size_t raw_len);

#endif
