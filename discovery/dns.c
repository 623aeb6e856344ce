/*
 * dns.c - DNS wire format: strict parser and compressing builder; see dns.h.
 *
 * Every byte of a packet is read through struct rbuf, whose getters check
 * the length first. This file must never read outside the packet, follow a
 * compression pointer forwards or to itself, or build a name longer than
 * 255 bytes, whatever the input.
 */
#include "dns.h"

#include <string.h>

#include "err.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int dns_read_name(struct rbuf *r, size_t end, struct dns_name *out)
{
    /* Each pointer must land strictly before the start of the run of
     * labels it ends (`seg`), and the labels it leads to must end before
     * that run (`limit`): positions only ever decrease, so every name ends,
     * and DNS_MAX_JUMPS bounds the work. */
    size_t pos = r->off, limit = end, after = 0;
    size_t seg = pos;
    unsigned jumps = 0;
    int jumped = 0;
    size_t n = 0;

    if (end > r->len)
        return PCP_ERR_INVAL;
    for (;;) {
        struct rbuf c;
        uint8_t l, lo;
        const uint8_t *lab;

        if (pos >= limit)
            return PCP_ERR_PROTO;
        rbuf_init(&c, r->p, limit);
        c.off = pos;
        if (rbuf_get_u8(&c, &l) != 0)
            return PCP_ERR_PROTO;
        if ((l & 0xc0) == 0xc0) {
            if (rbuf_get_u8(&c, &lo) != 0)
                return PCP_ERR_PROTO;
            size_t t = (size_t)(l & 0x3f) << 8 | lo;
            if (!jumped) {
                after = c.off;
                jumped = 1;
            }
            if (t < DNS_HEADER_LEN || t >= seg || ++jumps > DNS_MAX_JUMPS)
                return PCP_ERR_PROTO;
            limit = seg;
            pos = seg = t;
            continue;
        }
        if (l & 0xc0) /* 0x40 and 0x80 label types are not in use */
            return PCP_ERR_PROTO;
        if (l == 0) {
            out->b[n++] = 0;
            out->len = (uint8_t)n;
            r->off = jumped ? after : c.off;
            return 0;
        }
        /* room for this label and the root label after it */
        if (n + 1 + l + 1 > DNS_NAME_MAX)
            return PCP_ERR_PROTO;
        if (rbuf_get_direct(&c, &lab, l) != 0)
            return PCP_ERR_PROTO;
        out->b[n] = l;
        memcpy(out->b + n + 1, lab, l);
        n += 1 + (size_t)l;
        pos = c.off;
    }
}

static int check_txt(const uint8_t *p, size_t len)
{
    struct rbuf r;
    rbuf_init(&r, p, len);
    while (rbuf_left(&r) > 0) {
        uint8_t l;
        if (rbuf_get_u8(&r, &l) != 0 || rbuf_skip(&r, l) != 0)
            return PCP_ERR_PROTO;
    }
    return 0;
}

static int parse_rdata(struct rbuf *r, struct dns_rr *rr)
{
    size_t start = r->off, end = start + rr->rdlen;
    struct rbuf sub;
    const uint8_t *p;

    if (rbuf_get_direct(r, &p, rr->rdlen) != 0)
        return PCP_ERR_PROTO;
    rr->rdata = p;
    r->off = start;
    switch (rr->type) {
    case DNS_TYPE_A:
        if (rr->rdlen != 4)
            return PCP_ERR_PROTO;
        memcpy(rr->u.a, p, 4);
        break;
    case DNS_TYPE_AAAA:
        if (rr->rdlen != 16)
            return PCP_ERR_PROTO;
        memcpy(rr->u.aaaa, p, 16);
        break;
    case DNS_TYPE_PTR:
        if (dns_read_name(r, end, &rr->u.ptr) != 0 || r->off != end)
            return PCP_ERR_PROTO;
        break;
    case DNS_TYPE_SRV:
        rbuf_init(&sub, r->p, end);
        sub.off = start;
        if (rbuf_get_u16(&sub, &rr->u.srv.priority) != 0 ||
            rbuf_get_u16(&sub, &rr->u.srv.weight) != 0 || rbuf_get_u16(&sub, &rr->u.srv.port) != 0)
            return PCP_ERR_PROTO;
        r->off = sub.off;
        if (dns_read_name(r, end, &rr->u.srv.target) != 0 || r->off != end)
            return PCP_ERR_PROTO;
        break;
    case DNS_TYPE_TXT:
        if (check_txt(p, rr->rdlen) != 0)
            return PCP_ERR_PROTO;
        break;
    default:
        break;
    }
    r->off = end;
    return 0;
}

int dns_parse(struct dns_msg *m, const uint8_t *pkt, size_t len)
{
    struct rbuf r;
    uint16_t qd, an, ns, ar;

    if (!m || (!pkt && len > 0))
        return PCP_ERR_INVAL;
    m->nq = m->nrr = 0;
    if (len > 65535)
        return PCP_ERR_PROTO;
    rbuf_init(&r, pkt, len);
    if (rbuf_get_u16(&r, &m->id) != 0 || rbuf_get_u16(&r, &m->flags) != 0 ||
        rbuf_get_u16(&r, &qd) != 0 || rbuf_get_u16(&r, &an) != 0 || rbuf_get_u16(&r, &ns) != 0 ||
        rbuf_get_u16(&r, &ar) != 0)
        return PCP_ERR_PROTO;
    if (qd > DNS_MAX_QUESTIONS || (size_t)an + ns + ar > DNS_MAX_RRS)
        return PCP_ERR_PROTO;

    for (size_t i = 0; i < qd; i++) {
        struct dns_question *q = &m->q[i];
        uint16_t klass;
        if (dns_read_name(&r, len, &q->name) != 0 || rbuf_get_u16(&r, &q->type) != 0 ||
            rbuf_get_u16(&r, &klass) != 0)
            return PCP_ERR_PROTO;
        q->unicast = (klass & DNS_CLASS_TOPBIT) != 0;
        q->klass = klass & (uint16_t)~DNS_CLASS_TOPBIT;
        m->nq = i + 1;
    }
    size_t nrr = (size_t)an + ns + ar;
    for (size_t i = 0; i < nrr; i++) {
        struct dns_rr *rr = &m->rr[i];
        uint16_t klass;
        memset(rr, 0, sizeof(*rr));
        if (dns_read_name(&r, len, &rr->name) != 0 || rbuf_get_u16(&r, &rr->type) != 0 ||
            rbuf_get_u16(&r, &klass) != 0 || rbuf_get_u32(&r, &rr->ttl) != 0 ||
            rbuf_get_u16(&r, &rr->rdlen) != 0)
            return PCP_ERR_PROTO;
        rr->cache_flush = (klass & DNS_CLASS_TOPBIT) != 0;
        rr->klass = klass & (uint16_t)~DNS_CLASS_TOPBIT;
        if (rr->ttl > 0x7fffffffu) /* RFC 2181 section 8 */
            rr->ttl = 0;
        rr->section = (uint8_t)(i < an                ? DNS_SEC_AN
                                : i < (size_t)an + ns ? DNS_SEC_NS
                                                      : DNS_SEC_AR);
        if (parse_rdata(&r, rr) != 0)
            return PCP_ERR_PROTO;
        m->nrr = i + 1;
    }
    if (rbuf_left(&r) != 0)
        return PCP_ERR_PROTO;
    return 0;
}

int dns_name_from_text(struct dns_name *n, const char *text)
{
    size_t len = 0;
    const char *s = text;

    if (!n || !text)
        return PCP_ERR_INVAL;
    n->len = 0;
    if (strcmp(text, ".") == 0)
        s = "";
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        if (l == 0 || l > DNS_LABEL_MAX || len + 1 + l + 1 > DNS_NAME_MAX)
            return PCP_ERR_INVAL;
        n->b[len] = (uint8_t)l;
        memcpy(n->b + len + 1, s, l);
        len += 1 + l;
        s += l;
        if (*s == '.')
            s++;
    }
    n->b[len++] = 0;
    n->len = (uint8_t)len;
    return 0;
}

int dns_name_to_text(const struct dns_name *n, char *out, size_t len)
{
    size_t o = 0, i = 0;

    if (!n || !out || len == 0 || n->len == 0)
        return PCP_ERR_INVAL;
    while (i < n->len && n->b[i] != 0) {
        size_t l = n->b[i++];
        if (o > 0) {
            if (o + 1 >= len)
                goto big;
            out[o++] = '.';
        }
        for (size_t k = 0; k < l && i < n->len; k++, i++) {
            uint8_t c = n->b[i];
            if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
                if (o + 1 >= len)
                    goto big;
                out[o++] = (char)c;
            } else {
                if (o + 4 >= len)
                    goto big;
                out[o++] = '\\';
                out[o++] = (char)('0' + c / 100);
                out[o++] = (char)('0' + c / 10 % 10);
                out[o++] = (char)('0' + c % 10);
            }
        }
    }
    if (o == 0) {
        if (len < 2)
            goto big;
        out[o++] = '.';
    }
    out[o] = '\0';
    return 0;
big:
    out[0] = '\0';
    return PCP_ERR_TOO_BIG;
}

int dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
    if (a->len != b->len || a->len == 0)
        return 0;
    /* Length bytes (all below 64) are unchanged by lower(), so one loop
     * compares structure and folded label bytes together. */
    for (size_t i = 0; i < a->len; i++)
        if (lower(a->b[i]) != lower(b->b[i]))
            return 0;
    return 1;
}

void dns_txt_join(const struct dns_rr *rr, char *out, size_t len)
{
    struct rbuf r;
    size_t o = 0;
    int first = 1;

    if (!out || len == 0)
        return;
    out[0] = '\0';
    if (rr->type != DNS_TYPE_TXT || !rr->rdata)
        return;
    rbuf_init(&r, rr->rdata, rr->rdlen);
    while (rbuf_left(&r) > 0) {
        uint8_t l;
        const uint8_t *s;
        if (rbuf_get_u8(&r, &l) != 0 || rbuf_get_direct(&r, &s, l) != 0)
            break;
        if (!first && o + 1 < len)
            out[o++] = ' ';
        first = 0;
        for (size_t k = 0; k < l && o + 1 < len; k++)
            out[o++] = s[k] >= 0x20 && s[k] < 0x7f ? (char)s[k] : '?';
    }
    out[o] = '\0';
}

/* Builder. */

void dns_builder_init(struct dns_builder *b, uint16_t id, uint16_t flags)
{
    memset(b, 0, sizeof(*b));
    wbuf_init(&b->w);
    wbuf_put_u16(&b->w, id);
    wbuf_put_u16(&b->w, flags);
    for (int i = 0; i < 4; i++)
        wbuf_put_u16(&b->w, 0);
}

void dns_builder_free(struct dns_builder *b)
{
    wbuf_free(&b->w);
}

static int enter(struct dns_builder *b, int section)
{
    if (b->err)
        return -1;
    if (section < DNS_SEC_QD || section > DNS_SEC_AR || section < b->section ||
        b->count[section] == UINT16_MAX) {
        b->err = PCP_ERR_INVAL;
        return -1;
    }
    b->section = section;
    b->count[section]++;
    return 0;
}

/* The name written at `off` of what has been built so far, if readable. */
static int name_at(const struct dns_builder *b, size_t off, struct dns_name *n)
{
    struct rbuf r;
    rbuf_init(&r, b->w.p, b->w.len);
    r.off = off;
    return dns_read_name(&r, b->w.len, n);
}

static void put_name(struct dns_builder *b, const struct dns_name *n)
{
    size_t i = 0, start;
    int ptr = -1;

    if (b->err || b->w.err)
        return;
    if (n->len == 0 || n->b[n->len - 1] != 0) {
        b->err = PCP_ERR_INVAL;
        return;
    }
    /* The longest suffix of n already in the packet. */
    for (i = 0; i < n->len && n->b[i] != 0; i += 1 + (size_t)n->b[i]) {
        struct dns_name suffix, there;
        suffix.len = (uint8_t)(n->len - i);
        memcpy(suffix.b, n->b + i, suffix.len);
        for (size_t k = 0; k < b->nptr; k++) {
            /* byte for byte, so that compression never changes case */
            if (name_at(b, b->ptr[k], &there) == 0 && there.len == suffix.len &&
                memcmp(there.b, suffix.b, suffix.len) == 0) {
                ptr = b->ptr[k];
                break;
            }
        }
        if (ptr >= 0)
            break;
    }
    start = b->w.len;
    /* Remember where each label we write literally begins. */
    for (size_t j = 0; j < i && n->b[j] != 0; j += 1 + (size_t)n->b[j])
        if (start + j < 0x4000 && b->nptr < DNS_BUILD_PTRS)
            b->ptr[b->nptr++] = (uint16_t)(start + j);
    if (ptr >= 0) {
        wbuf_put_bytes(&b->w, n->b, i);
        wbuf_put_u16(&b->w, (uint16_t)(0xc000 | ptr));
    } else {
        wbuf_put_bytes(&b->w, n->b, n->len);
    }
}

void dns_add_question(struct dns_builder *b, const struct dns_name *n, uint16_t type, int unicast)
{
    if (enter(b, DNS_SEC_QD) != 0)
        return;
    put_name(b, n);
    wbuf_put_u16(&b->w, type);
    wbuf_put_u16(&b->w, (uint16_t)(DNS_CLASS_IN | (unicast ? DNS_CLASS_TOPBIT : 0)));
}

/* Owner, type, class, TTL and a placeholder rdlength; returns the offset
 * of the placeholder, or 0 on error. */
static size_t rr_begin(struct dns_builder *b, int section, const struct dns_name *n, uint16_t type,
                       int cache_flush, uint32_t ttl)
{
    if (section == DNS_SEC_QD || enter(b, section) != 0) {
        if (!b->err)
            b->err = PCP_ERR_INVAL;
        return 0;
    }
    put_name(b, n);
    wbuf_put_u16(&b->w, type);
    wbuf_put_u16(&b->w, (uint16_t)(DNS_CLASS_IN | (cache_flush ? DNS_CLASS_TOPBIT : 0)));
    wbuf_put_u32(&b->w, ttl);
    size_t at = b->w.len;
    wbuf_put_u16(&b->w, 0);
    return b->err || b->w.err ? 0 : at;
}

static void rr_end(struct dns_builder *b, size_t at)
{
    if (at == 0 || b->err || b->w.err)
        return;
    size_t rdlen = b->w.len - at - 2;
    if (rdlen > UINT16_MAX) {
        b->err = PCP_ERR_TOO_BIG;
        return;
    }
    b->w.p[at] = (uint8_t)(rdlen >> 8);
    b->w.p[at + 1] = (uint8_t)rdlen;
}

void dns_add_a(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
               uint32_t ttl, const uint8_t a[4])
{
    size_t at = rr_begin(b, section, n, DNS_TYPE_A, cache_flush, ttl);
    if (at) {
        wbuf_put_bytes(&b->w, a, 4);
        rr_end(b, at);
    }
}

void dns_add_aaaa(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
                  uint32_t ttl, const uint8_t aaaa[16])
{
    size_t at = rr_begin(b, section, n, DNS_TYPE_AAAA, cache_flush, ttl);
    if (at) {
        wbuf_put_bytes(&b->w, aaaa, 16);
        rr_end(b, at);
    }
}

void dns_add_ptr(struct dns_builder *b, int section, const struct dns_name *n, uint32_t ttl,
                 const struct dns_name *target)
{
    size_t at = rr_begin(b, section, n, DNS_TYPE_PTR, 0, ttl);
    if (at) {
        put_name(b, target);
        rr_end(b, at);
    }
}

void dns_add_srv(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
                 uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port,
                 const struct dns_name *target)
{
    size_t at = rr_begin(b, section, n, DNS_TYPE_SRV, cache_flush, ttl);
    if (at) {
        wbuf_put_u16(&b->w, priority);
        wbuf_put_u16(&b->w, weight);
        wbuf_put_u16(&b->w, port);
        put_name(b, target);
        rr_end(b, at);
    }
}

void dns_add_txt(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
                 uint32_t ttl, const char *txt)
{
    if (!txt || strlen(txt) > 8192) {
        if (!b->err)
            b->err = PCP_ERR_INVAL;
        return;
    }
    size_t at = rr_begin(b, section, n, DNS_TYPE_TXT, cache_flush, ttl);
    if (!at)
        return;
    const char *s = txt;
    for (;;) {
        size_t l = strcspn(s, " ");
        if (l > 255)
            l = 255;
        wbuf_put_u8(&b->w, (uint8_t)l);
        wbuf_put_bytes(&b->w, s, l);
        s += l;
        if (l == 255 && *s != ' ' && *s != '\0')
            continue; /* a long word goes on in the next string */
        if (*s != ' ')
            break;
        s++;
    }
    rr_end(b, at);
}

int dns_builder_finish(struct dns_builder *b)
{
    if (b->err)
        return b->err;
    if (b->w.err)
        return b->w.err;
    if (b->w.len > DNS_PKT_MAX)
        return PCP_ERR_TOO_BIG;
    for (int i = 0; i < 4; i++) {
        b->w.p[4 + 2 * i] = (uint8_t)(b->count[i] >> 8);
        b->w.p[5 + 2 * i] = (uint8_t)b->count[i];
    }
    return 0;
}
