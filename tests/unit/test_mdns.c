/* Unit tests for the socket-free part of discovery/mdns.c: what the
 * responder answers, and what the querier accepts, packet by packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "dns.h"
#include "err.h"
#include "mdns_priv.h"

#define BUCKET 1700000100000000000ull
#define CHANNEL 1234u

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

static void service(struct mdns_service *s, uint64_t bucket, int with_prev)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(mdns_names_init(&s->inst[0], bucket, CHANNEL), 0);
    s->ninst = 1;
    if (with_prev) {
        assert_int_equal(mdns_names_init(&s->inst[1], bucket - DISCOVERY_BUCKET_NS, CHANNEL), 0);
        s->ninst = 2;
    }
    s->port = 4242;
    strcpy(s->txt, "v=1");
}

static void addrs(struct mdns_addrs *a)
{
    memset(a, 0, sizeof(*a));
    a->n4 = 1;
    memcpy(a->a4[0], (uint8_t[]){192, 168, 1, 20}, 4);
    a->n6 = 2;
    inet_pton(AF_INET6, "fe80::1234", a->a6[0]);
    inet_pton(AF_INET6, "2001:db8::20", a->a6[1]);
}

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof(ss));
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    inet_pton(AF_INET, ip, &s->sin_addr);
    return ss;
}

/* One full exchange: the querier's packet, the responder's legacy
 * unicast answer, fed back to the querier. Returns mdns_answer's result. */
static int exchange(struct mdns_query *q, const struct mdns_service *s, const struct mdns_addrs *a,
                    const struct sockaddr_storage *from)
{
    struct dns_builder qb, ab;
    unsigned mask;
    int qu, r;
    assert_int_equal(mdns_query_build(q, 0x4321, &qb), 0);
    assert_int_equal(dns_parse(msg, qb.w.p, qb.w.len), 0);
    r = mdns_answer(s, a, msg, 1, &ab, &mask, &qu);
    if (r == 1) {
        assert_int_equal(qu, 1);
        assert_int_equal(dns_parse(msg, ab.w.p, ab.w.len), 0);
        assert_int_equal(msg->id, 0x4321); /* legacy: id echoed */
        mdns_query_feed(q, msg, from, 7);
    }
    dns_builder_free(&qb);
    dns_builder_free(&ab);
    return r;
}

static void test_lookup_exchange(void **state)
{
    (void)state;
    struct mdns_service s;
    struct mdns_addrs a;
    struct mdns_query q;
    struct sockaddr_storage from = v4("192.168.1.20", 5353);
    char text[64];

    service(&s, BUCKET, 0);
    addrs(&a);
    assert_int_equal(mdns_query_init(&q, BUCKET, CHANNEL), 0);
    assert_int_equal(q.nwant, 2);
    assert_int_equal(exchange(&q, &s, &a, &from), 1);
    assert_true(mdns_query_complete(&q));
    assert_int_equal(q.rec.port, 4242);
    assert_string_equal(q.rec.txt, "v=1");
    /* source first, deduplicated against the A record; then the AAAAs,
     * the link-local one scoped to the arrival interface */
    assert_int_equal(q.rec.naddr, 3);
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&q.rec.addr[0];
    assert_int_equal(s4->sin_family, AF_INET);
    assert_int_equal(ntohs(s4->sin_port), 4242);
    assert_string_equal(inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text)), "192.168.1.20");
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&q.rec.addr[1];
    assert_int_equal(s6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(s6->sin6_port), 4242);
    assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text)), "fe80::1234");
    assert_int_equal(s6->sin6_scope_id, 7);
    s6 = (const struct sockaddr_in6 *)&q.rec.addr[2];
    assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text)), "2001:db8::20");
    assert_int_equal(s6->sin6_scope_id, 0);
}

/* Buckets: a receiver one bucket ahead of the sender finds it through the
 * previous-bucket name, and so does one behind it through the sender's
 * previous instance; two buckets apart, nothing. */
static void test_buckets(void **state)
{
    (void)state;
    const uint64_t B = DISCOVERY_BUCKET_NS;
    struct mdns_service s;
    struct mdns_addrs a;
    struct mdns_query q;
    struct sockaddr_storage from = v4("192.168.1.20", 5353);
    addrs(&a);

    service(&s, BUCKET, 0);
    assert_int_equal(mdns_query_init(&q, BUCKET + B, CHANNEL), 0);
    assert_int_equal(exchange(&q, &s, &a, &from), 1);
    assert_true(mdns_query_complete(&q));

    service(&s, BUCKET + B, 1); /* rolled over: also answers for BUCKET */
    assert_int_equal(mdns_query_init(&q, BUCKET, CHANNEL), 0);
    assert_int_equal(exchange(&q, &s, &a, &from), 1);
    assert_true(mdns_query_complete(&q));

    service(&s, BUCKET, 1);
    assert_int_equal(mdns_query_init(&q, BUCKET + 2 * B, CHANNEL), 0);
    assert_int_equal(exchange(&q, &s, &a, &from), 0);
    assert_false(q.have_srv);

    /* another channel: nothing */
    service(&s, BUCKET, 1);
    assert_int_equal(mdns_query_init(&q, BUCKET, CHANNEL + 1), 0);
    assert_int_equal(exchange(&q, &s, &a, &from), 0);
}

/* The service PTR question (browsing) gets the current instance's PTR as
 * the answer and SRV, TXT, A, AAAA as additionals, multicast style. */
static void test_browse_answer(void **state)
{
    (void)state;
    struct mdns_service s;
    struct mdns_addrs a;
    struct dns_builder qb, ab;
    unsigned mask;
    int qu;
    service(&s, BUCKET, 1);
    addrs(&a);

    dns_builder_init(&qb, 0, 0);
    dns_add_question(&qb, &s.inst[0].service, DNS_TYPE_PTR, 0);
    assert_int_equal(dns_builder_finish(&qb), 0);
    assert_int_equal(dns_parse(msg, qb.w.p, qb.w.len), 0);
    assert_int_equal(mdns_answer(&s, &a, msg, 0, &ab, &mask, &qu), 1);
    assert_int_equal(mask, 1);
    assert_int_equal(qu, 0);
    assert_int_equal(dns_parse(msg, ab.w.p, ab.w.len), 0);
    assert_int_equal(msg->id, 0);
    assert_int_equal(msg->flags, DNS_FLAG_QR | DNS_FLAG_AA);
    assert_int_equal(msg->nq, 0);
    assert_int_equal(msg->nrr, 6);
    assert_int_equal(msg->rr[0].type, DNS_TYPE_PTR);
    assert_int_equal(msg->rr[0].section, DNS_SEC_AN);
    assert_int_equal(msg->rr[0].cache_flush, 0); /* shared record */
    assert_true(dns_name_eq(&msg->rr[0].u.ptr, &s.inst[0].instance));
    int srv = 0, txt = 0, a4 = 0, a6 = 0;
    for (size_t i = 1; i < msg->nrr; i++) {
        assert_int_equal(msg->rr[i].section, DNS_SEC_AR);
        assert_int_equal(msg->rr[i].cache_flush, 1); /* unique records */
        assert_int_equal(msg->rr[i].ttl, MDNS_TTL);
        srv += msg->rr[i].type == DNS_TYPE_SRV;
        txt += msg->rr[i].type == DNS_TYPE_TXT;
        a4 += msg->rr[i].type == DNS_TYPE_A;
        a6 += msg->rr[i].type == DNS_TYPE_AAAA;
    }
    assert_int_equal(srv, 1);
    assert_int_equal(txt, 1);
    assert_int_equal(a4, 1);
    assert_int_equal(a6, 2);
    dns_builder_free(&qb);
    dns_builder_free(&ab);

    /* A legacy query for the host's A record: question echoed, TTL 10,
     * no cache-flush; a question about someone else is not answered. */
    struct dns_name other;
    assert_int_equal(dns_name_from_text(&other, "printer.local"), 0);
    dns_builder_init(&qb, 77, 0);
    dns_add_question(&qb, &other, DNS_TYPE_A, 1);
    dns_add_question(&qb, &s.inst[1].host, DNS_TYPE_A, 1);
    assert_int_equal(dns_builder_finish(&qb), 0);
    assert_int_equal(dns_parse(msg, qb.w.p, qb.w.len), 0);
    assert_int_equal(mdns_answer(&s, &a, msg, 1, &ab, &mask, &qu), 1);
    assert_int_equal(mask, 2); /* the previous instance's host */
    assert_int_equal(dns_parse(msg, ab.w.p, ab.w.len), 0);
    assert_int_equal(msg->id, 77);
    assert_int_equal(msg->nq, 2);
    assert_int_equal(msg->nrr, 1);
    assert_int_equal(msg->rr[0].type, DNS_TYPE_A);
    assert_int_equal(msg->rr[0].ttl, MDNS_LEGACY_TTL);
    assert_int_equal(msg->rr[0].cache_flush, 0);
    dns_builder_free(&qb);
    dns_builder_free(&ab);

    /* responses are never answered */
    dns_builder_init(&qb, 0, DNS_FLAG_QR);
    dns_add_question(&qb, &s.inst[0].service, DNS_TYPE_PTR, 0);
    assert_int_equal(dns_builder_finish(&qb), 0);
    assert_int_equal(dns_parse(msg, qb.w.p, qb.w.len), 0);
    assert_int_equal(mdns_answer(&s, &a, msg, 0, &ab, &mask, &qu), 0);
    dns_builder_free(&qb);
    dns_builder_free(&ab);
}

static void test_announce_goodbye(void **state)
{
    (void)state;
    struct mdns_service s;
    struct mdns_addrs a;
    struct dns_builder b;
    service(&s, BUCKET, 0);
    addrs(&a);
    assert_int_equal(mdns_announce_build(&s, 0, &a, 0, &b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
    assert_int_equal(msg->nrr, 6);
    for (size_t i = 0; i < msg->nrr; i++)
        assert_int_equal(msg->rr[i].ttl, 0);
    dns_builder_free(&b);
    assert_int_equal(mdns_announce_build(&s, 1, &a, 0, &b), PCP_ERR_INVAL);
    dns_builder_free(&b);
}

/* A response packet written by hand, names in upper case, with the
 * records the querier must take and some it must not. */
static void test_feed_filters(void **state)
{
    (void)state;
    struct mdns_names n;
    struct mdns_query q;
    struct dns_builder b;
    struct dns_name inst, host, other;
    char text[128];
    const uint8_t lo[4] = {127, 0, 0, 1}, mc[4] = {224, 0, 0, 251}, good[4] = {10, 0, 0, 9};

    assert_int_equal(mdns_names_init(&n, BUCKET, CHANNEL), 0);
    assert_int_equal(dns_name_to_text(&n.instance, text, sizeof(text)), 0);
    for (char *p = text; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    assert_int_equal(dns_name_from_text(&inst, text), 0);
    assert_int_equal(dns_name_from_text(&host, "SOMEHOST.local"), 0);
    assert_int_equal(dns_name_from_text(&other, "other.local"), 0);

    assert_int_equal(mdns_query_init(&q, BUCKET, CHANNEL), 0);
    struct sockaddr_storage from = v4("10.0.0.5", 5353);

    /* goodbye (TTL 0) SRV: not an answer */
    dns_builder_init(&b, 0, DNS_FLAG_QR);
    dns_add_srv(&b, DNS_SEC_AN, &inst, 1, 0, 0, 0, 9999, &host);
    assert_int_equal(dns_builder_finish(&b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
    assert_int_equal(mdns_query_feed(&q, msg, &from, 2), 0);
    assert_false(q.have_srv);
    dns_builder_free(&b);

    /* a query (QR clear) carrying records: ignored */
    dns_builder_init(&b, 0, 0);
    dns_add_srv(&b, DNS_SEC_AN, &inst, 1, 120, 0, 0, 9999, &host);
    assert_int_equal(dns_builder_finish(&b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
    assert_int_equal(mdns_query_feed(&q, msg, &from, 2), 0);
    dns_builder_free(&b);

    /* addresses before the SRV in the packet, other names, loopback and
     * multicast addresses from a remote source: only `good` is taken */
    dns_builder_init(&b, 0, DNS_FLAG_QR | DNS_FLAG_AA);
    dns_add_a(&b, DNS_SEC_AN, &host, 1, 120, lo);
    dns_add_a(&b, DNS_SEC_AN, &host, 1, 120, mc);
    dns_add_a(&b, DNS_SEC_AN, &other, 1, 120, (const uint8_t[]){10, 0, 0, 66});
    dns_add_a(&b, DNS_SEC_AN, &host, 1, 120, good);
    dns_add_txt(&b, DNS_SEC_AN, &other, 1, 120, "no");
    dns_add_srv(&b, DNS_SEC_AN, &other, 1, 120, 0, 0, 1111, &host);
    dns_add_srv(&b, DNS_SEC_AN, &inst, 1, 120, 0, 0, 9999, &host);
    dns_add_txt(&b, DNS_SEC_AR, &inst, 1, 120, "v=1 x");
    assert_int_equal(dns_builder_finish(&b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
    assert_int_equal(mdns_query_feed(&q, msg, &from, 2), 1);
    assert_true(mdns_query_complete(&q));
    assert_int_equal(q.rec.port, 9999);
    assert_string_equal(q.rec.txt, "v=1 x");
    assert_int_equal(q.rec.naddr, 2);
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&q.rec.addr[0];
    assert_string_equal(inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text)), "10.0.0.5");
    s4 = (const struct sockaddr_in *)&q.rec.addr[1];
    assert_string_equal(inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text)), "10.0.0.9");
    assert_int_equal(ntohs(s4->sin_port), 9999);

    /* the same packet again teaches nothing, and a later SRV does not
     * replace the first */
    assert_int_equal(mdns_query_feed(&q, msg, &from, 2), 0);
    assert_int_equal(q.rec.naddr, 2);
    dns_builder_free(&b);

    /* from a loopback source, a loopback A record is fine */
    assert_int_equal(mdns_query_init(&q, BUCKET, CHANNEL), 0);
    from = v4("127.0.0.1", 5353);
    dns_builder_init(&b, 0, DNS_FLAG_QR);
    dns_add_srv(&b, DNS_SEC_AN, &inst, 1, 120, 0, 0, 9999, &host);
    dns_add_a(&b, DNS_SEC_AR, &host, 1, 120, lo);
    assert_int_equal(dns_builder_finish(&b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
    assert_int_equal(mdns_query_feed(&q, msg, &from, 1), 1);
    assert_true(q.have_host);
    assert_false(mdns_query_complete(&q)); /* no TXT yet */
    assert_int_equal(q.rec.naddr, 1);      /* source and A are the same */
    dns_builder_free(&b);

    /* once the SRV is known, the next query asks only for what is missing */
    assert_int_equal(mdns_query_build(&q, 1, &b), 0);
    assert_int_equal(dns_parse(msg, b.w.p, b.w.len), 0);
    assert_int_equal(msg->nq, 1);
    assert_int_equal(msg->q[0].type, DNS_TYPE_TXT);
    assert_int_equal(msg->q[0].unicast, 1);
    assert_true(dns_name_eq(&msg->q[0].name, &inst));
    dns_builder_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_exchange), cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_browse_answer),   cmocka_unit_test(test_announce_goodbye),
        cmocka_unit_test(test_feed_filters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
