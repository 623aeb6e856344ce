/*
 * mbox_codec.c - the DHT mailboxes' values and the candidates sealed in
 * them (mbox.h): pure, no network, for the flows in mbox.c, the tests and
 * the fuzzer. Anyone can put a value under a mailbox's key: everything
 * here is strict about sizes, and the candidates, though they only come
 * from a side that proved the code, are held to what may be dialled.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dht.h"
#include "err.h"
#include "mbox.h"
#include "net.h"
#include "punch.h"

/* The body's size is right for the type. */
static int body_ok(uint8_t type, size_t blen)
{
    switch (type) {
    case MBOX_R1:
        return blen == MBOX_SHAREBYTES;
    case MBOX_S1:
        return blen == MBOX_SHAREBYTES + MBOX_CONFIRMBYTES;
    case MBOX_R2:
        return blen >= MBOX_CONFIRMBYTES + MBOX_SEALED_MIN &&
               blen <= MBOX_CONFIRMBYTES + MBOX_SEALED_MAX;
    case MBOX_S2:
        return blen >= MBOX_SEALED_MIN && blen <= MBOX_SEALED_MAX;
    default:
        return 0;
    }
}

int mbox_parse(const uint8_t *p, size_t len, struct mbox_msg *m)
{
    if (!p || len < MBOX_HDRBYTES || memcmp(p, MBOX_MAGIC, 4) != 0 ||
        !body_ok(p[4], len - MBOX_HDRBYTES))
        return PCP_ERR_PROTO;
    m->type = p[4];
    memcpy(m->aid, p + 5, MBOX_AIDBYTES);
    m->body = p + MBOX_HDRBYTES;
    m->body_len = len - MBOX_HDRBYTES;
    return 0;
}

size_t mbox_make(uint8_t *out, size_t cap, uint8_t type, const uint8_t aid[MBOX_AIDBYTES],
                 const uint8_t *body, size_t blen)
{
    if (!body_ok(type, blen) || cap < MBOX_HDRBYTES || cap - MBOX_HDRBYTES < blen)
        return 0;
    memcpy(out, MBOX_MAGIC, 4);
    out[4] = type;
    memcpy(out + 5, aid, MBOX_AIDBYTES);
    memmove(out + MBOX_HDRBYTES, body, blen);
    return MBOX_HDRBYTES + blen;
}

/* ---- candidates ---------------------------------------------------------- */

static const char kind_key[] = {'a', 'm', 'l'}; /* by enum mbox_cand_kind */

size_t mbox_cands_text(const struct mbox_cands *c, char *out, size_t cap)
{
    char text[MBOX_CANDS_TEXT_MAX + 1];
    size_t len = 0;
    if (c->n == 0 || c->n > MBOX_MAX_CANDS)
        return 0;
    for (size_t i = 0; i < c->n; i++) {
        char a[96];
        if ((unsigned)c->kind[i] > MBOX_CAND_LAN ||
            (c->addr[i].ss_family != AF_INET && c->addr[i].ss_family != AF_INET6))
            return 0;
        net_addr_str(&c->addr[i], 1, a, sizeof(a));
        int w = snprintf(text + len, sizeof(text) - len, "%c=%s\n", kind_key[c->kind[i]], a);
        if (w < 0 || (size_t)w >= sizeof(text) - len)
            return 0;
        len += (size_t)w;
    }
    if (c->nat) {
        int w = snprintf(text + len, sizeof(text) - len, "n=1\n");
        if (w < 0 || (size_t)w >= sizeof(text) - len)
            return 0;
        len += (size_t)w;
    }
    if (len > MBOX_CANDS_TEXT_MAX || len > cap)
        return 0;
    memcpy(out, text, len);
    if (len < cap)
        out[len] = '\0';
    return len;
}

/* A candidate's address: dialable (punch_addr_ok, no loopback), written
 * as net_addr_str writes it (no IPv4-mapped form), and public (a=, m=)
 * or, for l=, private (RFC 1918, ULA) or on one of our links. */
static int cand_ok(const struct sockaddr_storage *a, enum mbox_cand_kind kind)
{
    if (!punch_addr_ok(a, 0))
        return 0;
    if (a->ss_family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)a)->sin6_addr))
        return 0;
    if (kind != MBOX_CAND_LAN)
        return dht_addr_public(a);
    /* net_addr_is_local beyond punch_addr_ok: RFC 1918 and ULA only. */
    return net_addr_is_local(a) || dht_addr_onlink(a);
}

int mbox_cands_parse(const char *text, size_t len, struct mbox_cands *out)
{
    memset(out, 0, sizeof(*out));
    if (!text || len == 0 || len > MBOX_CANDS_TEXT_MAX)
        return PCP_ERR_PROTO;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '\n' && (text[i] < 0x20 || text[i] > 0x7e))
            return PCP_ERR_PROTO; /* control characters, NUL, not ASCII */
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return PCP_ERR_PROTO; /* every line ends with a newline */
        const char *eq = memchr(p, '=', (size_t)(nl - p));
        if (!eq || eq == p)
            return PCP_ERR_PROTO;
        size_t kl = (size_t)(eq - p), vl = (size_t)(nl - eq - 1);
        const char *v = eq + 1;
        const char *k = kl == 1 ? memchr(kind_key, p[0], sizeof(kind_key)) : NULL;
        if (k) {
            enum mbox_cand_kind kind = (enum mbox_cand_kind)(k - kind_key);
            if (out->n == MBOX_MAX_CANDS || net_addr_parse(v, vl, &out->addr[out->n]) != 0 ||
                !cand_ok(&out->addr[out->n], kind))
                return PCP_ERR_PROTO;
            out->kind[out->n++] = kind;
        } else if (kl == 1 && p[0] == 'n') {
            if (vl != 1 || (v[0] != '0' && v[0] != '1'))
                return PCP_ERR_PROTO;
            out->nat = v[0] == '1';
        }
        p = nl + 1;
    }
    return out->n > 0 ? 0 : PCP_ERR_PROTO;
}

size_t mbox_cands_seal(const struct mbox_cands *c, const uint8_t key[32], uint8_t *out, size_t cap)
{
    char text[MBOX_CANDS_TEXT_MAX];
    size_t tl = mbox_cands_text(c, text, sizeof(text));
    if (tl == 0 || cap < MBOX_SEALED_MIN || cap - MBOX_SEALED_MIN < tl) {
        sodium_memzero(text, sizeof(text));
        return 0;
    }
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, (const uint8_t *)text, tl, out, key);
    sodium_memzero(text, sizeof(text));
    return MBOX_SEALED_MIN + tl;
}

int mbox_cands_open(const uint8_t *p, size_t len, const uint8_t key[32], struct mbox_cands *out)
{
    uint8_t text[MBOX_CANDS_TEXT_MAX];
    int e;
    memset(out, 0, sizeof(*out));
    if (!p || len < MBOX_SEALED_MIN || len > MBOX_SEALED_MAX)
        return PCP_ERR_PROTO;
    if (crypto_secretbox_open_easy(text, p + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, p, key) != 0)
        e = PCP_ERR_CRYPTO;
    else
        e = mbox_cands_parse((const char *)text, len - MBOX_SEALED_MIN, out);
    sodium_memzero(text, sizeof(text));
    return e;
}
