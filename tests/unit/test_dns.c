/* Unit tests for discovery/dns.c: the DNS parser and builder, against
 * packets made by the builder and by hand (compression pointers, loops,
 * truncation, bad labels, bad rdata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"
#include "err.h"

static struct dns_msg *msg;

static int setup(void **state)
{
    (void)state;
    msg = malloc(sizeof(*msg));
    return msg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(msg);
    return 0;
}

static struct dns_name name(const char *text)
{
    struct dns_name n;
    assert_int_equal(dns_name_from_text(&n, text), 0);
    return n;
}

static void assert_name(const struct dns_name *n, const char *text)
{
    char buf[1024];
    assert_int_equal(dns_name_to_text(n, buf, sizeof(buf)), 0);
    assert_string_equal(buf, text);
}

/* A hand-written packet. */
struct raw {
    uint8_t b[4096];
    size_t n;
};

static void raw_hdr(struct raw *r, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                    uint16_t ar)
{
    uint16_t v[6] = {0x1234, flags, qd, an, ns, ar};
    r->n = 0;
    for (int i = 0; i < 6; i++) {
        r->b[r->n++] = (uint8_t)(v[i] >> 8);
        r->b[r->n++] = (uint8_t)v[i];
    }
}

static void raw_u8(struct raw *r, uint8_t v)
{
    assert_true(r->n < sizeof(r->b));
    r->b[r->n++] = v;
}

static void raw_u16(struct raw *r, uint16_t v)
{
    raw_u8(r, (uint8_t)(v >> 8));
    raw_u8(r, (uint8_t)v);
}

static void raw_u32(struct raw *r, uint32_t v)
{
    raw_u16(r, (uint16_t)(v >> 16));
    raw_u16(r, (uint16_t)v);
}

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
    assert_true(r->n + n <= sizeof(r->b));
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

/* "label" as one length-prefixed label */
static void raw_label(struct raw *r, const char *l)
{
    raw_u8(r, (uint8_t)strlen(l));
    raw_bytes(r, l, strlen(l));
}

static void raw_ptr(struct raw *r, uint16_t off)
{
    raw_u16(r, (uint16_t)(0xc000 | off));
}

/* A response with every record type we use, built by the builder. */
static void build_full(struct dns_builder *b)
{
    struct dns_name svc = name("_pcp._tcp.local"), inst = name("pcp-0123._pcp._tcp.local"),
                    host = name("pcp-0123.local");
    const uint8_t a[4] = {192, 0, 2, 7};
    const uint8_t aaaa[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    dns_builder_init(b, 0xbeef, DNS_FLAG_QR | DNS_FLAG_AA);
    dns_add_question(b, &inst, DNS_TYPE_SRV, 1);
    dns_add_ptr(b, DNS_SEC_AN, &svc, 120, &inst);
    dns_add_srv(b, DNS_SEC_AN, &inst, 1, 120, 1, 2, 4242, &host);
    dns_add_txt(b, DNS_SEC_AN, &inst, 1, 120, "v=1 c=tcp:192.0.2.7:4242");
    dns_add_a(b, DNS_SEC_AR, &host, 1, 120, a);
    dns_add_aaaa(b, DNS_SEC_AR, &host, 0, 60, aaaa);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct dns_builder b;
    char txt[256];
    build_full(&b);
    assert_int_equal(dns_builder_finish(&b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);

    assert_int_equal(msg->id, 0xbeef);
    assert_int_equal(msg->flags, DNS_FLAG_QR | DNS_FLAG_AA);
    assert_int_equal(msg->nq, 1);
    assert_name(&msg->q[0].name, "pcp-0123._pcp._tcp.local");
    assert_int_equal(msg->q[0].type, DNS_TYPE_SRV);
    assert_int_equal(msg->q[0].klass, DNS_CLASS_IN);
    assert_int_equal(msg->q[0].unicast, 1);
    assert_int_equal(msg->nrr, 5);

    const struct dns_rr *rr = msg->rr;
    assert_int_equal(rr[0].type, DNS_TYPE_PTR);
    assert_int_equal(rr[0].section, DNS_SEC_AN);
    assert_int_equal(rr[0].cache_flush, 0);
    assert_int_equal(rr[0].ttl, 120);
    assert_name(&rr[0].name, "_pcp._tcp.local");
    assert_name(&rr[0].u.ptr, "pcp-0123._pcp._tcp.local");

    assert_int_equal(rr[1].type, DNS_TYPE_SRV);
    assert_int_equal(rr[1].cache_flush, 1);
    assert_int_equal(rr[1].klass, DNS_CLASS_IN);
    assert_int_equal(rr[1].u.srv.priority, 1);
    assert_int_equal(rr[1].u.srv.weight, 2);
    assert_int_equal(rr[1].u.srv.port, 4242);
    assert_name(&rr[1].u.srv.target, "pcp-0123.local");

    assert_int_equal(rr[2].type, DNS_TYPE_TXT);
    dns_txt_join(&rr[2], txt, sizeof(txt));
    assert_string_equal(txt, "v=1 c=tcp:192.0.2.7:4242");

    assert_int_equal(rr[3].type, DNS_TYPE_A);
    assert_int_equal(rr[3].section, DNS_SEC_AR);
    assert_memory_equal(rr[3].u.a, ((uint8_t[]){192, 0, 2, 7}), 4);
    assert_name(&rr[3].name, "pcp-0123.local");

    assert_int_equal(rr[4].type, DNS_TYPE_AAAA);
    assert_int_equal(rr[4].cache_flush, 0);
    assert_int_equal(rr[4].ttl, 60);
    assert_int_equal(rr[4].u.aaaa[0], 0xfe);
    assert_int_equal(rr[4].u.aaaa[15], 9);
    dns_builder_free(&b);
}

/* The builder must compress: each name whose suffix is already in the
 * packet ends in a pointer to it. */
static void test_builder_compresses(void **state)
{
    (void)state;
    struct dns_builder b;
    build_full(&b);
    assert_int_equal(dns_builder_finish(&b), 0);
    /* Written out, the names alone would take 286 bytes of packet; with
     * compression: header 12, question 26+4, PTR 2+10+2, SRV 2+10+6+11,
     * TXT 2+10+25, A 2+10+4, AAAA 2+10+16. */
    assert_int_equal(b.w.len, 166);
    /* the PTR owner "_pcp._tcp.local" is one pointer to the question
     * name's second label (offset 12 + 9) */
    assert_int_equal(b.w.p[DNS_HEADER_LEN + 26 + 4], 0xc0);
    assert_int_equal(b.w.p[DNS_HEADER_LEN + 26 + 4 + 1], DNS_HEADER_LEN + 9);
    /* and its rdata one pointer to the whole question name */
    assert_int_equal(b.w.p[DNS_HEADER_LEN + 30 + 12], 0xc0);
    assert_int_equal(b.w.p[DNS_HEADER_LEN + 30 + 13], DNS_HEADER_LEN);
    dns_builder_free(&b);
}

static void test_builder_order(void **state)
{
    (void)state;
    struct dns_builder b;
    struct dns_name n = name("x.local");
    const uint8_t a[4] = {10, 0, 0, 1};
    dns_builder_init(&b, 0, 0);
    dns_add_a(&b, DNS_SEC_AR, &n, 0, 1, a);
    dns_add_a(&b, DNS_SEC_AN, &n, 0, 1, a); /* answers after additionals */
    assert_int_equal(dns_builder_finish(&b), PCP_ERR_INVAL);
    dns_builder_free(&b);
    dns_builder_init(&b, 0, 0);
    dns_add_a(&b, DNS_SEC_QD, &n, 0, 1, a); /* a record among questions */
    assert_int_equal(dns_builder_finish(&b), PCP_ERR_INVAL);
    dns_builder_free(&b);
}

static void test_txt_strings(void **state)
{
    (void)state;
    struct dns_builder b;
    struct dns_name n = name("t.local");
    char out[600], big[301];
    memset(big, 'x', 300);
    big[300] = '\0';
    const char *cases[] = {"", "a", "a b", "a  b", "a ", big};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dns_builder_init(&b, 0, DNS_FLAG_QR);
        dns_add_txt(&b, DNS_SEC_AN, &n, 0, 1, cases[i]);
        assert_int_equal(dns_builder_finish(&b), 0);
        assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
        assert_true(msg->rr[0].rdlen >= 1); /* never empty rdata (RFC 6763 6.1) */
        dns_txt_join(&msg->rr[0], out, sizeof(out));
        if (cases[i] == big) /* 255 + 45: split in two strings */
            assert_int_equal(strlen(out), 301);
        else
            assert_string_equal(out, cases[i]);
        dns_builder_free(&b);
    }
    /* joining is bounded and sanitised */
    struct raw r;
    raw_hdr(&r, DNS_FLAG_QR, 0, 1, 0, 0);
    raw_label(&r, "t");
    raw_u8(&r, 0);
    raw_u16(&r, DNS_TYPE_TXT);
    raw_u16(&r, DNS_CLASS_IN);
    raw_u32(&r, 1);
    raw_u16(&r, 8);
    raw_bytes(&r,
              "\x03"
              "a\x1b["
              "\x03"
              "\xff"
              "bc",
              8);
    assert_int_equal(dns_parse(msg, r.b, r.n), 0);
    dns_txt_join(&msg->rr[0], out, sizeof(out));
    assert_string_equal(out, "a?[ ?bc");
    dns_txt_join(&msg->rr[0], out, 4);
    assert_string_equal(out, "a?[");
}

/* Every prefix of a valid packet is refused cleanly, and so is one byte
 * more; run under ASan this also proves no read outside the buffer. */
static void test_truncation(void **state)
{
    (void)state;
    struct dns_builder b;
    build_full(&b);
    assert_int_equal(dns_builder_finish(&b), 0);
    for (size_t len = 0; len < b.w.len; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, b.w.p, len);
        assert_int_equal(dns_parse(msg, copy, len), PCP_ERR_PROTO);
        free(copy);
    }
    uint8_t *longer = malloc(b.w.len + 1);
    memcpy(longer, b.w.p, b.w.len);
    longer[b.w.len] = 0;
    assert_int_equal(dns_parse(msg, longer, b.w.len + 1), PCP_ERR_PROTO);
    assert_int_equal(dns_parse(msg, longer, b.w.len), 0);
    free(longer);
    dns_builder_free(&b);
}

/* One question whose name is given by `fill`. */
static int parse_question(void (*fill)(struct raw *))
{
    struct raw r;
    raw_hdr(&r, 0, 1, 0, 0, 0);
    fill(&r);
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, DNS_CLASS_IN);
    return dns_parse(msg, r.b, r.n);
}

static void fill_self_loop(struct raw *r)
{
    raw_ptr(r, DNS_HEADER_LEN); /* points at itself */
}

static void fill_label_then_loop(struct raw *r)
{
    raw_label(r, "a");
    raw_ptr(r, DNS_HEADER_LEN); /* back to its own start: a loop */
}

static void fill_forward(struct raw *r)
{
    raw_ptr(r, DNS_HEADER_LEN + 2); /* forwards, at what follows */
    raw_u8(r, 0);
}

static void fill_into_header(struct raw *r)
{
    raw_ptr(r, 4);
}

static void fill_label_64(struct raw *r)
{
    char l[65];
    memset(l, 'a', 64);
    l[64] = '\0';
    raw_label(r, l); /* 0x40: the reserved "extended" label type */
    raw_u8(r, 0);
}

static void fill_label_0x80(struct raw *r)
{
    raw_u8(r, 0x80);
    raw_u8(r, 0);
}

/* labels of 63, 63, 63, 61 bytes: 64*3 + 62 + 1 = 255 bytes */
static void fill_name_255(struct raw *r)
{
    char l[64];
    memset(l, 'b', 63);
    l[63] = '\0';
    for (int i = 0; i < 3; i++)
        raw_label(r, l);
    l[61] = '\0';
    raw_label(r, l);
    raw_u8(r, 0);
}

static void fill_name_256(struct raw *r)
{
    char l[64];
    memset(l, 'b', 63);
    l[63] = '\0';
    for (int i = 0; i < 3; i++)
        raw_label(r, l);
    l[62] = '\0';
    raw_label(r, l);
    raw_u8(r, 0);
}

static void fill_unterminated(struct raw *r)
{
    raw_label(r, "abc");
}

static void test_bad_names(void **state)
{
    (void)state;
    assert_int_equal(parse_question(fill_self_loop), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_label_then_loop), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_forward), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_into_header), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_label_64), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_label_0x80), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_unterminated), PCP_ERR_PROTO);
    assert_int_equal(parse_question(fill_name_255), 0);
    assert_int_equal(msg->q[0].name.len, 255);
    assert_int_equal(parse_question(fill_name_256), PCP_ERR_PROTO);
}

/* Two questions, the second compressed against the first: the usual case
 * must work, and a pointer into the middle of a name too. */
static void test_compression_pointers(void **state)
{
    (void)state;
    struct raw r;
    raw_hdr(&r, 0, 3, 0, 0, 0);
    raw_label(&r, "Host");  /* 12 */
    raw_label(&r, "local"); /* 17 */
    raw_u8(&r, 0);
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, DNS_CLASS_IN);
    raw_label(&r, "other");
    raw_ptr(&r, 17); /* other.local */
    raw_u16(&r, DNS_TYPE_AAAA);
    raw_u16(&r, DNS_CLASS_IN | DNS_CLASS_TOPBIT);
    raw_ptr(&r, 12); /* Host.local, whole */
    raw_u16(&r, DNS_TYPE_ANY);
    raw_u16(&r, DNS_CLASS_IN);
    assert_int_equal(dns_parse(msg, r.b, r.n), 0);
    assert_int_equal(msg->nq, 3);
    assert_name(&msg->q[0].name, "Host.local");
    assert_name(&msg->q[1].name, "other.local");
    assert_int_equal(msg->q[1].unicast, 1);
    assert_int_equal(msg->q[1].klass, DNS_CLASS_IN);
    assert_name(&msg->q[2].name, "Host.local");
    assert_true(dns_name_eq(&msg->q[0].name, &msg->q[2].name));

    /* A pointer that leads backwards to a label running over the pointer
     * itself and on into what follows (where another pointer would end
     * the name): refused, the labels a pointer leads to must end before
     * the name that points. Q3 points at the last byte of Q2's class,
     * 0x04, a "label" covering Q3's own pointer and type, after which
     * Q3's class (0xc00c) reads as a pointer to the root at 12. */
    raw_hdr(&r, 0, 3, 0, 0, 0);
    raw_u8(&r, 0); /* Q1 at 12: root */
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, DNS_CLASS_IN);
    raw_label(&r, "q"); /* Q2 at 17 */
    raw_u8(&r, 0);
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, 4);  /* its low byte, at 23, is 4 */
    raw_ptr(&r, 23); /* Q3 at 24 */
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, 0xc00c);
    assert_int_equal(r.n, 30);
    assert_int_equal(dns_parse(msg, r.b, r.n), PCP_ERR_PROTO);

    /* a label, then a pointer forwards */
    raw_hdr(&r, 0, 2, 0, 0, 0);
    raw_label(&r, "a"); /* 12: a, then pointer to 16 (forward) */
    raw_ptr(&r, 16);
    raw_u8(&r, 0); /* 16 */
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, DNS_CLASS_IN);
    assert_int_equal(dns_parse(msg, r.b, r.n), PCP_ERR_PROTO);
}

/* Names chained through pointers, each to the name before it (questions
 * first, then records): DNS_MAX_JUMPS jumps are followed, one more is
 * refused. */
static int parse_chain(size_t names)
{
    struct raw r;
    size_t prev = DNS_HEADER_LEN;
    size_t nq = names < DNS_MAX_QUESTIONS ? names : DNS_MAX_QUESTIONS;
    raw_hdr(&r, DNS_FLAG_QR, (uint16_t)nq, (uint16_t)(names - nq), 0, 0);
    for (size_t i = 0; i < names; i++) {
        size_t here = r.n;
        if (i == 0)
            raw_u8(&r, 0); /* the root */
        else
            raw_ptr(&r, (uint16_t)prev);
        prev = here;
        raw_u16(&r, DNS_TYPE_A);
        raw_u16(&r, DNS_CLASS_IN);
        /* cppcheck-suppress knownConditionTrueFalse ; false positive */
        if (i >= nq) {
            raw_u32(&r, 1);
            raw_u16(&r, 4);
            raw_bytes(&r, "\x0a\x00\x00\x01", 4);
        }
    }
    return dns_parse(msg, r.b, r.n);
}

static void test_jump_limit(void **state)
{
    (void)state;
    assert_int_equal(parse_chain(DNS_MAX_JUMPS + 1), 0); /* last name: 128 jumps */
    assert_int_equal(msg->nq + msg->nrr, DNS_MAX_JUMPS + 1);
    assert_int_equal(parse_chain(DNS_MAX_JUMPS + 2), PCP_ERR_PROTO);
}

/* One answer record with the given type and raw rdata. */
static int parse_rdata(uint16_t type, const void *rdata, uint16_t rdlen, uint16_t claimed)
{
    struct raw r;
    raw_hdr(&r, DNS_FLAG_QR, 0, 1, 0, 0);
    raw_label(&r, "x"); /* 12 */
    raw_u8(&r, 0);
    raw_u16(&r, type);
    raw_u16(&r, DNS_CLASS_IN);
    raw_u32(&r, 120);
    raw_u16(&r, claimed);
    raw_bytes(&r, rdata, rdlen);
    return dns_parse(msg, r.b, r.n);
}

static void test_bad_rdata(void **state)
{
    (void)state;
    const uint8_t z[32] = {0};
    assert_int_equal(parse_rdata(DNS_TYPE_A, z, 4, 4), 0);
    assert_int_equal(parse_rdata(DNS_TYPE_A, z, 3, 3), PCP_ERR_PROTO);
    assert_int_equal(parse_rdata(DNS_TYPE_A, z, 5, 5), PCP_ERR_PROTO);
    assert_int_equal(parse_rdata(DNS_TYPE_A, z, 4, 5), PCP_ERR_PROTO); /* past the end */
    assert_int_equal(parse_rdata(DNS_TYPE_AAAA, z, 16, 16), 0);
    assert_int_equal(parse_rdata(DNS_TYPE_AAAA, z, 15, 15), PCP_ERR_PROTO);
    assert_int_equal(parse_rdata(DNS_TYPE_AAAA, z, 4, 4), PCP_ERR_PROTO);

    /* SRV: 6 bytes then a name filling the rest exactly */
    const uint8_t srv[] = {0, 0, 0, 0, 0x10, 0x92, 1, 'h', 0xc0, 12};
    assert_int_equal(parse_rdata(DNS_TYPE_SRV, srv, sizeof(srv), sizeof(srv)), 0);
    assert_int_equal(msg->rr[0].u.srv.port, 4242);
    assert_name(&msg->rr[0].u.srv.target, "h.x");
    assert_int_equal(parse_rdata(DNS_TYPE_SRV, srv, 5, 5), PCP_ERR_PROTO);
    assert_int_equal(parse_rdata(DNS_TYPE_SRV, srv, 6, 6), PCP_ERR_PROTO); /* no name */
    const uint8_t srv_extra[] = {0, 0, 0, 0, 0x10, 0x92, 0, 0xaa};
    assert_int_equal(parse_rdata(DNS_TYPE_SRV, srv_extra, 8, 8), PCP_ERR_PROTO);
    /* the name runs past rdlength into what follows */
    const uint8_t srv_long[] = {0, 0, 0, 0, 0x10, 0x92, 3, 'a', 'b', 'c', 0};
    assert_int_equal(parse_rdata(DNS_TYPE_SRV, srv_long, sizeof(srv_long), 9), PCP_ERR_PROTO);

    /* PTR */
    const uint8_t ptr[] = {0xc0, 12};
    assert_int_equal(parse_rdata(DNS_TYPE_PTR, ptr, 2, 2), 0);
    assert_name(&msg->rr[0].u.ptr, "x");
    assert_int_equal(parse_rdata(DNS_TYPE_PTR, ptr, 2, 1), PCP_ERR_PROTO);
    assert_int_equal(parse_rdata(DNS_TYPE_PTR, ptr, 0, 0), PCP_ERR_PROTO);
    const uint8_t ptr_extra[] = {0, 0};
    assert_int_equal(parse_rdata(DNS_TYPE_PTR, ptr_extra, 2, 2), PCP_ERR_PROTO);

    /* TXT: strings must fill rdlength exactly */
    assert_int_equal(parse_rdata(DNS_TYPE_TXT,
                                 "\x03"
                                 "abc"
                                 "\x00",
                                 5, 5),
                     0);
    assert_int_equal(parse_rdata(DNS_TYPE_TXT,
                                 "\x04"
                                 "abc",
                                 4, 4),
                     PCP_ERR_PROTO);
    assert_int_equal(parse_rdata(DNS_TYPE_TXT, "", 0, 0), 0);

    /* unknown types are skipped, bounded */
    assert_int_equal(parse_rdata(99, z, 7, 7), 0);
    assert_int_equal(msg->rr[0].rdlen, 7);
    assert_int_equal(parse_rdata(99, z, 7, 8), PCP_ERR_PROTO);
}

static void test_counts(void **state)
{
    (void)state;
    struct raw r;
    raw_hdr(&r, 0, DNS_MAX_QUESTIONS + 1, 0, 0, 0);
    assert_int_equal(dns_parse(msg, r.b, r.n), PCP_ERR_PROTO);
    raw_hdr(&r, 0, 0, DNS_MAX_RRS, 0, 1);
    assert_int_equal(dns_parse(msg, r.b, r.n), PCP_ERR_PROTO);
    raw_hdr(&r, 0, 0, 0xffff, 0xffff, 0xffff); /* no overflow in the sum */
    assert_int_equal(dns_parse(msg, r.b, r.n), PCP_ERR_PROTO);
    raw_hdr(&r, 0, 1, 0, 0, 0); /* claims a question it lacks */
    assert_int_equal(dns_parse(msg, r.b, r.n), PCP_ERR_PROTO);
    raw_hdr(&r, 0, 0, 0, 0, 0);
    assert_int_equal(dns_parse(msg, r.b, r.n), 0);
    assert_int_equal(msg->nq + msg->nrr, 0);
    /* a TTL with the top bit set reads as 0 (RFC 2181 8) */
    raw_hdr(&r, DNS_FLAG_QR, 0, 1, 0, 0);
    raw_u8(&r, 0);
    raw_u16(&r, DNS_TYPE_A);
    raw_u16(&r, DNS_CLASS_IN | DNS_CLASS_TOPBIT);
    raw_u32(&r, 0x80000001u);
    raw_u16(&r, 4);
    raw_u32(&r, 0x0a000001u);
    assert_int_equal(dns_parse(msg, r.b, r.n), 0);
    assert_int_equal(msg->rr[0].ttl, 0);
    assert_int_equal(msg->rr[0].cache_flush, 1);
}

static void test_names(void **state)
{
    (void)state;
    struct dns_name a = name("PCP-ABC._PCP._tcp.LOCAL"), b = name("pcp-abc._pcp._tcp.local."),
                    c = name("pcp-abd._pcp._tcp.local"), d = name("pcp-abc._pcp._tcp");
    assert_true(dns_name_eq(&a, &b));
    assert_false(dns_name_eq(&a, &c));
    assert_false(dns_name_eq(&a, &d));
    /* only ASCII folds: 0xC4 and 0xE4 differ */
    struct dns_name u1 = name("\xc4.local"), u2 = name("\xe4.local");
    assert_false(dns_name_eq(&u1, &u2));
    /* label lengths are compared, not just the bytes */
    struct dns_name s1 = name("ab.c"), s2 = name("a.bc");
    assert_false(dns_name_eq(&s1, &s2));

    struct dns_name n;
    assert_int_equal(dns_name_from_text(&n, "a..b"), PCP_ERR_INVAL);
    assert_int_equal(dns_name_from_text(&n, ".a"), PCP_ERR_INVAL);
    char l64[70];
    memset(l64, 'x', 64);
    l64[64] = '\0';
    assert_int_equal(dns_name_from_text(&n, l64), PCP_ERR_INVAL);
    l64[63] = '\0';
    assert_int_equal(dns_name_from_text(&n, l64), 0);
    assert_int_equal(dns_name_from_text(&n, "."), 0);
    assert_int_equal(n.len, 1);
    assert_name(&n, ".");

    /* text form escapes what is not a plain printable byte */
    struct dns_name e;
    e.len = 8;
    memcpy(e.b,
           "\x03"
           "a.b"
           "\x02"
           "\x1b\\"
           "\x00",
           8);
    assert_name(&e, "a\\046b.\\027\\092");
    char small[4];
    assert_int_equal(dns_name_to_text(&e, small, sizeof(small)), PCP_ERR_TOO_BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_builder_compresses),
        cmocka_unit_test(test_builder_order),
        cmocka_unit_test(test_txt_strings),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_compression_pointers),
        cmocka_unit_test(test_jump_limit),
        cmocka_unit_test(test_bad_rdata),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
