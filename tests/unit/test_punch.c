/*
 * Unit tests for discovery/path/punch.c: the proofs and words said on direct
 * and relayed connections (nonces, replay, flags, an unauthenticated 'G')
 * and the filter for addresses a relay gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sodium.h>

#include "punch.h"

static uint8_t auth[crypto_auth_KEYBYTES], nr[PUNCH_NONCEBYTES], ns[PUNCH_NONCEBYTES];

static int setup(void **state)
{
    (void)state;
    crypto_auth_keygen(auth);
    randombytes_buf(nr, sizeof(nr));
    randombytes_buf(ns, sizeof(ns));
    return 0;
}

/* A proof checks for the role, flags and nonces it was made for, and for
 * nothing else: not on another connection (other nonces, either side's),
 * not for the other role, not with its flags changed, not under another
 * key. */
static void test_proof(void **state)
{
    (void)state;
    uint8_t p[PUNCH_PROOFBYTES], q[PUNCH_PROOFBYTES], other[PUNCH_NONCEBYTES], k2[sizeof(auth)];
    for (uint8_t flags = 0; flags <= 7; flags++) {
        punch_proof_make(auth, 'r', flags, nr, ns, p);
        assert_int_equal(p[0], flags);
        assert_int_equal(punch_proof_check(auth, 'r', nr, ns, p), 1);
        assert_int_equal(punch_proof_check(auth, 's', nr, ns, p), 0);
        punch_proof_make(auth, 's', flags, nr, ns, q);
        assert_int_equal(punch_proof_check(auth, 's', nr, ns, q), 1);
        assert_int_equal(punch_proof_check(auth, 'r', nr, ns, q), 0);
    }
    /* Replay: the same proof on a connection with another nonce. */
    punch_proof_make(auth, 'r', 1, nr, ns, p);
    memcpy(other, ns, sizeof(other));
    other[5] ^= 0x10;
    assert_int_equal(punch_proof_check(auth, 'r', nr, other, p), 0);
    memcpy(other, nr, sizeof(other));
    other[0] ^= 1;
    assert_int_equal(punch_proof_check(auth, 'r', other, ns, p), 0);
    /* The two nonces swapped. */
    assert_int_equal(punch_proof_check(auth, 'r', ns, nr, p), 0);
    /* A flags byte flipped (to claim a mapped port, or no NAT), or out
     * of range. */
    for (int bit = 0; bit < 8; bit++) {
        memcpy(q, p, sizeof(q));
        q[0] ^= (uint8_t)(1u << bit);
        assert_int_equal(punch_proof_check(auth, 'r', nr, ns, q), 0);
    }
    /* The MAC changed; another session's key. */
    memcpy(q, p, sizeof(q));
    q[PUNCH_PROOFBYTES - 1] ^= 0x80;
    assert_int_equal(punch_proof_check(auth, 'r', nr, ns, q), 0);
    crypto_auth_keygen(k2);
    assert_int_equal(punch_proof_check(k2, 'r', nr, ns, p), 0);
}

/* The receiver's 'G' (and 'P'): only with a valid MAC, for the label and
 * connection it was made for. */
static void test_words(void **state)
{
    (void)state;
    uint8_t nonces[2 * PUNCH_NONCEBYTES], other[2 * PUNCH_NONCEBYTES];
    uint8_t w[PUNCH_WORDBYTES], x[PUNCH_WORDBYTES];
    memcpy(nonces, nr, sizeof(nr));
    memcpy(nonces + PUNCH_NONCEBYTES, ns, sizeof(ns));

    punch_word_make(auth, "direct", 'G', nonces, w);
    assert_int_equal(w[0], 'G');
    assert_int_equal(punch_word_check(auth, "direct", nonces, w), 'G');
    /* A bare 'G', as a relay or an on-path attacker could send it. */
    memset(x, 0, sizeof(x));
    x[0] = 'G';
    assert_int_equal(punch_word_check(auth, "direct", nonces, x), 0);
    assert_int_equal(punch_word_check(auth, "relay", NULL, x), 0);
    assert_int_equal(punch_word_check(auth, "choice", NULL, x), 0);
    /* A 'G' made for one connection, replayed on another. */
    memcpy(other, nonces, sizeof(other));
    other[20] ^= 4;
    assert_int_equal(punch_word_check(auth, "direct", other, w), 0);
    /* A word replayed under another label; its byte flipped. */
    punch_word_make(auth, "choice", 'G', NULL, x);
    assert_int_equal(punch_word_check(auth, "choice", NULL, x), 'G');
    assert_int_equal(punch_word_check(auth, "relay", NULL, x), 0);
    punch_word_make(auth, "choice", 'P', NULL, x);
    assert_int_equal(punch_word_check(auth, "choice", NULL, x), 'P');
    x[0] = 'G';
    assert_int_equal(punch_word_check(auth, "choice", NULL, x), 0);
    punch_word_make(auth, "relay", 'G', NULL, x);
    assert_int_equal(punch_word_check(auth, "relay", NULL, x), 'G');
    x[3] ^= 1;
    assert_int_equal(punch_word_check(auth, "relay", NULL, x), 0);
}

static struct sockaddr_storage addr(const char *a, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
    } else {
        assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
    }
    return ss;
}

/* Addresses a relay may give: the classes this host must never be sent
 * to are dropped, in every form; public and private ones are kept (a
 * relay on the LAN sees private ones); loopback only when the relay is on
 * this host's loopback itself. */
static void test_addr_filter(void **state)
{
    (void)state;
    static const char *drop[] = {
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "febf::1",
        "224.0.0.251",
        "239.255.255.250",
        "ff02::fb",
        "ff0e::1",
        "0.0.0.0",
        "0.1.2.3",
        "::",
        "255.255.255.255",
        "240.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:0.0.0.0",
        "::ffff:224.0.0.1",
        "::ffff:169.254.3.4",
        "::127.0.0.1",
        "::169.254.169.254",
    };
    static const char *keep[] = {
        "203.0.113.7",         "8.8.8.8",     "10.1.0.2",        "192.168.1.20", "172.16.5.4",
        "100.64.0.1",          "2001:db8::1", "2a00:1450::200e", "fd12:3456::1", "::ffff:10.0.0.1",
        "::ffff:198.51.100.2",
    };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        struct sockaddr_storage a = addr(drop[i], 4242);
        int lo = !strcmp(drop[i], "::1") || !strncmp(drop[i], "127.", 4) ||
                 !strcmp(drop[i], "::ffff:127.0.0.1");
        if (punch_addr_ok(&a, 0))
            fail_msg("%s was kept", drop[i]);
        /* A relay on loopback gets loopback addresses through, nothing else. */
        if (punch_addr_ok(&a, 1) != lo)
            fail_msg("%s with a relay on loopback: %d", drop[i], !lo);
    }
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        struct sockaddr_storage a = addr(keep[i], 4242);
        if (!punch_addr_ok(&a, 0) || !punch_addr_ok(&a, 1))
            fail_msg("%s was dropped", keep[i]);
        /* Port 0 is no address to dial. */
        a = addr(keep[i], 0);
        if (punch_addr_ok(&a, 0))
            fail_msg("%s port 0 was kept", keep[i]);
    }
    struct sockaddr_storage none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(punch_addr_ok(&none, 1), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proof),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_addr_filter),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
