/*
 * Unit tests for discovery/path/mbox_codec.c: the DHT mailboxes' values
 * (each type made and parsed back, every other size and a wrong magic or
 * type refused), the candidates' text (what it holds, what it refuses)
 * and their sealing.
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

#include "err.h"
#include "mbox.h"
#include "net.h"

/* The body sizes mbox.h allows, written out again here. */
static int size_allowed(int type, size_t blen)
{
    switch (type) {
    case 1: /* R1: pA */
        return blen == 32;
    case 2: /* S1: pB, cB */
        return blen == 64;
    case 3: /* R2: cA, sealed */
        return blen >= 32 + 40 && blen <= 32 + 40 + 512;
    case 4: /* S2: sealed */
        return blen >= 40 && blen <= 40 + 512;
    default:
        return 0;
    }
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

/* Each type at each size it allows: made, then parsed back to the same
 * type, aid and body, the body pointing into the value. */
static void test_msg_roundtrip(void **state)
{
    (void)state;
    static const struct {
        uint8_t type;
        size_t blen;
    } v[] = {
        {MBOX_R1, 32},       {MBOX_S1, 64}, {MBOX_R2, 32 + 40}, {MBOX_R2, 32 + 41},
        {MBOX_R2, 32 + 552}, {MBOX_S2, 40}, {MBOX_S2, 300},     {MBOX_S2, 552},
    };
    uint8_t aid[MBOX_AIDBYTES], body[MBOX_VALUE_MAX], val[MBOX_VALUE_MAX];
    fill(aid, sizeof(aid), 0xa0);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct mbox_msg m;
        fill(body, v[i].blen, (uint8_t)i);
        size_t n = mbox_make(val, sizeof(val), v[i].type, aid, body, v[i].blen);
        assert_int_equal(n, 21 + v[i].blen);
        assert_memory_equal(val, "pcp2", 4);
        assert_int_equal(val[4], v[i].type);
        assert_memory_equal(val + 5, aid, sizeof(aid));
        assert_int_equal(mbox_parse(val, n, &m), 0);
        assert_int_equal(m.type, v[i].type);
        assert_memory_equal(m.aid, aid, sizeof(aid));
        assert_ptr_equal(m.body, val + 21);
        assert_int_equal(m.body_len, v[i].blen);
        assert_memory_equal(m.body, body, v[i].blen);
        /* Exactly the room it needs, and one byte less. */
        assert_int_equal(mbox_make(val, n, v[i].type, aid, body, v[i].blen), n);
        assert_int_equal(mbox_make(val, n - 1, v[i].type, aid, body, v[i].blen), 0);
    }
    assert_int_equal(MBOX_VALUE_MAX, 21 + 32 + 40 + 512);
    assert_true(MBOX_VALUE_MAX <= DHT_VALUE_MAX);
}

/* Every size, for every type byte: taken exactly when mbox.h says, by
 * both mbox_make and mbox_parse. */
static void test_msg_sizes(void **state)
{
    (void)state;
    static uint8_t val[MBOX_VALUE_MAX + 64], out[MBOX_VALUE_MAX + 64];
    uint8_t aid[MBOX_AIDBYTES] = {0};
    struct mbox_msg m;
    for (int type = 0; type <= 255; type++) {
        for (size_t len = 0; len <= sizeof(val); len++) {
            memcpy(val, "pcp2", 4);
            val[4] = (uint8_t)type;
            int want = len >= 21 && size_allowed(type, len - 21);
            assert_int_equal(mbox_parse(val, len, &m), want ? 0 : PCP_ERR_PROTO);
            if (len < 21)
                continue;
            assert_int_equal(mbox_make(out, sizeof(out), (uint8_t)type, aid, val + 21, len - 21),
                             want ? len : 0);
        }
    }
}

/* A value with a wrong magic, or a type beyond the four. */
static void test_msg_bad_header(void **state)
{
    (void)state;
    uint8_t aid[MBOX_AIDBYTES] = {1}, body[64] = {2}, val[MBOX_VALUE_MAX];
    struct mbox_msg m;
    size_t n = mbox_make(val, sizeof(val), MBOX_S1, aid, body, sizeof(body));
    assert_int_equal(n, 21 + 64);
    assert_int_equal(mbox_parse(val, n, &m), 0);
    for (size_t i = 0; i < 4; i++) {
        val[i] ^= 0x20; /* "Pcp2", "pCp2" ... */
        assert_int_equal(mbox_parse(val, n, &m), PCP_ERR_PROTO);
        val[i] ^= 0x20;
    }
    memcpy(val, "pcp1", 4);
    assert_int_equal(mbox_parse(val, n, &m), PCP_ERR_PROTO);
    memcpy(val, "pcp2", 4);
    static const uint8_t types[] = {0, 5, 0x82, 255};
    for (size_t i = 0; i < sizeof(types); i++) {
        val[4] = types[i];
        assert_int_equal(mbox_parse(val, n, &m), PCP_ERR_PROTO);
    }
    assert_int_equal(mbox_parse(NULL, 0, &m), PCP_ERR_PROTO);
}

static struct sockaddr_storage addr(const char *s)
{
    struct sockaddr_storage a;
    assert_int_equal(net_addr_parse(s, strlen(s), &a), 0);
    return a;
}

static void assert_cands_equal(const struct mbox_cands *x, const struct mbox_cands *y)
{
    assert_int_equal(x->n, y->n);
    assert_int_equal(x->nat, y->nat);
    for (size_t i = 0; i < x->n; i++) {
        assert_int_equal(x->kind[i], y->kind[i]);
        assert_true(net_addr_same(&x->addr[i], &y->addr[i], 1));
    }
}

/* The three kinds, IPv4 and IPv6 (in brackets), and n=1: the text as
 * PROTOCOL.md has it, and parsed back to the same candidates. */
static void test_cands_roundtrip(void **state)
{
    (void)state;
    struct mbox_cands c, back;
    memset(&c, 0, sizeof(c));
    static const struct {
        const char *a;
        enum mbox_cand_kind k;
    } v[] = {
        {"203.0.113.7:4000", MBOX_CAND_PUBLIC},   {"[2001:db8::5]:4001", MBOX_CAND_PUBLIC},
        {"198.51.100.2:61000", MBOX_CAND_MAPPED}, {"192.168.1.10:4000", MBOX_CAND_LAN},
        {"[fd00::1:2]:4000", MBOX_CAND_LAN},      {"10.0.0.2:1", MBOX_CAND_LAN},
        {"172.16.5.5:65535", MBOX_CAND_LAN},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        c.addr[c.n] = addr(v[i].a);
        c.kind[c.n++] = v[i].k;
    }
    c.nat = 1;
    static const char want[] = "a=203.0.113.7:4000\na=[2001:db8::5]:4001\nm=198.51.100.2:61000\n"
                               "l=192.168.1.10:4000\nl=[fd00::1:2]:4000\nl=10.0.0.2:1\n"
                               "l=172.16.5.5:65535\nn=1\n";
    char text[MBOX_CANDS_TEXT_MAX];
    size_t n = mbox_cands_text(&c, text, sizeof(text));
    assert_int_equal(n, strlen(want));
    assert_memory_equal(text, want, n);
    assert_int_equal(mbox_cands_parse(text, n, &back), 0);
    assert_cands_equal(&c, &back);
    /* Without a NAT there is no n= line. */
    c.nat = 0;
    n = mbox_cands_text(&c, text, sizeof(text));
    assert_int_equal(n, strlen(want) - 4);
    assert_int_equal(mbox_cands_parse(text, n, &back), 0);
    assert_cands_equal(&c, &back);
    /* No room: 0, not a cut text. */
    assert_int_equal(mbox_cands_text(&c, text, n - 1), 0);
    assert_int_equal(mbox_cands_text(&c, text, n), n);
    /* Unknown keys are skipped, n=0 is no NAT; eight addresses are fine. */
    static const char other[] = "v=2\nn=0\nzz=what ever\nm=8.8.8.8:53\n";
    assert_int_equal(mbox_cands_parse(other, strlen(other), &back), 0);
    assert_int_equal(back.n, 1);
    assert_int_equal(back.nat, 0);
    assert_int_equal(back.kind[0], MBOX_CAND_MAPPED);
    char eight[MBOX_CANDS_TEXT_MAX] = "";
    for (int i = 0; i < MBOX_MAX_CANDS; i++)
        strcat(eight, "a=203.0.113.7:4000\n");
    assert_int_equal(mbox_cands_parse(eight, strlen(eight), &back), 0);
    assert_int_equal(back.n, MBOX_MAX_CANDS);
    assert_int_equal(mbox_cands_text(&back, text, sizeof(text)), strlen(eight));
}

static void test_cands_refused(void **state)
{
    (void)state;
    struct mbox_cands c;
    /* Our precondition: the public test address is on none of our links. */
    struct sockaddr_storage pub = addr("203.0.113.7:4000");
    assert_false(dht_addr_onlink(&pub));
    static const char *bad[] = {
        "",
        "n=1\n",                            /* no address */
        "x=1\n",                            /* no address, an unknown key */
        "a=127.0.0.1:4000\n",               /* loopback */
        "l=127.0.0.1:4000\n",               /* ... even on the LAN */
        "l=[::1]:4000\n",                   /* ... IPv6 */
        "a=0.0.0.0:4000\n",                 /* unspecified */
        "l=0.0.0.0:4000\n",                 /* ... */
        "a=[::]:4000\n",                    /* ... */
        "a=224.0.0.251:5353\n",             /* multicast */
        "l=239.255.255.250:1900\n",         /* ... */
        "a=[ff02::fb]:5353\n",              /* ... */
        "l=169.254.169.254:80\n",           /* link-local, the cloud's metadata */
        "l=[fe80::1]:4000\n",               /* ... IPv6 */
        "a=255.255.255.255:4000\n",         /* broadcast */
        "a=203.0.113.7:0\n",                /* port 0 */
        "l=192.168.1.1:0\n",                /* ... */
        "a=203.0.113.7\n",                  /* no port */
        "a=203.0.113.7:65536\n",            /* port too big */
        "a=host.example:4000\n",            /* a name */
        "a=2001:db8::1:4000\n",             /* IPv6 without brackets */
        "a=192.168.1.1:4000\n",             /* private as public */
        "m=10.1.2.3:4000\n",                /* ... as mapped */
        "a=[fd00::1]:4000\n",               /* ULA as public */
        "a=100.64.0.1:4000\n",              /* CGNAT as public */
        "l=203.0.113.7:4000\n",             /* public as LAN */
        "l=[2001:db8::1]:4000\n",           /* ... IPv6 */
        "a=[::ffff:8.8.8.8]:4000\n",        /* IPv4-mapped */
        "l=[::ffff:192.168.1.1]:4000\n",    /* ... */
        "a=203.0.113.7:4000",               /* no final newline */
        "a=203.0.113.7:4000\nn=1",          /* ... */
        "a=203.0.113.7:4000\r\n",           /* CR */
        "a=203.0.113.7:4000\n\x1b[2J\n",    /* escape */
        "a=203.0.113.7:4000\nx=\t\n",       /* a tab */
        "a=203.0.113.7:4000\nx=\x7f\n",     /* DEL */
        "a=203.0.113.7:4000\nx=\xc3\xa9\n", /* not ASCII */
        "a=203.0.113.7:4000\n\n",           /* empty line */
        "a=203.0.113.7:4000\nnoequals\n",   /* a line without '=' */
        "a=203.0.113.7:4000\n=x\n",         /* empty key */
        "a=203.0.113.7:4000\nn=2\n",        /* n= neither 0 nor 1 */
        "a=203.0.113.7:4000\nn=\n",         /* ... */
        "a=203.0.113.7:4000\nn=11\n",       /* ... */
        "a= 203.0.113.7:4000\n",            /* a space */
        "a=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mbox_cands_parse(bad[i], strlen(bad[i]), &c) != PCP_ERR_PROTO)
            fail_msg("took \"%s\"", bad[i]);
    }
    /* A NUL inside. */
    static const char nul[] = "a=203.0.113.7:4000\n\0\n";
    assert_int_equal(mbox_cands_parse(nul, sizeof(nul) - 1, &c), PCP_ERR_PROTO);
    assert_int_equal(mbox_cands_parse(NULL, 0, &c), PCP_ERR_PROTO);
    /* Nine addresses, of each kind. */
    static const char *line[] = {"a=203.0.113.7:4000\n", "m=203.0.113.7:4000\n",
                                 "l=192.168.1.10:4000\n"};
    for (size_t k = 0; k < 3; k++) {
        char nine[MBOX_CANDS_TEXT_MAX] = "";
        for (int i = 0; i < MBOX_MAX_CANDS + 1; i++)
            strcat(nine, line[k]);
        assert_int_equal(mbox_cands_parse(nine, strlen(nine), &c), PCP_ERR_PROTO);
    }
    /* MBOX_CANDS_TEXT_MAX bytes are fine, one more is not. */
    char big[MBOX_CANDS_TEXT_MAX + 1];
    memset(big, 'y', sizeof(big));
    memcpy(big, "a=203.0.113.7:4000\nx=", 21);
    big[sizeof(big) - 2] = '\n';
    assert_int_equal(mbox_cands_parse(big, sizeof(big) - 1, &c), 0);
    big[sizeof(big) - 2] = 'y';
    big[sizeof(big) - 1] = '\n';
    assert_int_equal(mbox_cands_parse(big, sizeof(big), &c), PCP_ERR_PROTO);
    /* Nothing to write: no address, too many, an unknown kind. */
    memset(&c, 0, sizeof(c));
    char text[MBOX_CANDS_TEXT_MAX];
    assert_int_equal(mbox_cands_text(&c, text, sizeof(text)), 0);
    c.nat = 1; /* "n=1\n" alone has no address either */
    assert_int_equal(mbox_cands_text(&c, text, sizeof(text)), 0);
    c.n = MBOX_MAX_CANDS + 1;
    assert_int_equal(mbox_cands_text(&c, text, sizeof(text)), 0);
    c.n = 1;
    c.addr[0] = pub;
    c.kind[0] = (enum mbox_cand_kind)3;
    assert_int_equal(mbox_cands_text(&c, text, sizeof(text)), 0);
}

static void test_seal(void **state)
{
    (void)state;
    uint8_t key[32], other[32], box[MBOX_SEALED_MAX + 8], box2[MBOX_SEALED_MAX];
    struct mbox_cands c, back;
    crypto_secretbox_keygen(key);
    crypto_secretbox_keygen(other);
    memset(&c, 0, sizeof(c));
    c.addr[0] = addr("203.0.113.7:4000");
    c.kind[0] = MBOX_CAND_PUBLIC;
    c.addr[1] = addr("[fd12:3456::9]:4000");
    c.kind[1] = MBOX_CAND_LAN;
    c.n = 2;
    c.nat = 1;
    char text[MBOX_CANDS_TEXT_MAX];
    size_t tl = mbox_cands_text(&c, text, sizeof(text));
    size_t n = mbox_cands_seal(&c, key, box, sizeof(box));
    assert_int_equal(n, MBOX_SEALED_MIN + tl);
    /* No address in clear. */
    assert_null(memmem(box, n, "203.0.113.7", 11));
    assert_int_equal(mbox_cands_open(box, n, key, &back), 0);
    assert_cands_equal(&c, &back);
    /* A fresh nonce each time. */
    assert_int_equal(mbox_cands_seal(&c, key, box2, sizeof(box2)), n);
    assert_memory_not_equal(box, box2, crypto_secretbox_NONCEBYTES);
    /* Another key; any byte flipped (nonce, MAC, text). */
    assert_int_equal(mbox_cands_open(box, n, other, &back), PCP_ERR_CRYPTO);
    assert_int_equal(back.n, 0);
    for (size_t i = 0; i < n; i++) {
        box[i] ^= 0x01;
        assert_int_equal(mbox_cands_open(box, n, key, &back), PCP_ERR_CRYPTO);
        box[i] ^= 0x01;
    }
    /* Cut short or too long. */
    assert_int_equal(mbox_cands_open(box, n - 1, key, &back), PCP_ERR_CRYPTO);
    assert_int_equal(mbox_cands_open(box, MBOX_SEALED_MIN - 1, key, &back), PCP_ERR_PROTO);
    assert_int_equal(mbox_cands_open(box, 0, key, &back), PCP_ERR_PROTO);
    assert_int_equal(mbox_cands_open(box, MBOX_SEALED_MAX + 1, key, &back), PCP_ERR_PROTO);
    /* No room to seal into. */
    assert_int_equal(mbox_cands_seal(&c, key, box2, n - 1), 0);
    assert_int_equal(mbox_cands_seal(&c, key, box2, n), n);
    /* Sealed right, but nothing the codec takes: refused as PROTO. */
    static const char *inner[] = {"", "a=127.0.0.1:4000\n", "a=203.0.113.7:4000"};
    for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
        size_t l = strlen(inner[i]);
        randombytes_buf(box, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const uint8_t *)inner[i], l, box,
                              key);
        assert_int_equal(mbox_cands_open(box, MBOX_SEALED_MIN + l, key, &back), PCP_ERR_PROTO);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_roundtrip),  cmocka_unit_test(test_msg_sizes),
        cmocka_unit_test(test_msg_bad_header), cmocka_unit_test(test_cands_roundtrip),
        cmocka_unit_test(test_cands_refused),  cmocka_unit_test(test_seal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
