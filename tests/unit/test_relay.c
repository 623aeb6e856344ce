/*
 * test_relay.c - the relay's parts without a network: the rendezvous
 * handler (records, owners, long-poll decisions, limits), per-address
 * caps, room reservations, and the configuration parser.
 */
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
    r = req(RV_M_PUT, KEY, OTHER, "evil", 2000);
    assert_int_equal(handle(f, &r), 409);
    r = req(RV_M_DELETE, KEY, OTHER, NULL, 2000);
    assert_int_equal(handle(f, &r), 409);
    /* The owner may replace it. */
    r = req(RV_M_PUT, KEY, OWNER, "v=1\nroom=y\n", 2000);
    assert_int_equal(handle(f, &r), 200);
    r = req(RV_M_GET, KEY, NULL, NULL, 2000);
    assert_int_equal(handle(f, &r), 200);
    assert_memory_equal(f->rs.body, "v=1\nroom=y\n", 11);

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
    char big[PUNCH_BLOB_MAX + 2];
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
    assert_int_equal(pump_reserve(p, r1, a, &why), 0);
    assert_int_equal(pump_reserve(p, r1, b, &why), 0);
    assert_int_equal(pump_reserve(p, r1, b, &why), PCP_ERR_RELAY_BUSY); /* a third peer */
    assert_int_equal(pump_reserve(p, r2, a, &why), 0);
    assert_int_equal(pump_rooms(p), 2);
    assert_int_equal(pump_reserve(p, r3, b, &why), PCP_ERR_TOO_BIG); /* max rooms */
    assert_int_equal(why, 1);
    pump_unreserve(p, r2, a);
    assert_int_equal(pump_rooms(p), 1);
    assert_int_equal(pump_reserve(p, r3, a, &why), 0);
    f->cfg.lim.max_rooms = 10;
    pump_set_limits(p, &f->cfg.lim);
    assert_int_equal(pump_reserve(p, r2, a, &why), PCP_ERR_TOO_BIG); /* a has 2 */
    assert_int_equal(why, 2);
    pump_unreserve(p, r1, a);
    pump_unreserve(p, r1, b);
    pump_unreserve(p, r3, a);
    assert_int_equal(pump_rooms(p), 0);
    /* Everything given back: a may take two again. */
    assert_int_equal(pump_reserve(p, r1, a, &why), 0);
    assert_int_equal(pump_reserve(p, r2, a, &why), 0);
    assert_int_equal(pump_reserve(p, r3, a, &why), PCP_ERR_TOO_BIG);
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
                               "conn-memory = 32K\n";
    assert_int_equal(relay_config_parse(&c, text, strlen(text), err, sizeof(err)), 0);
    assert_string_equal(c.listen, "127.0.0.1:7000");
    assert_string_equal(c.token, "abc");
    assert_int_equal(c.lim.max_rooms, 5);
    assert_true(c.lim.room_bytes == 10ull << 30);
    assert_true(c.lim.room_rate == 50ull << 20);
    assert_int_equal(c.lim.conn_memory, 32 << 10);

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
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
