/*
 * test_relay.c - the relay's parts without a network: the rendezvous
 * handler (records, owners, long-poll decisions, limits), per-address
 * caps (IPv6 by prefix), several senders under one key, room
 * reservations, pairing, silent pairs, and the configuration parser.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "relay_priv.h"

static const char KEY[] = "/v1/rv/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char OWNER[] = "00112233445566778899aabbccddeeff";
static const char OTHER[] = "ffeeddccbbaa99887766554433221100";

struct fx {
    struct relay_stats st;
    struct ipcap *cap;
    struct rv_store *s;
    struct relay_config cfg;
    struct rv_resp rs;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->cap = ipcap_new();
    f->s = rv_store_new(f->cap, &f->st);
    relay_config_default(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rv_store_free(f->s);
    ipcap_free(f->cap);
    free(f);
    return 0;
}

static struct rv_req req(enum rv_method m, const char *path, const char *owner, const char *body,
                         uint64_t now)
{
    struct rv_req r = {0};
    r.method = m;
    r.path = path;
    r.owner = owner;
    r.body = (const uint8_t *)body;
    r.body_len = body ? strlen(body) : 0;
    r.ip[15] = 1;
    snprintf(r.observed, sizeof(r.observed), "192.0.2.1:4000");
    r.now_ms = now;
    return r;
}

static int handle(struct fx *f, const struct rv_req *r)
{
    rv_handle(f->s, &f->cfg.lim, r, &f->rs);
    return f->rs.status;
}

static void test_put_get_delete(void **state)
{
    struct fx *f = *state;
    struct rv_req r = req(RV_M_GET, KEY, NULL, NULL, 1000);
    assert_int_equal(handle(f, &r), 404); /* wait=0: answer now */

    r = req(RV_M_PUT, KEY, OWNER, "v=1\nroom=x\n", 1000);
    assert_int_equal(handle(f, &r), 200);
    assert_true(f->rs.stored);
    assert_memory_equal(f->rs.body, "observed 192.0.2.1:4000\n", f->rs.body_len);

    r = req(RV_M_GET, KEY, NULL, NULL, 2000);
    assert_int_equal(handle(f, &r), 200);
    assert_int_equal(f->rs.body_len, 11);
    assert_memory_equal(f->rs.body, "v=1\nroom=x\n", 11);

    /* Someone else may neither replace nor delete it. */
    r = req(RV_M_DELETE, KEY, OTHER, NULL, 2000);
    assert_int_equal(handle(f, &r), 409);
    /* The owner may replace it. */
    r = req(RV_M_PUT, KEY, OWNER, "v=1\nroom=y\n", 2000);
    assert_int_equal(handle(f, &r), 200);
    r = req(RV_M_GET, KEY, NULL, NULL, 2000);
    assert_int_equal(handle(f, &r), 200);
    assert_memory_equal(f->rs.body, "v=1\nroom=y\n", 11);
    assert_int_equal(atomic_load(&f->st.records), 1);

    r = req(RV_M_DELETE, KEY, OWNER, NULL, 3000);
    assert_int_equal(handle(f, &r), 204);
    r = req(RV_M_DELETE, KEY, OWNER, NULL, 3000);
    assert_int_equal(handle(f, &r), 404);
    assert_int_equal(atomic_load(&f->st.records), 0);
}

static void test_expiry(void **state)
{
    struct fx *f = *state;
    struct rv_req r = req(RV_M_PUT, KEY, OWNER, "v=1", 1000);
    assert_int_equal(handle(f, &r), 200);
    uint64_t gone = 1000 + RV_TTL_S * 1000u;
    r = req(RV_M_GET, KEY, NULL, NULL, gone - 1);
    assert_int_equal(handle(f, &r), 200);
    r = req(RV_M_GET, KEY, NULL, NULL, gone);
    assert_int_equal(handle(f, &r), 404); /* expired, even before a sweep */
    assert_int_equal(rv_store_sweep(f->s, gone - 1), 1);
    assert_int_equal(rv_store_sweep(f->s, gone), 0);
    /* The address's share was given back: another owner may take the key. */
    r = req(RV_M_PUT, KEY, OTHER, "v=1", gone);
    assert_int_equal(handle(f, &r), 200);
}

static void test_long_poll(void **state)
{
    struct fx *f = *state;
    struct rv_req r = req(RV_M_GET, KEY, NULL, NULL, 1000);
    r.wait = "5";
    assert_int_equal(handle(f, &r), 0);
    assert_true(f->rs.wait);
    assert_int_equal(f->rs.deadline_ms, 6000);
    assert_string_equal(f->rs.key, KEY + 7);
    /* Resumed before the deadline with nothing: wait again. */
    r.now_ms = 3000;
    r.deadline_ms = 6000;
    assert_int_equal(handle(f, &r), 0);
    assert_true(f->rs.wait);
    /* At the deadline: 404. */
    r.now_ms = 6000;
    assert_int_equal(handle(f, &r), 404);
    assert_false(f->rs.wait);
    /* A record put meanwhile answers at once. */
    struct rv_req p = req(RV_M_PUT, KEY, OWNER, "v=1", 4000);
    assert_int_equal(handle(f, &p), 200);
    r.now_ms = 4000;
    assert_int_equal(handle(f, &r), 200);

    static const char *bad[] = {"31", "-1", "", "1x", "100", " 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rv_req b = req(RV_M_GET, KEY, NULL, NULL, 1000);
        b.wait = bad[i];
        assert_int_equal(handle(f, &b), 400);
    }
}

static const char PUNCH[] = "/v1/punch/00112233445566778899aabbccddeeff";

static struct rv_req punch_req(const char *side, const char *rtt, const char *blob,
                               const char *observed, uint64_t now)
{
    struct rv_req r = req(RV_M_POST, PUNCH, NULL, blob, now);
    r.side = side;
    r.rtt = rtt;
    r.wait = "10";
    snprintf(r.observed, sizeof(r.observed), "%s", observed);
    return r;
}

static void test_punch(void **state)
{
    struct fx *f = *state;
    /* The sender comes first and waits. */
    struct rv_req s = punch_req("s", "10", "\x01\x02", "198.51.100.1:5000", 1000);
    assert_int_equal(handle(f, &s), 0);
    assert_true(f->rs.wait);
    assert_int_equal(f->rs.deadline_ms, 11000);
    assert_string_equal(f->rs.key, "p/00112233445566778899aabbccddeeff");
    /* Woken early with nobody there: wait on. */
    s.deadline_ms = 11000;
    s.now_ms = 2000;
    assert_int_equal(handle(f, &s), 0);
    assert_true(f->rs.wait);
    /* The receiver comes: answered at once, and wakes the sender. Its
     * round trip is longer, so the sender waits half the difference. */
    struct rv_req r = punch_req("r", "50", "\xff", "203.0.113.9:6000", 2500);
    assert_int_equal(handle(f, &r), 200);
    assert_true(f->rs.stored);
    assert_string_equal(f->rs.key, "p/00112233445566778899aabbccddeeff");
    static const char want_r[] = "peer 198.51.100.1:5000\ndelay 0\nblob 0102\n";
    assert_int_equal(f->rs.body_len, strlen(want_r));
    assert_memory_equal(f->rs.body, want_r, strlen(want_r));
    s.now_ms = 2501;
    assert_int_equal(handle(f, &s), 200);
    assert_false(f->rs.stored);
    static const char want_s[] = "peer 203.0.113.9:6000\ndelay 20\nblob ff\n";
    assert_int_equal(f->rs.body_len, strlen(want_s));
    assert_memory_equal(f->rs.body, want_s, strlen(want_s));
    assert_int_equal(atomic_load(&f->st.punch_meetings), 1);
    /* Both answered: the meeting is gone, and its address share with it. */
    r.now_ms = 3000;
    assert_int_equal(handle(f, &r), 0);
    assert_true(f->rs.wait);
    r.deadline_ms = f->rs.deadline_ms;
    r.now_ms = r.deadline_ms;
    assert_int_equal(handle(f, &r), 404);
    f->cfg.lim.per_ip_rooms = 1;
    s = punch_req("s", NULL, NULL, "198.51.100.1:5000", 4000);
    assert_int_equal(handle(f, &s), 0); /* the one share is free again */

    static const struct {
        const char *side, *rtt;
    } bad[] = {{NULL, "1"},    {"x", "1"}, {"sr", "1"}, {"s", "-1"},
               {"s", "60001"}, {"s", ""},  {"s", "1x"}, {"s", " 1"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rv_req b = punch_req(bad[i].side, bad[i].rtt, NULL, "192.0.2.1:1", 1000);
        assert_int_equal(handle(f, &b), 400);
    }
    char big[RV_PUNCH_BLOB_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    struct rv_req b = punch_req("r", "1", big, "192.0.2.1:1", 1000);
    assert_int_equal(handle(f, &b), 413);
    b = punch_req("r", "1", NULL, "192.0.2.1:1", 1000);
    b.method = RV_M_GET;
    assert_int_equal(handle(f, &b), 405);
    b.method = RV_M_POST;
    b.path = "/v1/punch/0011";
    assert_int_equal(handle(f, &b), 404);
    /* A second meeting from the same address is over its cap. */
    b = punch_req("r", "1", NULL, "192.0.2.1:1", 1000);
    b.path = "/v1/punch/ffffffffffffffffffffffffffffffff";
    assert_int_equal(handle(f, &b), 429);
    /* A meeting nobody completes is swept. */
    rv_store_sweep(f->s, 4000 + PUNCH_TTL_S * 1000u);
    assert_int_equal(handle(f, &b), 0);
}

static void test_bad_requests(void **state)
{
    struct fx *f = *state;
    static const char *paths[] = {
        "/v1/rv/",
        "/v1/rv/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "/v1/rv/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
        "/v1/rv/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
        "/v1/rv/../etc/passwd",
        "/v1/rx/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct rv_req r = req(RV_M_GET, paths[i], NULL, NULL, 1000);
        assert_int_equal(handle(f, &r), 404);
    }
    struct rv_req r = req(RV_M_OTHER, KEY, OWNER, "x", 1000);
    assert_int_equal(handle(f, &r), 405);
    r = req(RV_M_PUT, KEY, NULL, "x", 1000);
    assert_int_equal(handle(f, &r), 400); /* no owner */
    r = req(RV_M_PUT, KEY, "0011", "x", 1000);
    assert_int_equal(handle(f, &r), 400);
    r = req(RV_M_PUT, KEY, OWNER, "", 1000);
    assert_int_equal(handle(f, &r), 400); /* empty record */
    r = req(RV_M_PUT, KEY, OWNER, "x", 1000);
    r.body_too_big = 1;
    assert_int_equal(handle(f, &r), 413);
    assert_int_equal(atomic_load(&f->st.records), 0);
}

static void test_limits(void **state)
{
    struct fx *f = *state;
    char path[80];
    f->cfg.lim.per_ip_rooms = 3;
    f->cfg.lim.max_records = 5;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/v1/rv/%064x", i);
        struct rv_req r = req(RV_M_PUT, path, OWNER, "v=1", 1000);
        assert_int_equal(handle(f, &r), i < 3 ? 200 : 429);
    }
    /* Other addresses fill up to the global cap. */
    for (int i = 10; i < 14; i++) {
        snprintf(path, sizeof(path), "/v1/rv/%064x", i);
        struct rv_req r = req(RV_M_PUT, path, OWNER, "v=1", 1000);
        r.ip[0] = (uint8_t)i;
        assert_int_equal(handle(f, &r), i < 12 ? 200 : 503);
    }
    assert_int_equal(atomic_load(&f->st.records), 5);
}

static void test_ipcap(void **state)
{
    (void)state;
    struct ipcap *c = ipcap_new();
    uint8_t a[16] = {1}, b[16] = {2};
    assert_int_equal(ipcap_take(c, a, 2), 0);
    assert_int_equal(ipcap_take(c, a, 2), 0);
    assert_int_equal(ipcap_take(c, a, 2), PCP_ERR_RELAY_BUSY);
    assert_int_equal(ipcap_take(c, b, 2), 0);
    ipcap_give(c, a);
    assert_int_equal(ipcap_take(c, a, 2), 0);
    assert_int_equal(ipcap_take(c, a, 0), 0); /* 0: no cap */
    ipcap_free(c);
}

static void close_nothing(void *h)
{
    (void)h;
}

static void test_reserve(void **state)
{
    struct fx *f = *state;
    struct pump *p = pump_new(&f->st, f->cap, close_nothing);
    f->cfg.lim.max_rooms = 2;
    f->cfg.lim.per_ip_rooms = 2;
    pump_set_limits(p, &f->cfg.lim);
    uint8_t a[16] = {1}, b[16] = {2};
    const char *r1 = "0123456789abcdef0123456789abcdef", *r2 = "1123456789abcdef0123456789abcdef",
               *r3 = "2123456789abcdef0123456789abcdef";
    int why;
    uint64_t s1a, s1b, s2a, s3a, sx;
    assert_int_equal(pump_reserve(p, r1, a, &why, &s1a), 0);
    assert_int_equal(pump_reserve(p, r1, b, &why, &s1b), 0);
    assert_true(s1a == s1b); /* one pairing */
    /* A third while the two are half-way in: busy for a moment. */
    assert_int_equal(pump_reserve(p, r1, b, &why, &sx), PCP_ERR_RELAY_BUSY);
    assert_int_equal(pump_reserve(p, r2, a, &why, &s2a), 0);
    assert_int_equal(pump_rooms(p), 2);
    assert_int_equal(pump_reserve(p, r3, b, &why, &sx), PCP_ERR_TOO_BIG); /* max rooms */
    assert_int_equal(why, 1);
    pump_unreserve(p, r2, s2a, a);
    assert_int_equal(pump_rooms(p), 1);
    assert_int_equal(pump_reserve(p, r3, a, &why, &s3a), 0);
    f->cfg.lim.max_rooms = 10;
    pump_set_limits(p, &f->cfg.lim);
    assert_int_equal(pump_reserve(p, r2, a, &why, &sx), PCP_ERR_TOO_BIG); /* a has 2 */
    assert_int_equal(why, 2);
    pump_unreserve(p, r1, s1a, a);
    pump_unreserve(p, r1, s1a, b);
    pump_unreserve(p, r3, s3a, a);
    pump_unreserve(p, r3, s3a, a); /* twice: nothing more to give */
    assert_int_equal(pump_rooms(p), 0);
    /* Everything given back: a may take two again. */
    assert_int_equal(pump_reserve(p, r1, a, &why, &sx), 0);
    assert_int_equal(pump_reserve(p, r2, a, &why, &sx), 0);
    assert_int_equal(pump_reserve(p, r3, a, &why, &sx), PCP_ERR_TOO_BIG);
    pump_free(p);
}

static void set6(struct sockaddr_in6 *a, const char *text)
{
    memset(a, 0, sizeof(*a));
    a->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
}

/* IPv6 counts by prefix (default /64), IPv4 and IPv4-mapped by address. */
static void test_ip_key(void **state)
{
    (void)state;
    struct sockaddr_in6 a, b;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    uint8_t ka[16], kb[16];
    set6(&a, "2001:db8:1:2:aaaa::1");
    set6(&b, "2001:db8:1:2:ffff:1:2:3");
    ip_key((struct sockaddr *)&a, 64, ka);
    ip_key((struct sockaddr *)&b, 64, kb);
    assert_memory_equal(ka, kb, 16);
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2};
    assert_memory_equal(ka, want, 16);
    ip_key((struct sockaddr *)&a, 128, ka);
    ip_key((struct sockaddr *)&b, 128, kb);
    assert_memory_not_equal(ka, kb, 16);
    set6(&b, "2001:db8:1:3::1"); /* the next /64 */
    ip_key((struct sockaddr *)&a, 64, ka);
    ip_key((struct sockaddr *)&b, 64, kb);
    assert_memory_not_equal(ka, kb, 16);
    ip_key((struct sockaddr *)&a, 48, ka);
    ip_key((struct sockaddr *)&b, 48, kb);
    assert_memory_equal(ka, kb, 16);
    ip_key((struct sockaddr *)&a, 63, ka); /* a prefix within a byte */
    assert_int_equal(ka[7], 2);
    set6(&a, "2001:db8::ff");
    ip_key((struct sockaddr *)&a, 121, ka);
    assert_int_equal(ka[15], 0x80);
    /* IPv4, plain or mapped into IPv6 by a dual-stack socket: one address
     * each, never all of IPv4 in one ::ffff:0:0/64. */
    inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
    ip_key((struct sockaddr *)&v4, 64, ka);
    set6(&a, "::ffff:192.0.2.7");
    ip_key((struct sockaddr *)&a, 64, kb);
    assert_memory_equal(ka, kb, 16);
    set6(&b, "::ffff:192.0.2.8");
    ip_key((struct sockaddr *)&b, 64, kb);
    assert_memory_not_equal(ka, kb, 16);
    ip_key(NULL, 64, ka);
    assert_memory_equal(ka, (uint8_t[16]){0}, 16);
}

/* One /64, from as many of its addresses as it likes, gets the shares of
 * one address: it cannot put a record under every channel of a bucket,
 * and another network still can. */
static void test_prefix_cannot_fill_bucket(void **state)
{
    struct fx *f = *state;
    char path[80], text[64];
    unsigned ok = 0;
    for (unsigned ch = 0; ch < 2048; ch++) {
        struct sockaddr_in6 a;
        snprintf(text, sizeof(text), "2001:db8:bad:1:%x:%x::1", ch >> 8, ch & 0xff);
        set6(&a, text);
        snprintf(path, sizeof(path), "/v1/rv/%064x", ch);
        struct rv_req r = req(RV_M_PUT, path, OWNER, "v=1\n", 1000);
        ip_key((struct sockaddr *)&a, f->cfg.lim.ipv6_prefix, r.ip);
        int st = handle(f, &r);
        assert_true(st == 200 || st == 429);
        ok += st == 200;
    }
    assert_int_equal(ok, f->cfg.lim.per_ip_rooms);
    struct sockaddr_in6 a;
    set6(&a, "2001:db8:600d:1::1");
    snprintf(path, sizeof(path), "/v1/rv/%064x", 2047);
    struct rv_req r = req(RV_M_PUT, path, OTHER, "v=1\n", 1000);
    ip_key((struct sockaddr *)&a, f->cfg.lim.ipv6_prefix, r.ip);
    assert_int_equal(handle(f, &r), 200);
}

static struct rv_req put_from(const char *owner, const char *body, uint8_t ip, uint64_t now)
{
    struct rv_req r = req(RV_M_PUT, KEY, owner, body, now);
    r.ip[0] = ip;
    return r;
}

/* Several senders under one key: each its own record and TTL, the newest
 * first, nobody pushed out; a full key refuses a new owner. */
static void test_key_senders(void **state)
{
    struct fx *f = *state;
    struct rv_req r = put_from(OWNER, "v=1\nroom=a\n", 1, 1000);
    assert_int_equal(handle(f, &r), 200);
    r = put_from(OTHER, "v=1\nroom=b", 2, 2000);
    assert_int_equal(handle(f, &r), 200);
    assert_true(f->rs.stored);
    /* An older client's GET: the newest record alone, as it was. */
    r = req(RV_M_GET, KEY, NULL, NULL, 2000);
    assert_int_equal(handle(f, &r), 200);
    assert_int_equal(f->rs.body_len, 10);
    assert_memory_equal(f->rs.body, "v=1\nroom=b", 10);
    /* ?all=1: both, newest first, each ending in a newline, an empty
     * line between. */
    r.all = "1";
    assert_int_equal(handle(f, &r), 200);
    static const char both[] = "v=1\nroom=b\n\nv=1\nroom=a\n";
    assert_int_equal(f->rs.body_len, strlen(both));
    assert_memory_equal(f->rs.body, both, strlen(both));
    r.all = "2";
    assert_int_equal(handle(f, &r), 400);
    /* A renewal keeps the order and takes no second place. */
    r = put_from(OWNER, "v=1\nroom=c\n", 1, 3000);
    assert_int_equal(handle(f, &r), 200);
    assert_int_equal(atomic_load(&f->st.records), 2);
    /* A record with an empty line could pass for two: refused. */
    static const char *split[] = {"v=1\n\nroom=x\n", "\nv=1\n", "v=1\n\n"};
    for (size_t i = 0; i < 3; i++) {
        r = put_from("0000000000000000000000000000000f", split[i], 9, 3000);
        assert_int_equal(handle(f, &r), 400);
    }
    /* One address may hold two records of a key, not three. */
    r = put_from("00000000000000000000000000000001", "v=1", 2, 3000);
    assert_int_equal(handle(f, &r), 200);
    r = put_from("00000000000000000000000000000002", "v=1", 2, 3000);
    assert_int_equal(handle(f, &r), 429);
    /* Eight senders fill a key; the ninth is refused, nobody pushed out. */
    for (unsigned i = 0; i < RV_RECORDS_MAX - 3; i++) {
        char owner[RV_OWNER_HEX + 1];
        snprintf(owner, sizeof(owner), "%032x", 0x100 + i);
        r = put_from(owner, "v=1", (uint8_t)(10 + i), 4000);
        assert_int_equal(handle(f, &r), 200);
    }
    r = put_from("0000000000000000000000000000ffff", "v=1", 50, 4000);
    assert_int_equal(handle(f, &r), 409);
    assert_int_equal(atomic_load(&f->st.refused_key_full), 1);
    r = req(RV_M_GET, KEY, NULL, NULL, 4000);
    r.all = "1";
    assert_int_equal(handle(f, &r), 200);
    assert_true(f->rs.body_len <= RV_RECORDS_BODY_MAX);
    /* The first sender's record is still there, last (the oldest). */
    assert_memory_equal(f->rs.body + f->rs.body_len - 12, "\nv=1\nroom=c\n", 12);
    /* DELETE takes only the caller's own record. */
    r = req(RV_M_DELETE, KEY, OWNER, NULL, 5000);
    assert_int_equal(handle(f, &r), 204);
    r = req(RV_M_DELETE, KEY, OWNER, NULL, 5000);
    assert_int_equal(handle(f, &r), 409); /* the others' remain */
    assert_int_equal(atomic_load(&f->st.records), RV_RECORDS_MAX - 1);
    r = put_from("0000000000000000000000000000ffff", "v=1", 50, 5000);
    assert_int_equal(handle(f, &r), 200); /* the freed place */
    /* Each record has its own TTL: OTHER's (put at 2000) goes first. */
    r = req(RV_M_GET, KEY, NULL, NULL, 2000 + RV_TTL_S * 1000u);
    r.all = "1";
    assert_int_equal(handle(f, &r), 200);
    assert_null(memmem(f->rs.body, f->rs.body_len, "room=b", 6));
    assert_int_equal(rv_store_sweep(f->s, 2000 + RV_TTL_S * 1000u), RV_RECORDS_MAX - 1);
}

static void close_fd(void *h)
{
    close((int)(intptr_t)h);
}

/* A peer as the pump sees it: fd[0] goes to the pump, fd[1] is the
 * client's end. */
static int enter(struct pump *p, const char *room, const uint8_t ip[16], int fd[2])
{
    int why;
    uint64_t serial;
    int e = pump_reserve(p, room, ip, &why, &serial);
    if (e)
        return e;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    pump_attach(p, room, serial, ip, fd[0], (void *)(intptr_t)fd[0]);
    return 0;
}

/* 1 when the client's end sees the end (or an error) within 5 s. */
static int ended(int fd)
{
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    return recv(fd, &c, 1, 0) <= 0;
}

/* A stranger who joins the sender's waiting connection and stays silent
 * neither keeps the room from the real receiver nor holds the sender:
 * the pair leaves the room at once (a new peer may wait there), and a
 * pair that has carried nothing PUMP_SILENT_MS after the pairing is
 * dissolved once someone else wants the room. A pair that talks stays;
 * a room has at most PUMP_ROOM_PAIRS pairs. */
static void test_silent_pair(void **state)
{
    struct fx *f = *state;
    struct pump *p = pump_new(&f->st, f->cap, close_fd);
    pump_set_limits(p, &f->cfg.lim);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pump_main, p), 0);
    const char *room = "0123456789abcdef0123456789abcdef";
    uint8_t sender[16] = {1}, stranger[16] = {2}, receiver[16] = {3};
    int s1[2], x[2], rcv[2], s2[2];
    assert_int_equal(enter(p, room, sender, s1), 0);  /* the sender waits */
    assert_int_equal(enter(p, room, stranger, x), 0); /* a stranger joins, silent */
    /* Silent, but nobody else wants the room: it stays (to the idle
     * timeout, as any pipe). */
    pump_tick(p, relay_now_ms() + PUMP_SILENT_MS + 100);
    assert_int_equal(pump_rooms(p), 1);
    assert_int_equal(atomic_load(&f->st.closed_silent), 0);
    assert_int_equal(enter(p, room, receiver, rcv), 0); /* the room is free again */
    assert_int_equal(pump_rooms(p), 2);
    assert_int_equal(write(rcv[1], "hello", 5), 5); /* the receiver speaks first */
    pump_tick(p, relay_now_ms() + PUMP_SILENT_MS + 100);
    assert_true(ended(s1[1]));
    assert_true(ended(x[1]));
    assert_int_equal(atomic_load(&f->st.closed_silent), 1);
    assert_int_equal(pump_rooms(p), 1);
    /* The sender enters again and meets the receiver, whose first words
     * waited for it. */
    assert_int_equal(enter(p, room, sender, s2), 0);
    char buf[8] = {0};
    struct timeval tv = {5, 0};
    setsockopt(s2[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(recv(s2[1], buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(write(s2[1], "hi", 2), 2);
    setsockopt(rcv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(recv(rcv[1], buf, sizeof(buf), 0), 2);
    /* Both have spoken: no longer silent, however long it takes. */
    pump_tick(p, relay_now_ms() + PUMP_SILENT_MS + 100);
    assert_int_equal(pump_rooms(p), 1);
    assert_int_equal(atomic_load(&f->st.closed_silent), 1);
    /* Up to PUMP_ROOM_PAIRS pairs in one room, then 409. */
    int more[2 * PUMP_ROOM_PAIRS][2], n = 0;
    for (int i = 1; i < PUMP_ROOM_PAIRS; i++) {
        assert_int_equal(enter(p, room, stranger, more[n++]), 0);
        assert_int_equal(enter(p, room, stranger, more[n++]), 0);
    }
    int why;
    uint64_t serial;
    assert_int_equal(pump_reserve(p, room, stranger, &why, &serial), PCP_ERR_RELAY_BUSY);
    /* ... until the silent ones are dissolved. */
    pump_tick(p, relay_now_ms() + PUMP_SILENT_MS + 100);
    assert_int_equal(atomic_load(&f->st.closed_silent), PUMP_ROOM_PAIRS);
    assert_int_equal(pump_reserve(p, room, stranger, &why, &serial), 0);
    pump_unreserve(p, room, serial, stranger);
    for (int i = 0; i < n; i++)
        close(more[i][1]);
    close(s1[1]);
    close(x[1]);
    close(rcv[1]);
    close(s2[1]);
    pump_stop(p, 0);
    pthread_join(t, NULL);
    pump_free(p);
}

static void test_config(void **state)
{
    (void)state;
    struct relay_config c;
    char err[256];
    relay_config_default(&c);
    assert_string_equal(c.listen, "9474");
    static const char text[] = "# a relay\n"
                               "listen = 127.0.0.1:7000\r\n"
                               "  token=abc  \n"
                               "\n"
                               "max-rooms = 5\n"
                               "room-bytes = 10G\n"
                               "room-rate = 50M\n"
                               "ipv6-prefix = 56\n"
                               "conn-memory = 32K\n";
    assert_int_equal(relay_config_parse(&c, text, strlen(text), err, sizeof(err)), 0);
    assert_string_equal(c.listen, "127.0.0.1:7000");
    assert_string_equal(c.token, "abc");
    assert_int_equal(c.lim.max_rooms, 5);
    assert_true(c.lim.room_bytes == 10ull << 30);
    assert_true(c.lim.room_rate == 50ull << 20);
    assert_int_equal(c.lim.conn_memory, 32 << 10);
    assert_int_equal(c.lim.ipv6_prefix, 56);
    /* Every whole-number setting, the number parsing's edges with them. */
    static const char more[] = "drain = 0\nmax-records = 0007\nmax-conns = 4\n"
                               "per-ip-conns = 0\nper-ip-rooms = 1000000\n"
                               "arrival-timeout = 86400\nidle-timeout = 1\n"
                               "request-timeout = 3600\n"
                               "room-bytes = 18446744073709551615\n"
                               "room-rate = 000000000000000000000001K\n";
    assert_int_equal(relay_config_parse(&c, more, strlen(more), err, sizeof(err)), 0);
    assert_int_equal(c.drain_s, 0);
    assert_int_equal(c.lim.max_records, 7);
    assert_int_equal(c.lim.max_conns, 4);
    assert_int_equal(c.lim.per_ip_conns, 0);
    assert_int_equal(c.lim.per_ip_rooms, 1000000);
    assert_int_equal(c.lim.arrival_s, 86400);
    assert_int_equal(c.lim.idle_s, 1);
    assert_int_equal(c.lim.request_s, 3600);
    assert_true(c.lim.room_bytes == UINT64_MAX);
    assert_true(c.lim.room_rate == 1024);
    assert_int_equal(c.lim.max_rooms, 5); /* untouched */

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"max-rooms = 0\n", "line 1: bad value for max-rooms: '0'"},
        {"\nnope = 1\n", "line 2: unknown setting 'nope'"},
        {"max-rooms\n", "line 1: expected 'key = value'"},
        {"max-rooms = 5x\n", "line 1: bad value for max-rooms: '5x'"},
        {"max-rooms = -5\n", "line 1: bad value for max-rooms: '-5'"},
        {"room-bytes = 99999999999T\n", "line 1: bad value for room-bytes: '99999999999T'"},
        {"token = a b\n", "line 1: bad value for token: 'a b'"},
        {"idle-timeout = 1KK\n", "line 1: bad value for idle-timeout: '1KK'"},
        {"listen = \n", "line 1: bad value for listen: ''"},
        {"ipv6-prefix = 31\n", "line 1: bad value for ipv6-prefix: '31'"},
        {"ipv6-prefix = 129\n", "line 1: bad value for ipv6-prefix: '129'"},
        {"room-bytes = 18446744073709551616\n",
         "line 1: bad value for room-bytes: '18446744073709551616'"},
        {"room-rate = 16777216T\n", "line 1: bad value for room-rate: '16777216T'"},
        {"room-rate = K\n", "line 1: bad value for room-rate: 'K'"},
        {"drain = 86401\n", "line 1: bad value for drain: '86401'"},
        {"request-timeout = 0\n", "line 1: bad value for request-timeout: '0'"},
        {"max-conns = 3\n", "line 1: bad value for max-conns: '3'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        relay_config_default(&c);
        assert_int_equal(relay_config_parse(&c, bad[i].text, strlen(bad[i].text), err, sizeof(err)),
                         PCP_ERR_INVAL);
        assert_string_equal(err, bad[i].err);
    }
    /* The example that packaging/ ships parses. */
    FILE *f = fopen(PCP_SOURCE_DIR "/packaging/relay.conf.example", "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    relay_config_default(&c);
    assert_int_equal(relay_config_parse(&c, buf, n, err, sizeof(err)), 0);
    assert_string_equal(c.listen, "9474");
    assert_int_equal(c.drain_s, 30);
    assert_int_equal(c.lim.ipv6_prefix, 64); /* the default */
    /* A NUL inside is not text. */
    assert_int_equal(relay_config_parse(&c, "listen = 1\0x\n", 13, err, sizeof(err)),
                     PCP_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_punch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test(test_ipcap),
        cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
        cmocka_unit_test(test_ip_key),
        cmocka_unit_test_setup_teardown(test_prefix_cannot_fill_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_senders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_pair, setup, teardown),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
