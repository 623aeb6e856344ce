/*
 * buf.h - bounds-checked reader and growable writer for wire formats.
 *
 * Every read from untrusted bytes goes through a getter that checks the
 * remaining length first and returns PCP_ERR_TRUNCATED instead of reading
 * past the end (the shape of OpenSSH's sshbuf). Integers are big-endian.
 */
#ifndef PCP_BUF_H
#define PCP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
    const uint8_t *p;
    size_t len;
    size_t off;
};

static inline void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
    r->p = (const uint8_t *)p;
    r->len = len;
    r->off = 0;
}

static inline size_t rbuf_left(const struct rbuf *r)
{
    return r->len - r->off;
}

int rbuf_get_u8(struct rbuf *r, uint8_t *v);
int rbuf_get_u16(struct rbuf *r, uint16_t *v);
int rbuf_get_u32(struct rbuf *r, uint32_t *v);
int rbuf_get_u64(struct rbuf *r, uint64_t *v);
/* Copy exactly n bytes out. */
int rbuf_get_bytes(struct rbuf *r, void *out, size_t n);
/* Point at the next n bytes without copying. */
int rbuf_get_direct(struct rbuf *r, const uint8_t **out, size_t n);
int rbuf_skip(struct rbuf *r, size_t n);

struct wbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    int err; /* sticky: the first failure, checked once at the end */
};

void wbuf_init(struct wbuf *w);
void wbuf_free(struct wbuf *w);
void wbuf_reset(struct wbuf *w);
/* Make room for n more bytes; returns a pointer to them or NULL. */
uint8_t *wbuf_reserve(struct wbuf *w, size_t n);
void wbuf_put_u8(struct wbuf *w, uint8_t v);
void wbuf_put_u16(struct wbuf *w, uint16_t v);
void wbuf_put_u32(struct wbuf *w, uint32_t v);
void wbuf_put_u64(struct wbuf *w, uint64_t v);
void wbuf_put_bytes(struct wbuf *w, const void *p, size_t n);

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#endif
