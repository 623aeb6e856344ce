/*
 * codec.c - deflate, inflate and zstd of one chunk; see codec.h. The only
 * file that includes zlib.h or zstd.h. Never touches the network, a file
 * or a key.
 */
#include "codec.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef PCP_HAVE_ZSTD
#include <zstd.h>
#endif

#include "err.h"
#include "transfer.h"
#include "wire.h"

struct codec_enc {
    z_stream zs[2]; /* levels 1 and 6; deflateEnd is safe on a zeroed one */
#ifdef PCP_HAVE_ZSTD
    ZSTD_CCtx *zc;
#endif
};

struct codec_dec {
    z_stream z;
#ifdef PCP_HAVE_ZSTD
    ZSTD_DCtx *zd;
#endif
};

int codec_have_zstd(void)
{
#ifdef PCP_HAVE_ZSTD
    return 1;
#else
    return 0;
#endif
}

int xfer_have_zstd(void)
{
    return codec_have_zstd();
}

struct codec_enc *codec_enc_new(int zstd)
{
    struct codec_enc *c = calloc(1, sizeof(*c));
    int ok = 1;
    if (!c)
        return NULL;
    (void)zstd;
#ifdef PCP_HAVE_ZSTD
    /* zstd instead of zlib when both ends have it: as small or smaller, and
     * several times faster both ways. */
    c->zc = zstd ? ZSTD_createCCtx() : NULL;
    if (!c->zc)
#endif
        ok = deflateInit2(&c->zs[0], 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK &&
             deflateInit2(&c->zs[1], 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    if (!ok) {
        codec_enc_free(c);
        return NULL;
    }
    return c;
}

void codec_enc_free(struct codec_enc *c)
{
    if (!c)
        return;
    deflateEnd(&c->zs[0]);
    deflateEnd(&c->zs[1]);
#ifdef PCP_HAVE_ZSTD
    ZSTD_freeCCtx(c->zc);
#endif
    free(c);
}

size_t codec_compress(struct codec_enc *c, int level, const uint8_t *in, size_t n, uint8_t *out,
                      size_t cap, uint8_t *flag)
{
#ifdef PCP_HAVE_ZSTD
    if (c->zc) {
        size_t r = ZSTD_compressCCtx(c->zc, out, cap, in, n, level == 2 ? 6 : 1);
        *flag = XF_ZSTD;
        return ZSTD_isError(r) ? 0 : r;
    }
#endif
    z_stream *z = &c->zs[level == 2 ? 1 : 0];
    deflateReset(z);
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    *flag = XF_DEFLATED;
    return deflate(z, Z_FINISH) == Z_STREAM_END ? z->total_out : 0;
}

struct codec_dec *codec_dec_new(int zstd)
{
    struct codec_dec *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (inflateInit2(&c->z, -15) != Z_OK) {
        free(c);
        return NULL;
    }
#ifdef PCP_HAVE_ZSTD
    c->zd = zstd ? ZSTD_createDCtx() : NULL;
    /* A chunk is at most 256 KiB: a frame that asks for a larger window is
     * refused, not given the memory. */
    if (c->zd)
        ZSTD_DCtx_setParameter(c->zd, ZSTD_d_windowLogMax, 18);
    else if (zstd) {
        codec_dec_free(c);
        return NULL;
    }
#else
    if (zstd) {
        codec_dec_free(c);
        return NULL;
    }
#endif
    return c;
}

void codec_dec_free(struct codec_dec *c)
{
    if (!c)
        return;
    inflateEnd(&c->z);
#ifdef PCP_HAVE_ZSTD
    ZSTD_freeDCtx(c->zd);
#endif
    free(c);
}

int codec_expand(struct codec_dec *c, uint8_t flag, const uint8_t *in, size_t n, uint8_t *out,
                 size_t raw_len)
{
#ifdef PCP_HAVE_ZSTD
    if (flag == XF_ZSTD && c->zd) {
        /* Exactly raw_len bytes from exactly one frame. */
        size_t r = ZSTD_decompressDCtx(c->zd, out, raw_len, in, n);
        return ZSTD_isError(r) || r != raw_len ? PCP_ERR_PROTO : 0;
    }
#endif
    if (flag != XF_DEFLATED)
        return PCP_ERR_PROTO;
    z_stream *z = &c->z;
    inflateReset(z);
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)raw_len;
    int zr = inflate(z, Z_FINISH);
    /* Exactly raw_len bytes and the end of the deflate stream, with no
     * input left over: anything else is a lie. */
    return zr != Z_STREAM_END || z->avail_out != 0 || z->avail_in != 0 ? PCP_ERR_PROTO : 0;
}
