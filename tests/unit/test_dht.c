/*
 * Unit tests for discovery/dht.c's parts that need no network: the key,
 * the record's format and its checks, which addresses count as public, and
 * the bootstrap option's syntax.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dht.h"
#include "err.h"
#include "net.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* Vectors from Python's hashlib: blake2b(b"pcp dht" + id, digest_size=20). */
static void test_key(void **state)
{
    (void)state;
    static const struct {
        uint64_t bucket;
        unsigned channel;
        const char *want;
    } v[] = {
        {1795460400000000000ull, 22, "bfe65f91da31b2d5a3ab7aa9c6531fc4df76b425"},
        {1795460100000000000ull, 22, "59793efc8296cea6f5fc04781671185e5632d875"},
        {1795460400000000000ull, 23, "634cb951c0350fa87228e183e0bff8ed3a3c4b1e"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t k[DHT_KEYBYTES];
        char h[2 * DHT_KEYBYTES + 1];
        dht_key(k, v[i].bucket, v[i].channel);
        hex(k, sizeof(k), h);
        assert_string_equal(h, v[i].want);
    }
}

static struct sockaddr_storage addr(const char *s)
{
    struct sockaddr_storage a;
    assert_int_equal(net_addr_parse(s, strlen(s), &a), 0);
    return a;
}

static void test_public(void **state)
{
    (void)state;
    const char *yes[] = {"203.0.113.7:1", "8.8.8.8:53",      "172.32.0.1:9",
                         "100.128.0.1:9", "[2001:db8::1]:9", "[2a00:1450::1]:443"};
    const char *no[] = {"10.1.2.3:9",     "127.0.0.1:9",       "192.168.1.1:9",     "172.16.0.1:9",
                        "172.31.255.1:9", "100.64.0.1:9",      "169.254.1.1:9",     "0.1.2.3:9",
                        "224.0.0.251:9",  "255.255.255.255:9", "[::1]:9",           "[fe80::1]:9",
                        "[fd00::1]:9",    "[ff02::fb]:9",      "[::ffff:8.8.8.8]:9"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        struct sockaddr_storage a = addr(yes[i]);
        assert_true(dht_addr_public(&a));
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        struct sockaddr_storage a = addr(no[i]);
        assert_false(dht_addr_public(&a));
    }
}

static void test_record_roundtrip(void **state)
{
    (void)state;
    struct sockaddr_storage a[2] = {addr("203.0.113.7:4000"), addr("[2001:db8::5]:4000")};
    char rec[DHT_RECORD_MAX + 1];
    struct dht_record r;
    assert_int_equal(dht_record_make(rec, sizeof(rec), 1795460999, a, 2), 0);
    assert_string_equal(rec, "v=1\nt=1795460999\na=203.0.113.7:4000\na=[2001:db8::5]:4000\n");
    assert_int_equal(dht_record_parse((const uint8_t *)rec, strlen(rec), &r), 0);
    assert_int_equal(r.expires, 1795460999);
    assert_int_equal(r.naddr, 2);
    assert_memory_equal(&r.addr[0], &a[0], sizeof(struct sockaddr_in));
    assert_int_equal(r.addr[1].ss_family, AF_INET6);
    /* Too many addresses, or no room: refused, not cut. */
    struct sockaddr_storage many[DHT_MAX_ADDRS + 1];
    for (size_t i = 0; i <= DHT_MAX_ADDRS; i++)
        many[i] = a[0];
    assert_int_equal(dht_record_make(rec, sizeof(rec), 1, many, DHT_MAX_ADDRS + 1), PCP_ERR_INVAL);
    assert_int_equal(dht_record_make(rec, 20, 1, a, 2), PCP_ERR_INVAL);
}

static void test_record_parse(void **state)
{
    (void)state;
    struct dht_record r;
    static const char *good[] = {
        "v=1\nt=5\na=203.0.113.7:1",                           /* no final newline */
        "t=5\nv=1\nx=what\na=203.0.113.7:1\n",                 /* any order, unknown key */
        "v=1\nt=9999999999999999999\na=[2001:db8::1]:65535\n", /* 19 digits */
    };
    static const char *bad[] = {
        "",
        "v=1\nt=5\n",                       /* no address */
        "v=2\nt=5\na=203.0.113.7:1\n",      /* another version */
        "t=5\na=203.0.113.7:1\n",           /* no version */
        "v=1\na=203.0.113.7:1\n",           /* no expiry */
        "v=1\nv=1\nt=5\na=203.0.113.7:1\n", /* twice */
        "v=1\nt=5\nt=6\na=203.0.113.7:1\n",
        "v=1\nt=\na=203.0.113.7:1\n",
        "v=1\nt=5x\na=203.0.113.7:1\n",
        "v=1\nt=184467440737095516150\na=203.0.113.7:1\n",
        "v=1\nt=5\na=10.0.0.1:1\n", /* private: never dialled */
        "v=1\nt=5\na=127.0.0.1:22\n",
        "v=1\nt=5\na=[fe80::1]:1\n",
        "v=1\nt=5\na=203.0.113.7:0\n",
        "v=1\nt=5\na=203.0.113.7\n",
        "v=1\nt=5\na=host.example:1\n",
        "v=1\nt=5\n\na=203.0.113.7:1\n",   /* empty line */
        "v=1\nt=5\n=x\na=203.0.113.7:1\n", /* empty key */
        "v=1\nt=5\nnoequals\na=203.0.113.7:1\n",
        "v=1\r\nt=5\na=203.0.113.7:1\n",      /* CR */
        "v=1\nt=5\na=203.0.113.7:1\n\x1b[2J", /* escape */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(dht_record_parse((const uint8_t *)good[i], strlen(good[i]), &r), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dht_record_parse((const uint8_t *)bad[i], strlen(bad[i]), &r),
                         PCP_ERR_PROTO);
    /* Nine addresses, a NUL, and one byte over the limit. */
    char nine[DHT_RECORD_MAX + 2] = "v=1\nt=5\n";
    for (int i = 0; i < DHT_MAX_ADDRS + 1; i++)
        strcat(nine, "a=203.0.113.7:1\n");
    assert_int_equal(dht_record_parse((const uint8_t *)nine, strlen(nine), &r), PCP_ERR_PROTO);
    static const uint8_t nul[] = "v=1\nt=5\na=203.0.113.7:1\0\n";
    assert_int_equal(dht_record_parse(nul, sizeof(nul) - 1, &r), PCP_ERR_PROTO);
    char big[DHT_RECORD_MAX + 1];
    memset(big, 'x', sizeof(big));
    memcpy(big, "v=1\nt=5\na=203.0.113.7:1\nx=", 26);
    assert_int_equal(dht_record_parse((const uint8_t *)big, sizeof(big), &r), PCP_ERR_PROTO);
    assert_int_equal(dht_record_parse((const uint8_t *)big, sizeof(big) - 1, &r), 0);
}

static int offer(uint64_t now, uint64_t t, const char *a, struct dht_record *kept, size_t *n,
                 struct dht_stats *st)
{
    char rec[DHT_RECORD_MAX + 1];
    snprintf(rec, sizeof(rec), "v=1\nt=%llu\na=%s\n", (unsigned long long)t, a);
    return dht_record_offer((const uint8_t *)rec, strlen(rec), now, kept, n, DHT_LOOKUP_MAX, st);
}

/* What a lookup keeps of what arrives: a t= further ahead than any honest
 * sender puts is refused (it used to outrank every genuine record), the
 * expired are not taken, and up to DHT_LOOKUP_MAX distinct records stay,
 * the latest first. */
static void test_offer(void **state)
{
    (void)state;
    const uint64_t now = 1795460000;
    struct dht_record kept[DHT_LOOKUP_MAX];
    struct dht_stats st = {0, 0, 0, 0, -1};
    size_t n = 0;
    char want[64];

    assert_int_equal(offer(now, now + 1000000000ull, "203.0.113.66:7", kept, &n, &st),
                     PCP_ERR_PROTO);
    assert_int_equal(offer(now, now + DHT_TTL_S + DHT_SKEW_S + 1, "203.0.113.66:7", kept, &n, &st),
                     PCP_ERR_PROTO);
    assert_int_equal(offer(now, UINT64_C(9999999999999999999), "203.0.113.66:7", kept, &n, &st),
                     PCP_ERR_PROTO);
    assert_int_equal(n, 0);
    assert_int_equal(st.invalid, 3);
    assert_int_equal(offer(now, now, "203.0.113.5:1", kept, &n, &st), PCP_ERR_TIMEOUT);
    assert_int_equal(offer(now, now - 5, "203.0.113.5:1", kept, &n, &st), PCP_ERR_TIMEOUT);
    assert_int_equal(st.expired, 2);
    assert_int_equal(n, 0);
    /* The genuine record (now + TTL) and one at the very edge of the skew. */
    assert_int_equal(offer(now, now + DHT_TTL_S, "203.0.113.2:4000", kept, &n, &st), 0);
    assert_int_equal(offer(now, now + DHT_TTL_S + DHT_SKEW_S, "203.0.113.9:9", kept, &n, &st), 0);
    assert_int_equal(n, 2);
    assert_int_equal(kept[0].expires, now + DHT_TTL_S + DHT_SKEW_S);
    assert_int_equal(kept[1].expires, now + DHT_TTL_S);
    /* The same record again (another node's copy): one record. Its
     * refresh (the same addresses, a later t) replaces it. */
    assert_int_equal(offer(now, now + DHT_TTL_S, "203.0.113.2:4000", kept, &n, &st),
                     PCP_ERR_EXISTS);
    assert_int_equal(offer(now, now + DHT_TTL_S - 100, "203.0.113.2:4000", kept, &n, &st),
                     PCP_ERR_EXISTS);
    assert_int_equal(n, 2);
    assert_int_equal(offer(now, now + DHT_TTL_S + 60, "203.0.113.2:4000", kept, &n, &st), 0);
    assert_int_equal(n, 2);
    assert_int_equal(kept[1].expires, now + DHT_TTL_S + 60);
    /* Up to DHT_LOOKUP_MAX distinct ones, the latest first; then the
     * earliest falls off, and one earlier than all of them is dropped. */
    assert_int_equal(offer(now, now + 10, "203.0.113.10:1", kept, &n, &st), 0);
    assert_int_equal(offer(now, now + 200, "203.0.113.11:1", kept, &n, &st), 0);
    assert_int_equal(n, DHT_LOOKUP_MAX);
    assert_int_equal(offer(now, now + 5, "203.0.113.12:1", kept, &n, &st), PCP_ERR_EXISTS);
    assert_int_equal(offer(now, now + 100, "203.0.113.13:1", kept, &n, &st), 0);
    assert_int_equal(n, DHT_LOOKUP_MAX);
    static const uint64_t order[] = {DHT_TTL_S + DHT_SKEW_S, DHT_TTL_S + 60, 200, 100};
    for (size_t i = 0; i < DHT_LOOKUP_MAX; i++)
        assert_int_equal(kept[i].expires, now + order[i]);
    net_addr_str(&kept[3].addr[0], 1, want, sizeof(want));
    assert_string_equal(want, "203.0.113.13:1");
    /* Malformed is invalid, as before. */
    assert_int_equal(
        dht_record_offer((const uint8_t *)"v=1\n", 4, now, kept, &n, DHT_LOOKUP_MAX, &st),
        PCP_ERR_PROTO);
    assert_int_equal(st.seen, 15);
    assert_int_equal(st.invalid, 4);
    assert_int_equal(st.expired, 2);
}

/* Of an interface's IPv6 addresses only the temporary ones are published
 * when it has any (a stable one may carry the MAC address); tentative,
 * deprecated and failed ones never; an interface without a temporary one
 * publishes its stable one. Lines as /proc/net/if_inet6 gives them. */
static void test_v6_publishable(void **state)
{
    (void)state;
    static const char text[] =
        "20010db8000000010211223344556677 02 40 00 00     eth0\n"  /* stable (EUI-64) */
        "20010db80000000184e2bd1d7c2f0a11 02 40 00 01     eth0\n"  /* temporary */
        "20010db80000000199e2bd1d7c2f0a22 02 40 00 21     eth0\n"  /* temporary, deprecated */
        "20010db8000000020211223344556677 03 40 00 00     wlan0\n" /* stable, no temporary */
        "20010db8000000030000000000000001 04 40 00 40     eth1\n"  /* tentative */
        "fe800000000000000211223344556677 02 40 20 80     eth0\n"
        "not a line at all\n"
        "00000000000000000000000000000001 01 80 10 80       lo\n";
    uint8_t a[16];
    const struct {
        const char *addr;
        int want;
    } cases[] = {
        {"2001:db8:0:1:211:2233:4455:6677", 0}, /* eth0 has a temporary one */
        {"2001:db8:0:1:84e2:bd1d:7c2f:a11", 1}, /* that one */
        {"2001:db8:0:1:99e2:bd1d:7c2f:a22", 0}, /* deprecated */
        {"2001:db8:0:2:211:2233:4455:6677", 1}, /* wlan0: only a stable one */
        {"2001:db8:0:3::1", 0},                 /* tentative */
        {"2001:db8:0:9::9", 1},                 /* not listed: nothing to prefer */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(inet_pton(AF_INET6, cases[i].addr, a), 1);
        assert_int_equal(dht_v6_publishable(text, sizeof(text) - 1, a), cases[i].want);
    }
    /* No text (no /proc, as on macOS): every address. */
    assert_int_equal(inet_pton(AF_INET6, cases[0].addr, a), 1);
    assert_int_equal(dht_v6_publishable("", 0, a), 1);
    /* A line cut short is skipped, not read past its end. */
    assert_int_equal(dht_v6_publishable(text, 40, a), 1);
}

static void test_bootstrap(void **state)
{
    (void)state;
    char host[DHT_HOST_MAX], port[6];
    assert_int_equal(dht_bootstrap_parse("bootstrap.jami.net:4222", host, port), 0);
    assert_string_equal(host, "bootstrap.jami.net");
    assert_string_equal(port, "4222");
    assert_int_equal(dht_bootstrap_parse("[2001:db8::1]:4222", host, port), 0);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(dht_bootstrap_parse("203.0.113.1:1", host, port), 0);
    const char *bad[] = {"",
                         "host",
                         "host:",
                         ":4222",
                         "host:0",
                         "host:65536",
                         "host:42x",
                         "2001:db8::1:4222",
                         "[2001:db8::1]4222",
                         "a b:1",
                         "host:123456",
                         NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dht_bootstrap_parse(bad[i], host, port), PCP_ERR_INVAL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_public),
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_record_parse),
        cmocka_unit_test(test_offer),
        cmocka_unit_test(test_v6_publishable),
        cmocka_unit_test(test_bootstrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
