/*
 * Unit tests for discovery/dht.c's parts that need no network: the
 * mailboxes' keys, which addresses count as public, which IPv6 addresses
 * may be published, and the bootstrap option's syntax.
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

/* Vectors from Python's hashlib, computed apart from the C code:
 * blake2b(b"pcp mbox " + role + b" " + b"/pcp/%d/%d" % (bucket, channel),
 * digest_size=20). */
static void test_key(void **state)
{
    (void)state;
    static const struct {
        char role;
        uint64_t bucket;
        unsigned channel;
        const char *want;
    } v[] = {
        {'s', 1795460400000000000ull, 22, "f99439ca8aca113b06305d74fea6559e74f4b8ea"},
        {'r', 1795460400000000000ull, 22, "35fa02eba9f0a6eb6e905deb8b0faff1d0f3e19b"},
        {'s', 1795460100000000000ull, 22, "8b98a0e622e51ff98fbb333a98439d412440e965"},
        {'s', 1795460400000000000ull, 23, "31125847d6c675f2ccc73a126abc64059ad55c3b"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t k[DHT_KEYBYTES];
        char h[2 * DHT_KEYBYTES + 1];
        dht_mbox_key(k, v[i].role, v[i].bucket, v[i].channel);
        hex(k, sizeof(k), h);
        assert_string_equal(h, v[i].want);
    }
    /* The two mailboxes of one discovery id are two keys. */
    uint8_t s[DHT_KEYBYTES], r[DHT_KEYBYTES];
    dht_mbox_key(s, 's', 1795460400000000000ull, 7);
    dht_mbox_key(r, 'r', 1795460400000000000ull, 7);
    assert_memory_not_equal(s, r, sizeof(s));
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
        cmocka_unit_test(test_v6_publishable),
        cmocka_unit_test(test_bootstrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
