/* buf.c - bounds-checked reader and growable writer; see buf.h. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int rbuf_get_direct(struct rbuf *r, const uint8_t **out, size_t n)
{
    if (rbuf_left(r) < n)
        return PCP_ERR_TRUNCATED;
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

int rbuf_get_bytes(struct rbuf *r, void *out, size_t n)
{
    const uint8_t *p;
    int e = rbuf_get_direct(r, &p, n);
    if (e == 0 && n > 0)
        memcpy(out, p, n);
    return e;
}

int rbuf_skip(struct rbuf *r, size_t n)
{
    const uint8_t *p;
    return rbuf_get_direct(r, &p, n);
}

static int get_be(struct rbuf *r, uint64_t *v, size_t n)
{
    const uint8_t *p;
    int e = rbuf_get_direct(r, &p, n);
    if (e)
        return e;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | p[i];
    *v = x;
    return 0;
}

int rbuf_get_u8(struct rbuf *r, uint8_t *v)
{
    uint64_t x;
    int e = get_be(r, &x, 1);
    if (e == 0)
        *v = (uint8_t)x;
    return e;
}

int rbuf_get_u16(struct rbuf *r, uint16_t *v)
{
    uint64_t x;
    int e = get_be(r, &x, 2);
    if (e == 0)
        *v = (uint16_t)x;
    return e;
}

int rbuf_get_u32(struct rbuf *r, uint32_t *v)
{
    uint64_t x;
    int e = get_be(r, &x, 4);
    if (e == 0)
        *v = (uint32_t)x;
    return e;
}

int rbuf_get_u64(struct rbuf *r, uint64_t *v)
{
    return get_be(r, v, 8);
}

void wbuf_init(struct wbuf *w)
{
    memset(w, 0, sizeof(*w));
}

void wbuf_free(struct wbuf *w)
{
    free(w->p);
    wbuf_init(w);
}

void wbuf_reset(struct wbuf *w)
{
    w->len = 0;
    w->err = 0;
}

uint8_t *wbuf_reserve(struct wbuf *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n > SIZE_MAX / 2 - w->len) {
        w->err = PCP_ERR_TOO_BIG;
        return NULL;
    }
    if (w->len + n > w->cap || !w->p) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->err = PCP_ERR_NOMEM;
            return NULL;
        }
        w->p = p;
        w->cap = cap;
    }
    uint8_t *out = w->p + w->len;
    w->len += n;
    return out;
}

static void put_be(struct wbuf *w, uint64_t v, size_t n)
{
    uint8_t *p = wbuf_reserve(w, n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void wbuf_put_u8(struct wbuf *w, uint8_t v)
{
    put_be(w, v, 1);
}

void wbuf_put_u16(struct wbuf *w, uint16_t v)
{
    put_be(w, v, 2);
}

void wbuf_put_u32(struct wbuf *w, uint32_t v)
{
    put_be(w, v, 4);
}

void wbuf_put_u64(struct wbuf *w, uint64_t v)
{
    put_be(w, v, 8);
}

void wbuf_put_bytes(struct wbuf *w, const void *p, size_t n)
{
    uint8_t *d = wbuf_reserve(w, n);
    if (d && n > 0)
        memcpy(d, p, n);
}
