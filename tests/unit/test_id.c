/* Unit tests for discovery/id.c: the discovery id, the five-minute bucket
 * and the mDNS instance name. Expected names were computed independently
 * with Python: 'pcp-' + hashlib.blake2b(id, digest_size=32).digest()[:8].hex() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "discovery.h"
#include "err.h"

static void test_bucket(void **state)
{
    (void)state;
    const uint64_t B = DISCOVERY_BUCKET_NS;
    assert_true(B == 300000000000ull);
    assert_true(discovery_bucket(0) == 0);
    assert_true(discovery_bucket(B - 1) == 0);
    assert_true(discovery_bucket(B) == B);
    assert_true(discovery_bucket(B + 1) == B);
    assert_true(discovery_bucket(7 * B + B / 2) == 7 * B);
    /* 2023-11-14T22:15:00Z is a bucket boundary; one ns before is not. */
    assert_true(discovery_bucket(1700000100000000000ull) == 1700000100000000000ull);
    assert_true(discovery_bucket(1700000099999999999ull) == 1700000100000000000ull - B);
    uint64_t x = 1736257411123456789ull;
    uint64_t b = discovery_bucket(x);
    assert_true(b % B == 0);
    assert_true(b <= x && x < b + B);
}

static void test_now(void **state)
{
    (void)state;
    uint64_t now = discovery_now_ns();
    uint64_t t = (uint64_t)time(NULL);
    assert_true(now / 1000000000ull >= t - 1 && now / 1000000000ull <= t + 1);
}

static void test_id_format(void **state)
{
    (void)state;
    char id[64];
    assert_int_equal(discovery_id(id, sizeof(id), 0, 5), 0);
    assert_string_equal(id, "/pcp/0/5");
    assert_int_equal(discovery_id(id, sizeof(id), 1700000100000000000ull, 1234), 0);
    assert_string_equal(id, "/pcp/1700000100000000000/1234");
    assert_int_equal(discovery_id(id, sizeof(id), UINT64_MAX, 2047), 0);
    assert_string_equal(id, "/pcp/18446744073709551615/2047");
    /* exactly fits, then one byte short */
    assert_int_equal(discovery_id(id, 9, 0, 5), 0);
    assert_int_equal(discovery_id(id, 8, 0, 5), PCP_ERR_INVAL);
    assert_string_equal(id, "");
    assert_int_equal(discovery_id(NULL, 8, 0, 5), PCP_ERR_INVAL);
}

static void test_instance(void **state)
{
    (void)state;
    char n[MDNS_INSTANCE_LEN];
    assert_int_equal(mdns_instance_name(n, sizeof(n), 0, 5), 0);
    assert_string_equal(n, "pcp-eb7f13d476017ed5");
    assert_int_equal(mdns_instance_name(n, sizeof(n), 1700000100000000000ull, 1234), 0);
    assert_string_equal(n, "pcp-77f8473579c527db");
    assert_int_equal(strlen(n), MDNS_INSTANCE_LEN - 1);
    /* stable, and different for the neighbouring bucket and channel */
    char m[MDNS_INSTANCE_LEN];
    assert_int_equal(mdns_instance_name(m, sizeof(m), 1700000100000000000ull, 1234), 0);
    assert_string_equal(n, m);
    assert_int_equal(
        mdns_instance_name(m, sizeof(m), 1700000100000000000ull - DISCOVERY_BUCKET_NS, 1234), 0);
    assert_string_not_equal(n, m);
    assert_int_equal(mdns_instance_name(m, sizeof(m), 1700000100000000000ull, 1235), 0);
    assert_string_not_equal(n, m);
    assert_int_equal(mdns_instance_name(m, MDNS_INSTANCE_LEN - 1, 0, 5), PCP_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_id_format),
        cmocka_unit_test(test_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
